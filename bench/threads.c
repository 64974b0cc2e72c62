/*
 * threads.c — all cores against one thread, for every operation, dtype and
 * size, sampled in turn in one process (the two sides of each ratio take
 * turns, call by call batch, so a noisy neighbour hits both alike).
 *
 *     cc -O2 bench/threads.c -Iinclude -Lbuild/src -ldropout -o threads
 *     LD_LIBRARY_PATH=build/src ./threads [rounds [log2 min n [log2 max n]]]
 *
 * Prints, per row, the minimum over rounds of the mean time per call on
 * 1 thread and on all threads, and all/1 (above 1.10: threads hurt).
 * Uses the public API only.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dropout.h"

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

enum { OP_FORWARD, OP_BACKWARD_MASK, OP_BACKWARD_REGEN, OP_MASK, OP_COUNT };
static const char *const op_name[OP_COUNT] = {"forward", "backward_mask", "backward_regen",
                                              "mask"};
static const char *const dtype_name[4] = {"f32", "f64", "bf16", "f16"};

static void run(int op, int dtype, size_t n, void *y, const void *x, uint8_t *mask)
{
    const dropout_params params = {.p = 0.5, .seed = 1, .stream = 2, .first = 0,
                                   .mode = DROPOUT_TRAIN};
    const dropout_shape shape = {1, {n}, 0};
    const size_t mask_size = DROPOUT_MASK_BYTES(n);
    int status = DROPOUT_OK;
    switch (op) {
    case OP_FORWARD:
        status = dropout_shaped_forward(&params, DROPOUT_VARIANT_STANDARD, dtype, &shape, y, x,
                                        mask, mask_size);
        break;
    case OP_BACKWARD_MASK:
        status = dropout_shaped_backward_mask(&params, DROPOUT_VARIANT_STANDARD, dtype, &shape,
                                              y, x, mask, mask_size);
        break;
    case OP_BACKWARD_REGEN:
        status = dropout_shaped_backward_regen(&params, DROPOUT_VARIANT_STANDARD, dtype, &shape,
                                               y, x);
        break;
    default: status = dropout_mask(&params, n, mask, mask_size); break;
    }
    if (status != DROPOUT_OK) {
        fprintf(stderr, "threads: %s\n", dropout_status_string(status));
        exit(1);
    }
}

/* Mean ns per call over enough calls to take about 2 ms. */
static double time_calls(int op, int dtype, size_t n, void *y, const void *x, uint8_t *mask,
                         unsigned threads, size_t calls)
{
    dropout_set_threads(threads);
    run(op, dtype, n, y, x, mask); /* warm: the pool, this thread's cache */
    const double start = now_ns();
    for (size_t c = 0; c < calls; c++)
        run(op, dtype, n, y, x, mask);
    return (now_ns() - start) / (double)calls;
}

int main(int argc, char **argv)
{
    const int rounds = argc > 1 ? atoi(argv[1]) : 15;
    dropout_set_threads(0);
    const unsigned all = dropout_threads();
    const int lo = argc > 2 ? atoi(argv[2]) : 12, hi = argc > 3 ? atoi(argv[3]) : 22;
    if (rounds < 1 || lo < 4 || hi > 26 || lo > hi) {
        fprintf(stderr, "usage: threads [rounds [log2 min n [log2 max n]]]\n");
        return 2;
    }
    const size_t max_n = (size_t)1 << hi;
    char *x = calloc(max_n, 8), *y = calloc(max_n, 8);
    uint8_t *mask = calloc(DROPOUT_MASK_BYTES(max_n), 1);
    if (x == NULL || y == NULL || mask == NULL)
        return 1;
    printf("threads: isa %s, %u threads vs 1, p = 0.5, min over %d rounds of the mean ns/call\n",
           dropout_isa(), all, rounds);
    printf("%-15s %-5s %9s %12s %12s %7s\n", "op", "dtype", "n", "1 thread", "all", "all/1");
    int worst_hurt = 0;
    for (size_t n = (size_t)1 << lo; n <= max_n; n *= 2) {
        for (int dtype = 0; dtype < 4; dtype++) {
            for (int op = 0; op < OP_COUNT; op++) {
                const double estimate = time_calls(op, dtype, n, y, x, mask, 1, 3);
                size_t calls = (size_t)(2e6 / (estimate + 1.0)) + 1;
                double one = 1e30, many = 1e30;
                for (int r = 0; r < rounds; r++) {
                    double a = time_calls(op, dtype, n, y, x, mask, 1, calls);
                    double b = time_calls(op, dtype, n, y, x, mask, all, calls);
                    one = a < one ? a : one;
                    many = b < many ? b : many;
                }
                const int hurt = many > 1.10 * one;
                worst_hurt |= hurt;
                printf("%-15s %-5s %9zu %10.0f ns %10.0f ns %7.2f%s\n", op_name[op],
                       dtype_name[dtype], n, one, many, many / one, hurt ? "  <-- hurts" : "");
                fflush(stdout);
            }
        }
    }
    free(x);
    free(y);
    free(mask);
    printf("threads: %s\n", worst_hurt ? "all cores more than 10 % slower somewhere"
                                        : "all cores never more than 10 % slower");
    return 0;
}
