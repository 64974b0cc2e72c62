/*
 * kernel_ab.c — two builds of one x86 kernel file against each other and
 * against the Philox-only loop of `dropout bench` (cli/bench_limits.c), in
 * one process, the three taking turns round by round, so the machine's ups
 * and downs fall on all of them.  A tool for kernel work: it calls the
 * tables below the API (src/kernels/kernels.h), which no user should.
 *
 *     bench/kernel_ab.sh REV_A REV_B [p [n [op [rounds]]]]
 *
 * (the kernel file of two git revisions, "." for the working tree:
 * src/kernels/avx512.c, or avx2.c with ISA=avx2; build/ must
 * hold a built libdropout.a.)  op: 0 f32 forward, 1 mask, 2 f64, 3 bf16,
 * 4 f16 forward.  Prints the Philox loop's minimum and, for A and B, the
 * minimum ns per element and the minimum and median over rounds of the
 * per-round ratio to the Philox loop; for op 0 also the floor, the Philox
 * loop with the least element work of an f32 forward between its rounds
 * (bench_fused_floor: how close any forward could come on this core);
 * "differ" (and exit status 1) if A and
 * B disagree on any output bit.  The two revisions must agree on kernels.h
 * (its structs are shared with this file).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "bench_limits.h"

extern const dropout_kernels kernel_ab_a, kernel_ab_b;

#define MAX_ROUNDS 201

static volatile uint64_t sink;

static void call(const dropout_kernels *k, int op, const mask_stream *ms, size_t n,
                 const kernel_consts *c, const void *x, void *y, uint8_t *mask)
{
    if (op == 1)
        k->mask(ms, 0, n, mask);
    else
        k->forward[op == 0 ? DROPOUT_DTYPE_F32 : op - 1](ms, 0, n, c, x, y, NULL, 0);
}

int main(int argc, char **argv)
{
    const double p = argc > 1 ? atof(argv[1]) : 0.5;
    const size_t n = argc > 2 ? (size_t)atol(argv[2]) : 65536;
    const int op = argc > 3 ? atoi(argv[3]) : 0;
    const int rounds = argc > 4 ? atoi(argv[4]) : 41;
    const int level = argc > 5 ? atoi(argv[5]) : 2;
    if (n == 0 || n > ((size_t)1 << 26) || op < 0 || op > 4 || rounds < 1 ||
        rounds > MAX_ROUNDS || !(p > 0 && p < 1)) {
        fprintf(stderr, "kernel_ab: want 0 < p < 1, 1 <= n <= 2^26, op 0-4, rounds 1-%d\n",
                MAX_ROUNDS);
        return 2;
    }
    const size_t bytes = n * 8 + 64;
    double *x = aligned_alloc(64, bytes), *y = aligned_alloc(64, bytes), *y2 = malloc(bytes);
    uint8_t *mask = aligned_alloc(64, n / 8 + 64);
    if (!x || !y || !y2 || !mask)
        return 1;
    for (size_t i = 0; i < bytes / 8; i++)
        x[i] = (double)(i % 1000) * 0.001 - 0.5; /* finite in every dtype's view */
    memset(y, 0, bytes);
    const mask_stream ms = mask_stream_make(1, 2, p);
    const kernel_consts c = kernels_consts(0, 1.0 / (1.0 - p), 0, 0);
    const bench_philox_args philox = {1, 2, ms.t0, level};
    const dropout_kernels *k[2] = {&kernel_ab_a, &kernel_ab_b};
    const size_t reps = ((size_t)1 << 23) / n + 1;
    /* f32 forward: also the floor of any fused forward (bench_fused_floor) */
    const int floor_too = op == 0 && bench_fused_floor(&philox, n, c.s32, (const float *)x,
                                                       (float *)y) != UINT64_MAX;
    double best[4] = {1e30, 1e30, 1e30, 1e30}, ratio[3][MAX_ROUNDS];
    for (int r = 0; r < rounds; r++) {
        double t = bench_now_ns();
        for (size_t i = 0; i < reps; i++)
            sink += bench_philox(&philox, 0, n);
        const double tp = (bench_now_ns() - t) / (double)(reps * n);
        best[2] = tp < best[2] ? tp : best[2];
        if (floor_too) {
            t = bench_now_ns();
            for (size_t i = 0; i < reps; i++)
                sink += bench_fused_floor(&philox, n, c.s32, (const float *)x, (float *)y);
            const double tf = (bench_now_ns() - t) / (double)(reps * n);
            best[3] = tf < best[3] ? tf : best[3];
            ratio[2][r] = tf / tp;
        }
        for (int v = 0; v < 2; v++) {
            t = bench_now_ns();
            for (size_t i = 0; i < reps; i++)
                call(k[v], op, &ms, n, &c, x, y, mask);
            const double tv = (bench_now_ns() - t) / (double)(reps * n);
            best[v] = tv < best[v] ? tv : best[v];
            ratio[v][r] = tv / tp;
        }
    }
    printf("p=%g n=%zu op=%d philox %.4f ns/elem", p, n, op, best[2]);
    if (floor_too) {
        qsort(ratio[2], (size_t)rounds, sizeof(double), bench_compare_doubles);
        printf(" | floor %.4f (ratio min %.2f, median %.2f)", best[3], ratio[2][0],
               ratio[2][rounds / 2]);
    }
    for (int v = 0; v < 2; v++) {
        qsort(ratio[v], (size_t)rounds, sizeof(double), bench_compare_doubles);
        printf(" | %c %.4f (ratio min %.2f, median %.2f)", "AB"[v], best[v], ratio[v][0],
               ratio[v][rounds / 2]);
    }
    /* the outputs of A and B, bit for bit: the mask, or y */
    static const size_t out_bytes[] = {4, 0, 8, 2, 2};
    const void *out = op == 1 ? (const void *)mask : (const void *)y;
    const size_t size = op == 1 ? (n + 7) / 8 : n * out_bytes[op];
    call(k[0], op, &ms, n, &c, x, y, mask);
    memcpy(y2, out, size);
    call(k[1], op, &ms, n, &c, x, y, mask);
    const int differ = memcmp(y2, out, size) != 0;
    printf("%s\n", differ ? " | differ" : "");
    return differ;
}
