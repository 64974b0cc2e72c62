/*
 * bench_family.c — `dropout bench --family`: the dropout family's speed as
 * ratios against the plain operations in the same run (docs/family.md).
 *
 * For f32 at n elements (best of the repeats), on the library's threads:
 *   - broadcast / elementwise, forward and backward, for channel (N, C, L)
 *     with L broadcast (L = 1024 and 16), drop path and time-locked masks:
 *     target <= 1.2;
 *   - bf16 and f16 forward GB/s against f32 forward GB/s (bytes read +
 *     written): target 1.0;
 * and on one thread, so both sides use the same cores:
 *   - fused y = residual + dropout(x + bias) against the three separate passes
 *     (bias add, dropout_forward_f32, residual add), and its backward against
 *     dropout backward + the bias-gradient reduction: target >= 1.5.
 *
 * Each ratio's two sides are timed in turn (a, b, a, b, ...), so that the
 * machine's drift falls on both.  Only the public header is used.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dropout.h"

#include "bench_family.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int repeats = 5;

typedef void (*bench_fn)(void *ctx);

static double best_time(bench_fn fn, void *ctx)
{
    double best = 1e30;
    fn(ctx); /* warm: pages touched, pool started */
    for (int r = 0; r < repeats; r++) {
        double t0 = now();
        fn(ctx);
        double t = now() - t0;
        if (t < best)
            best = t;
    }
    return best;
}

/* The best times of a and b, measured in turn (a, b, a, b, ...), so that a
 * change in the machine's speed falls on both sides of their ratio. */
static void best_times(bench_fn a, bench_fn b, void *ctx, double *best_a, double *best_b)
{
    *best_a = *best_b = 1e30;
    a(ctx);
    b(ctx);
    for (int r = 0; r < repeats; r++) {
        double t0 = now();
        a(ctx);
        double t1 = now();
        b(ctx);
        double t2 = now();
        if (t1 - t0 < *best_a)
            *best_a = t1 - t0;
        if (t2 - t1 < *best_b)
            *best_b = t2 - t1;
    }
}

typedef struct bench {
    size_t n, d;
    dropout_params params;
    dropout_shape shape;
    float *x, *y, *bias, *res, *t;
    uint16_t *hx, *hy;
    uint8_t *mask;
    int dtype;
} bench;

static void *alloc(size_t bytes)
{
    void *p = malloc(bytes);
    if (p != NULL)
        memset(p, 0, bytes);
    return p;
}

static void run_forward_f32(void *ctx)
{
    bench *b = ctx;
    dropout_forward_f32(&b->params, b->y, b->x, b->n, NULL, 0);
}

static void run_backward_mask_f32(void *ctx)
{
    bench *b = ctx;
    dropout_backward_mask_f32(&b->params, b->y, b->x, b->n, b->mask, dropout_mask_bytes(b->n));
}

static void run_shaped_forward(void *ctx)
{
    bench *b = ctx;
    dropout_shaped_forward(&b->params, DROPOUT_VARIANT_STANDARD, DROPOUT_DTYPE_F32, &b->shape,
                           b->y, b->x, NULL, 0);
}

static void run_shaped_backward_mask(void *ctx)
{
    bench *b = ctx;
    dropout_shaped_backward_mask(&b->params, DROPOUT_VARIANT_STANDARD, DROPOUT_DTYPE_F32,
                                 &b->shape, b->y, b->x, b->mask, dropout_mask_bytes(b->n));
}

static void run_half_forward(void *ctx)
{
    bench *b = ctx;
    if (b->dtype == DROPOUT_DTYPE_BF16)
        dropout_forward_bf16(&b->params, b->hy, b->hx, b->n, NULL, 0);
    else
        dropout_forward_f16(&b->params, b->hy, b->hx, b->n, NULL, 0);
}

static void run_fused(void *ctx)
{
    bench *b = ctx;
    dropout_bias_residual_forward(&b->params, DROPOUT_DTYPE_F32, b->y, b->x, b->bias, b->res,
                                  b->n, b->d, NULL, 0);
}

/* The three passes a framework runs without fusion. */
static void run_unfused(void *ctx)
{
    bench *b = ctx;
    const size_t rows = b->n / b->d, d = b->d;
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < d; j++)
            b->t[r * d + j] = b->x[r * d + j] + b->bias[j];
    dropout_forward_f32(&b->params, b->t, b->t, b->n, NULL, 0);
    for (size_t k = 0; k < b->n; k++)
        b->y[k] = b->res[k] + b->t[k];
}

static void run_fused_backward(void *ctx)
{
    bench *b = ctx;
    dropout_bias_residual_backward_regen(&b->params, DROPOUT_DTYPE_F32, b->t, b->bias, NULL,
                                         b->x, b->n, b->d);
}

/* Unfused backward: dropout backward, then the bias-gradient reduction.
 * dresidual is dy itself on both sides (a framework aliases it, and the fused
 * call takes dresidual == NULL), so neither side copies it. */
static void run_unfused_backward(void *ctx)
{
    bench *b = ctx;
    const size_t rows = b->n / b->d, d = b->d;
    dropout_backward_regen_f32(&b->params, b->t, b->x, b->n);
    double *sum = calloc(d, sizeof *sum);
    if (sum == NULL)
        return;
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < d; j++)
            sum[j] += b->t[r * d + j];
    for (size_t j = 0; j < d; j++)
        b->bias[j] = (float)sum[j];
    free(sum);
}

int cli_bench_family(size_t n, unsigned repeat_count, unsigned thread_count)
{
    repeats = (int)repeat_count;
    if (thread_count > 0)
        dropout_set_threads(thread_count);
    bench b;
    memset(&b, 0, sizeof b);
    b.n = n;
    b.d = 1024;
    b.params.p = 0.1;
    b.params.seed = 1;
    b.x = alloc(b.n * 4), b.y = alloc(b.n * 4), b.t = alloc(b.n * 4), b.res = alloc(b.n * 4);
    b.bias = alloc(b.d * 4);
    b.hx = alloc(b.n * 2), b.hy = alloc(b.n * 2);
    b.mask = alloc(dropout_mask_bytes(b.n));
    if (!b.x || !b.y || !b.t || !b.res || !b.bias || !b.hx || !b.hy || !b.mask) {
        free(b.x), free(b.y), free(b.t), free(b.res), free(b.bias), free(b.hx), free(b.hy);
        free(b.mask);
        fprintf(stderr, "dropout bench: out of memory for n = %zu\n", n);
        return 1;
    }
    for (size_t k = 0; k < b.n; k++) {
        b.x[k] = (float)(k % 1000) * 0.01f;
        b.res[k] = 1.0f;
        b.hx[k] = dropout_bf16_from_f32(b.x[k]);
    }
    for (size_t k = 0; k < b.d; k++)
        b.bias[k] = 0.5f;
    dropout_mask(&b.params, b.n, b.mask, dropout_mask_bytes(b.n));
    printf("dropout bench --family: n = %zu f32 elements, p = %.2f, isa %s, %u thread(s), "
           "best of %d\n", n, b.params.p, dropout_isa(), dropout_threads(), repeats);

    double elementwise = best_time(run_forward_f32, &b);
    printf("  f32 forward elementwise: %.3f ms, %.2f GB/s\n", elementwise * 1e3,
           8.0 * (double)b.n / elementwise / 1e9);

    const struct {
        const char *name;
        dropout_shape shape;
    } layouts[] = {
        {"channel (N, C, L=1024), L broadcast", {3, {n / (256 * 1024), 256, 1024}, 4u}},
        {"channel (N, C, L=16),   L broadcast", {3, {n / (256 * 16), 256, 16}, 4u}},
        {"drop path (N=256, rest)", {2, {256, n / 256}, 2u}},
        {"time-locked (T=64, N*H), T broadcast", {2, {64, n / 64}, 1u}},
    };
    for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++) {
        b.shape = layouts[i].shape;
        double fwd, back, elementwise_now, elementwise_back_now;
        best_times(run_shaped_forward, run_forward_f32, &b, &fwd, &elementwise_now);
        best_times(run_shaped_backward_mask, run_backward_mask_f32, &b, &back,
                   &elementwise_back_now);
        printf("  broadcast/elementwise %-38s forward %.2f, backward (mask) %.2f\n",
               layouts[i].name, fwd / elementwise_now, back / elementwise_back_now);
    }

    double bf16, f16, f32_with_bf16, f32_with_f16;
    b.dtype = DROPOUT_DTYPE_BF16;
    best_times(run_half_forward, run_forward_f32, &b, &bf16, &f32_with_bf16);
    b.dtype = DROPOUT_DTYPE_F16;
    best_times(run_half_forward, run_forward_f32, &b, &f16, &f32_with_f16);
    double gbs_bf16 = 4.0 * (double)n / bf16 / 1e9, gbs_f16 = 4.0 * (double)n / f16 / 1e9;
    double gbs32_bf16 = 8.0 * (double)n / f32_with_bf16 / 1e9;
    double gbs32_f16 = 8.0 * (double)n / f32_with_f16 / 1e9;
    printf("  bf16 forward %.2f GB/s, f16 %.2f GB/s, f32 %.2f GB/s: bf16/f32 GB/s %.2f, f16/f32 %.2f\n",
           gbs_bf16, gbs_f16, gbs32_bf16, gbs_bf16 / gbs32_bf16, gbs_f16 / gbs32_f16);

    unsigned threads = dropout_threads();
    dropout_set_threads(1);
    double fused, unfused, fused_back, unfused_back;
    best_times(run_fused, run_unfused, &b, &fused, &unfused);
    best_times(run_fused_backward, run_unfused_backward, &b, &fused_back, &unfused_back);
    printf("  fused residual + dropout(x + bias), d = %zu, 1 thread: forward %.3f ms vs "
           "unfused %.3f ms: speedup %.2f; backward %.3f vs %.3f ms: speedup %.2f\n",
           b.d, fused * 1e3, unfused * 1e3, unfused / fused, fused_back * 1e3,
           unfused_back * 1e3, unfused_back / fused_back);
    dropout_set_threads(threads);
    if (threads > 1) {
        double fused_all = best_time(run_fused, &b);
        double fused_back_all = best_time(run_fused_backward, &b);
        printf("  fused forward on %u threads: %.3f ms (%.2f GB/s); backward %.3f ms\n", threads,
               fused_all * 1e3, 12.0 * (double)n / fused_all / 1e9, fused_back_all * 1e3);
    }
    free(b.x), free(b.y), free(b.t), free(b.res), free(b.bias), free(b.hx), free(b.hy);
    free(b.mask);
    return 0;
}
