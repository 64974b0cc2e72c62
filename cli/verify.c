/*
 * verify.c — `dropout verify`: checks each claim of dropout numerically
 * through the public API, with fixed seeds, and prints one table row per
 * (claim, p): expected, observed, bound, PASS/FAIL.  Exit status 1 if any
 * row fails.
 *
 * The checks are rows of `checks` below: a claim, whether it runs for every
 * p of `verify_ps` or once, and a function that fills a verify_row.  Adding a
 * claim is one function and one row.
 *
 * Statistics.  Every random quantity below is a sum of independent bounded
 * terms (one per element or per stream), so the bounds come from Bernstein's
 * inequality rather than from a normal approximation:
 *
 *     P(|sum - E[sum]| >= t) <= 2 exp(-t^2 / (2 (V + M t / 3)))
 *
 * with V the exact variance of the sum and M a bound on |term - E[term]|.
 * We solve for the t at which the right side equals DELTA = 5.73e-7, the
 * two-sided tail of a normal distribution at 5 standard deviations:
 *
 *     t = L M / 3 + sqrt((L M / 3)^2 + 2 L V),   L = ln(2 / DELTA) = 15.06
 *
 * So t >= sqrt(2 L V) = 5.49 sigma always, and the bound stays valid for rare
 * events (p = 1e-6 drops ~17 of 2^24 elements; p = 0.999 keeps ~33 of 32768
 * streams), where a "5 sigma" normal bound would fail by chance far more
 * often than 5.7e-7.  Per-element checks divide DELTA by the number of
 * elements (Bonferroni), so the whole row, not each element, is a
 * 5-sigma-equivalent test.  The exact variances use the exact keep
 * probability q = T / 2^32 and the exact scale s of the library.  The
 * deterministic difference between the exact expectation (x s q) and the
 * claim (x) — the rounding of s and the 2^-33 quantization of T — is added to
 * each bound and is many orders of magnitude below it.
 *
 * The variance check compares a sample variance, which is not a sum of
 * independent terms; its bound is 6 standard deviations of the sample
 * variance (exact formula, in check_variance), one more than 5 because at
 * p = 1e-6 the statistic is essentially a Poisson count of ~17 drops whose
 * upper tail is heavier than the normal one (P(exceed 6 sd) ~ 1.5e-7).
 *
 * Sizes (full / --quick): keep rate and E[sum y]: 2^24 / 2^18 elements per p,
 * in calls of 2^20 elements; E[y_i] and Var(y_i): 512 elements x 32768
 * streams / 64 x 4096; bitwise checks: 2^20 / 2^14 elements per p and dtype.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dropout.h"

#include "args.h"
#include "commands.h"
#include "verify.h"
#include "verify_family.h"

#define VERIFY_SEED 0x5eed0fd20e0e7ull /* the fixed seed of every check */
#define CALL_ELEMENTS ((size_t)1 << 20) /* elements per library call */

static const double verify_ps[] = {1e-6, 0.1, 0.2, 0.5, 0.8, 0.9, 0.999};
#define VERIFY_P_COUNT (sizeof verify_ps / sizeof verify_ps[0])

/* ---- context: sizes and scratch buffers --------------------------------- */

typedef struct verify_ctx {
    size_t rate_n;          /* keep rate, E[sum y]: elements per p           */
    size_t element_count;   /* E[y_i], Var(y_i): elements ...                */
    size_t element_streams; /* ... times streams                             */
    size_t exact_n;         /* bitwise checks: elements per p and dtype      */
    double delta;           /* tail probability of every row (5 sigma)       */
    /* Scratch, CALL_ELEMENTS long (masks: bytes of that many elements). */
    double *x64, *y64, *z64;
    float *x32, *y32, *z32;
    uint8_t *mask, *mask2;
    /* Per-element statistics, computed once per p (element_stats). */
    double stats_p;
    double *element_x, *sum_d, *sum_d2;
} verify_ctx;


typedef struct verify_check {
    const char *claim;
    int per_p;    /* 1: once for each p of verify_ps; 0: once, with `p` */
    double p;
    void (*run)(verify_ctx *ctx, double p, verify_row *row);
} verify_check;

/* ---- helpers -------------------------------------------------------------- */

/* splitmix64: the inputs of the checks (not the masks, which are the
 * library's); fixed seeds, so every run sees the same numbers. */
static uint64_t next_u64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double next_unit(uint64_t *state) /* uniform in [0, 1) */
{
    return (double)(next_u64(state) >> 11) * 0x1.0p-53;
}

/* Random bit patterns (every NaN payload, Inf, -0, subnormals) with the
 * special values at fixed places so that small sizes see them too. */
static void fill_bits_f32(float *x, size_t n, uint64_t seed)
{
    static const uint32_t special[] = {0x7FC00000u, 0xFFC00000u, 0x7F800001u, 0x7F800000u,
                                       0xFF800000u, 0x80000000u, 0x00000000u, 0x00000001u,
                                       0x7F7FFFFFu, 0x3F800000u};
    uint64_t state = seed;
    for (size_t k = 0; k < n; k++) {
        uint32_t bits = k < sizeof special / sizeof special[0] ? special[k]
                                                                : (uint32_t)next_u64(&state);
        memcpy(&x[k], &bits, sizeof bits);
    }
}

static void fill_bits_f64(double *x, size_t n, uint64_t seed)
{
    static const uint64_t special[] = {0x7FF8000000000000ull, 0xFFF8000000000000ull,
                                       0x7FF0000000000001ull, 0x7FF0000000000000ull,
                                       0xFFF0000000000000ull, 0x8000000000000000ull,
                                       0x0000000000000000ull, 0x0000000000000001ull,
                                       0x7FEFFFFFFFFFFFFFull, 0x3FF0000000000000ull};
    uint64_t state = seed;
    for (size_t k = 0; k < n; k++) {
        uint64_t bits = k < sizeof special / sizeof special[0] ? special[k] : next_u64(&state);
        memcpy(&x[k], &bits, sizeof bits);
    }
}

static int keep_bit(const uint8_t *mask, size_t k)
{
    return (mask[k / 8] >> (k % 8)) & 1;
}

/* Keep probability q = T / 2^32 and the f64 scale s of the library. */
static double keep_probability(double p)
{
    return (double)dropout_keep_threshold(p) / 4294967296.0;
}

static double scale_of(double p)
{
    return 1.0 / (1.0 - p);
}

/* Bernstein deviation of a sum with variance `variance` and terms within
 * `range` of their mean, at tail probability delta (see the top comment). */
static double bernstein_bound(double variance, double range, double delta)
{
    double L = log(2.0 / delta);
    double a = L * range / 3.0;
    return a + sqrt(a * a + 2.0 * L * variance);
}

static dropout_params params_of(double p, uint64_t stream, uint64_t first)
{
    dropout_params params = {0};
    params.p = p;
    params.seed = VERIFY_SEED;
    params.stream = stream;
    params.first = first;
    params.mode = DROPOUT_TRAIN;
    return params;
}

void verify_exact_row(verify_row *row, size_t differ, size_t total, int status)
{
    snprintf(row->expected, sizeof row->expected, "0 differ");
    if (status != DROPOUT_OK)
        snprintf(row->observed, sizeof row->observed, "error %d", status);
    else
        snprintf(row->observed, sizeof row->observed, "%zu of %zu differ", differ, total);
    snprintf(row->bound, sizeof row->bound, "exact");
    row->pass = status == DROPOUT_OK && differ == 0;
}

static int same_bits_f32(float a, float b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static int same_bits_f64(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* ---- statistical checks --------------------------------------------------- */

static void check_threshold(verify_ctx *ctx, double p, verify_row *row)
{
    (void)ctx;
    double q = keep_probability(p);
    double error = fabs(q - (1.0 - p));
    snprintf(row->expected, sizeof row->expected, "%.12f", 1.0 - p);
    snprintf(row->observed, sizeof row->observed, "%.12f", q);
    snprintf(row->bound, sizeof row->bound, "+-2^-33 (err %.2g)", error);
    row->pass = error <= 0x1.0p-33;
}

/* Fraction of kept elements among rate_n, stream 1, mask index from 2^32 - 2^19
 * so that the 2^32 block boundary is crossed. */
static void check_keep_rate(verify_ctx *ctx, double p, verify_row *row)
{
    const uint64_t first = ((uint64_t)1 << 32) - ((uint64_t)1 << 19);
    uint64_t kept = 0;
    int status = DROPOUT_OK;
    for (size_t done = 0; done < ctx->rate_n && status == DROPOUT_OK; done += CALL_ELEMENTS) {
        size_t n = ctx->rate_n - done < CALL_ELEMENTS ? ctx->rate_n - done : CALL_ELEMENTS;
        dropout_params params = params_of(p, 1, first + done);
        status = dropout_mask(&params, n, ctx->mask, dropout_mask_bytes(n));
        for (size_t b = 0; b < dropout_mask_bytes(n); b++)
            for (uint8_t byte = ctx->mask[b]; byte; byte &= (uint8_t)(byte - 1))
                kept++;
    }
    double n = (double)ctx->rate_n;
    double q = keep_probability(p);
    double rate = (double)kept / n;
    /* kept ~ Binomial(n, q): variance n q (1 - q), terms within 1 of their mean. */
    double sd = sqrt(n * q * (1.0 - q));
    double bound = bernstein_bound(sd * sd, 1.0, ctx->delta);
    snprintf(row->expected, sizeof row->expected, "%.9f", q);
    snprintf(row->observed, sizeof row->observed, "%.9f", rate);
    snprintf(row->bound, sizeof row->bound, "+-%.2g (%.1f sd)", bound / n, bound / sd);
    row->pass = status == DROPOUT_OK && fabs((double)kept - n * q) <= bound;
}

/* E[sum y] = sum x over rate_n elements of x in [0.5, 1.5), stream 2. */
static void check_sum(verify_ctx *ctx, double p, verify_row *row)
{
    const double q = keep_probability(p), s = scale_of(p);
    uint64_t state = 0x5a5a5a5a;
    double sum_x = 0.0, sum_y = 0.0, sum_x2 = 0.0, max_x = 0.0;
    int status = DROPOUT_OK;
    for (size_t done = 0; done < ctx->rate_n && status == DROPOUT_OK; done += CALL_ELEMENTS) {
        size_t n = ctx->rate_n - done < CALL_ELEMENTS ? ctx->rate_n - done : CALL_ELEMENTS;
        for (size_t k = 0; k < n; k++)
            ctx->x64[k] = 0.5 + next_unit(&state);
        dropout_params params = params_of(p, 2, done);
        status = dropout_forward_f64(&params, ctx->y64, ctx->x64, n, NULL, 0);
        double chunk_x = 0.0, chunk_y = 0.0; /* per-chunk sums keep rounding small */
        for (size_t k = 0; k < n; k++) {
            chunk_x += ctx->x64[k];
            chunk_y += ctx->y64[k];
            sum_x2 += ctx->x64[k] * ctx->x64[k];
            max_x = fmax(max_x, ctx->x64[k]);
        }
        sum_x += chunk_x;
        sum_y += chunk_y;
    }
    /* y_i = x_i s with probability q, else 0: Var = x_i^2 s^2 q (1 - q),
     * |y_i - E y_i| <= x_i s.  E[sum y] = s q sum x. */
    double variance = sum_x2 * s * s * q * (1.0 - q);
    double bias = fabs(sum_x * (s * q - 1.0));
    double bound = bernstein_bound(variance, max_x * s, ctx->delta) + bias;
    snprintf(row->expected, sizeof row->expected, "%.6f", sum_x);
    snprintf(row->observed, sizeof row->observed, "%.6f", sum_y);
    snprintf(row->bound, sizeof row->bound, "+-%.3g (%.1f sd)", bound, bound / sqrt(variance));
    row->pass = status == DROPOUT_OK && fabs(sum_y - sum_x) <= bound;
}

/* element_count elements with x of random sign and magnitude 2^-20 ... 2^20,
 * each through element_streams streams (stream k, mask index 2^40 + i):
 * sum over streams of d = y - x and of d^2, per element. */
static int element_stats(verify_ctx *ctx, double p)
{
    if (ctx->stats_p == p)
        return DROPOUT_OK;
    const size_t m = ctx->element_count;
    uint64_t state = 0xe1e7e47;
    for (size_t i = 0; i < m; i++) {
        double magnitude = ldexp(1.0 + next_unit(&state), (int)(next_u64(&state) % 41) - 20);
        ctx->element_x[i] = next_u64(&state) & 1 ? -magnitude : magnitude;
        ctx->sum_d[i] = ctx->sum_d2[i] = 0.0;
    }
    for (size_t stream = 0; stream < ctx->element_streams; stream++) {
        dropout_params params = params_of(p, stream, (uint64_t)1 << 40);
        int status = dropout_forward_f64(&params, ctx->y64, ctx->element_x, m, NULL, 0);
        if (status != DROPOUT_OK)
            return status;
        for (size_t i = 0; i < m; i++) {
            double d = ctx->y64[i] - ctx->element_x[i];
            ctx->sum_d[i] += d;
            ctx->sum_d2[i] += d * d;
        }
    }
    ctx->stats_p = p;
    return DROPOUT_OK;
}

static void check_element_mean(verify_ctx *ctx, double p, verify_row *row)
{
    int status = element_stats(ctx, p);
    const double q = keep_probability(p), s = scale_of(p);
    const double streams = (double)ctx->element_streams;
    const size_t m = ctx->element_count;
    /* For element i, the mean over S streams of y_i = x_i s B (B ~ Bernoulli(q)):
     * sd_i = |x_i| s sqrt(q (1 - q) / S), terms within |x_i| s of their mean,
     * Bonferroni over the m elements.  In units of sd_i the bound is the same
     * for every element, so the row shows the largest |mean_i - x_i| / sd_i. */
    double unit_sd = s * sqrt(q * (1.0 - q) * streams);          /* of the sum, |x| = 1 */
    double unit_bound = bernstein_bound(unit_sd * unit_sd, s, ctx->delta / (double)m) +
                        streams * fabs(s * q - 1.0);             /* + bias, |x| = 1 */
    double bound_sd = unit_bound / unit_sd;
    double worst = 0.0;
    for (size_t i = 0; i < m; i++) {
        double z = fabs(ctx->sum_d[i]) / (fabs(ctx->element_x[i]) * unit_sd);
        worst = fmax(worst, z);
    }
    snprintf(row->expected, sizeof row->expected, "x_i (%zu x %zu)", m,
             ctx->element_streams);
    snprintf(row->observed, sizeof row->observed, "max %.2f sd", worst);
    snprintf(row->bound, sizeof row->bound, "%.1f sd", bound_sd);
    row->pass = status == DROPOUT_OK && worst <= bound_sd;
}

static void check_element_variance(verify_ctx *ctx, double p, verify_row *row)
{
    int status = element_stats(ctx, p);
    const double q = keep_probability(p), s = scale_of(p);
    const double S = (double)ctx->element_streams;
    const size_t m = ctx->element_count;
    /* v_i = sample variance of y_i over S streams / x_i^2, pooled over the
     * elements: V = mean_i v_i.  Per-element sample variances of a rare event
     * (p = 1e-6: ~0.03 drops per element) are meaningless; the pool is not.
     * y_i / x_i = s B: sigma^2 = s^2 q (1 - q), fourth central moment
     * mu4 = s^4 q (1 - q) (1 - 3 q + 3 q^2), and for the unbiased sample
     * variance Var(S^2) = (mu4 - sigma^4 (S - 3) / (S - 1)) / S; V averages m
     * independent copies. */
    double sigma2 = s * s * q * (1.0 - q);
    double mu4 = s * s * s * s * q * (1.0 - q) * (1.0 - 3.0 * q + 3.0 * q * q);
    double var_v = (mu4 - sigma2 * sigma2 * (S - 3.0) / (S - 1.0)) / S / (double)m;
    double expected = p / (1.0 - p);
    double bound = 6.0 * sqrt(var_v) + fabs(sigma2 - expected);
    double pooled = 0.0;
    for (size_t i = 0; i < m; i++) {
        double x2 = ctx->element_x[i] * ctx->element_x[i];
        double sample_variance = (ctx->sum_d2[i] - ctx->sum_d[i] * ctx->sum_d[i] / S) / (S - 1.0);
        pooled += sample_variance / x2;
    }
    pooled /= (double)m;
    snprintf(row->expected, sizeof row->expected, "x_i^2 * %.6g", expected);
    snprintf(row->observed, sizeof row->observed, "x_i^2 * %.6g", pooled);
    snprintf(row->bound, sizeof row->bound, "+-%.2g (6.0 sd)", bound);
    row->pass = status == DROPOUT_OK && fabs(pooled - expected) <= bound;
}

/* ---- bitwise checks ------------------------------------------------------- */

/* forward = keep ? x * s : +0 on random bit patterns, and its mask equals
 * dropout_mask of the same (seed, stream, first). */
static void check_forward_rule(verify_ctx *ctx, double p, verify_row *row)
{
    const size_t n = ctx->exact_n, bytes = dropout_mask_bytes(n);
    const dropout_params params = params_of(p, 3, 12345);
    size_t differ = 0;
    int status = DROPOUT_OK;

    fill_bits_f32(ctx->x32, n, 32);
    status |= dropout_forward_f32(&params, ctx->y32, ctx->x32, n, ctx->mask, bytes);
    status |= dropout_mask(&params, n, ctx->mask2, bytes);
    const float s32 = (float)scale_of(p);
    for (size_t k = 0; k < n; k++)
        differ += !same_bits_f32(ctx->y32[k], keep_bit(ctx->mask, k) ? ctx->x32[k] * s32 : 0.0f);
    differ += memcmp(ctx->mask, ctx->mask2, bytes) != 0;

    fill_bits_f64(ctx->x64, n, 64);
    status |= dropout_forward_f64(&params, ctx->y64, ctx->x64, n, ctx->mask, bytes);
    const double s64 = scale_of(p);
    for (size_t k = 0; k < n; k++)
        differ += !same_bits_f64(ctx->y64[k], keep_bit(ctx->mask, k) ? ctx->x64[k] * s64 : 0.0);
    differ += memcmp(ctx->mask, ctx->mask2, bytes) != 0;
    verify_exact_row(row, differ, 2 * n, status);
}

/* Evaluation mode: y = x bitwise, the mask buffer untouched. */
static void check_eval(verify_ctx *ctx, double p, verify_row *row)
{
    const size_t n = ctx->exact_n, bytes = dropout_mask_bytes(n);
    dropout_params params = params_of(p, 4, 0);
    params.mode = DROPOUT_EVAL;
    size_t differ = 0;
    int status = DROPOUT_OK;
    memset(ctx->mask, 0xA5, bytes);
    fill_bits_f32(ctx->x32, n, 320);
    status |= dropout_forward_f32(&params, ctx->y32, ctx->x32, n, ctx->mask, bytes);
    for (size_t k = 0; k < n; k++)
        differ += !same_bits_f32(ctx->y32[k], ctx->x32[k]);
    fill_bits_f64(ctx->x64, n, 640);
    status |= dropout_forward_f64(&params, ctx->y64, ctx->x64, n, ctx->mask, bytes);
    for (size_t k = 0; k < n; k++)
        differ += !same_bits_f64(ctx->y64[k], ctx->x64[k]);
    for (size_t b = 0; b < bytes; b++)
        differ += ctx->mask[b] != 0xA5;
    verify_exact_row(row, differ, 2 * n, status);
}

/* Backward from the forward's packed mask: dx = keep ? dy * s : +0, with the
 * mask the forward wrote (forward on x first, then backward on dy). */
static void check_backward_mask(verify_ctx *ctx, double p, verify_row *row)
{
    const size_t n = ctx->exact_n, bytes = dropout_mask_bytes(n);
    const dropout_params params = params_of(p, 5, (uint64_t)1 << 33);
    size_t differ = 0;
    int status = DROPOUT_OK;

    fill_bits_f32(ctx->x32, n, 1);
    fill_bits_f32(ctx->z32, n, 2); /* dy */
    status |= dropout_forward_f32(&params, ctx->y32, ctx->x32, n, ctx->mask, bytes);
    status |= dropout_backward_mask_f32(&params, ctx->y32, ctx->z32, n, ctx->mask, bytes);
    const float s32 = (float)scale_of(p);
    for (size_t k = 0; k < n; k++)
        differ += !same_bits_f32(ctx->y32[k], keep_bit(ctx->mask, k) ? ctx->z32[k] * s32 : 0.0f);

    fill_bits_f64(ctx->x64, n, 3);
    fill_bits_f64(ctx->z64, n, 4);
    status |= dropout_forward_f64(&params, ctx->y64, ctx->x64, n, ctx->mask, bytes);
    status |= dropout_backward_mask_f64(&params, ctx->y64, ctx->z64, n, ctx->mask, bytes);
    const double s64 = scale_of(p);
    for (size_t k = 0; k < n; k++)
        differ += !same_bits_f64(ctx->y64[k], keep_bit(ctx->mask, k) ? ctx->z64[k] * s64 : 0.0);
    verify_exact_row(row, differ, 2 * n, status);
}

/* Backward that regenerates the mask from (seed, stream, first) equals the
 * backward from the forward's packed mask. */
static void check_backward_regen(verify_ctx *ctx, double p, verify_row *row)
{
    const size_t n = ctx->exact_n, bytes = dropout_mask_bytes(n);
    const dropout_params params = params_of(p, 6, (uint64_t)3 << 32);
    size_t differ = 0;
    int status = DROPOUT_OK;

    fill_bits_f32(ctx->x32, n, 5);
    fill_bits_f32(ctx->z32, n, 6);
    status |= dropout_forward_f32(&params, ctx->y32, ctx->x32, n, ctx->mask, bytes);
    status |= dropout_backward_mask_f32(&params, ctx->y32, ctx->z32, n, ctx->mask, bytes);
    status |= dropout_backward_regen_f32(&params, ctx->x32, ctx->z32, n);
    for (size_t k = 0; k < n; k++)
        differ += !same_bits_f32(ctx->x32[k], ctx->y32[k]);

    fill_bits_f64(ctx->x64, n, 7);
    fill_bits_f64(ctx->z64, n, 8);
    status |= dropout_forward_f64(&params, ctx->y64, ctx->x64, n, ctx->mask, bytes);
    status |= dropout_backward_mask_f64(&params, ctx->y64, ctx->z64, n, ctx->mask, bytes);
    status |= dropout_backward_regen_f64(&params, ctx->x64, ctx->z64, n);
    for (size_t k = 0; k < n; k++)
        differ += !same_bits_f64(ctx->x64[k], ctx->y64[k]);
    verify_exact_row(row, differ, 2 * n, status);
}

/* p = 0: forward and both backwards return the input bitwise (NaN payloads,
 * -0 included); the mask is all ones.  (`differ` counts every failed
 * comparison, so it can exceed the element count.) */
static void check_p0(verify_ctx *ctx, double p, verify_row *row)
{
    const size_t n = ctx->exact_n, bytes = dropout_mask_bytes(n);
    const dropout_params params = params_of(p, 7, 0);
    size_t differ = 0;
    int status = DROPOUT_OK;

    fill_bits_f32(ctx->x32, n, 9);
    status |= dropout_forward_f32(&params, ctx->y32, ctx->x32, n, ctx->mask, bytes);
    for (size_t k = 0; k < n; k++)
        differ += !same_bits_f32(ctx->y32[k], ctx->x32[k]) + !keep_bit(ctx->mask, k);
    status |= dropout_backward_mask_f32(&params, ctx->y32, ctx->x32, n, ctx->mask, bytes);
    status |= dropout_backward_regen_f32(&params, ctx->z32, ctx->x32, n);
    for (size_t k = 0; k < n; k++)
        differ += !same_bits_f32(ctx->y32[k], ctx->x32[k]) +
                  !same_bits_f32(ctx->z32[k], ctx->x32[k]);

    fill_bits_f64(ctx->x64, n, 10);
    status |= dropout_forward_f64(&params, ctx->y64, ctx->x64, n, ctx->mask, bytes);
    for (size_t k = 0; k < n; k++)
        differ += !same_bits_f64(ctx->y64[k], ctx->x64[k]) + !keep_bit(ctx->mask, k);
    status |= dropout_backward_mask_f64(&params, ctx->y64, ctx->x64, n, ctx->mask, bytes);
    status |= dropout_backward_regen_f64(&params, ctx->z64, ctx->x64, n);
    for (size_t k = 0; k < n; k++)
        differ += !same_bits_f64(ctx->y64[k], ctx->x64[k]) +
                  !same_bits_f64(ctx->z64[k], ctx->x64[k]);
    verify_exact_row(row, differ, 2 * n, status);
}

/* p = 1: +0.0 everywhere (bit pattern 0), whatever the input, NaN and Inf
 * included; the mask is all zeros. */
static void check_p1(verify_ctx *ctx, double p, verify_row *row)
{
    const size_t n = ctx->exact_n, bytes = dropout_mask_bytes(n);
    const dropout_params params = params_of(p, 8, 0);
    size_t differ = 0;
    int status = DROPOUT_OK;
    fill_bits_f32(ctx->x32, n, 11);
    status |= dropout_forward_f32(&params, ctx->y32, ctx->x32, n, ctx->mask, bytes);
    for (size_t k = 0; k < n; k++)
        differ += !same_bits_f32(ctx->y32[k], 0.0f);
    status |= dropout_backward_mask_f32(&params, ctx->y32, ctx->x32, n, ctx->mask, bytes);
    status |= dropout_backward_regen_f32(&params, ctx->z32, ctx->x32, n);
    for (size_t k = 0; k < n; k++)
        differ += !same_bits_f32(ctx->y32[k], 0.0f) + !same_bits_f32(ctx->z32[k], 0.0f);
    fill_bits_f64(ctx->x64, n, 12);
    status |= dropout_forward_f64(&params, ctx->y64, ctx->x64, n, ctx->mask2, bytes);
    for (size_t k = 0; k < n; k++)
        differ += !same_bits_f64(ctx->y64[k], 0.0);
    status |= dropout_backward_mask_f64(&params, ctx->y64, ctx->x64, n, ctx->mask2, bytes);
    status |= dropout_backward_regen_f64(&params, ctx->z64, ctx->x64, n);
    for (size_t k = 0; k < n; k++)
        differ += !same_bits_f64(ctx->y64[k], 0.0) + !same_bits_f64(ctx->z64[k], 0.0);
    for (size_t b = 0; b < bytes; b++)
        differ += (ctx->mask[b] != 0) + (ctx->mask2[b] != 0);
    verify_exact_row(row, differ, 2 * n, status);
}

/* ---- the table -------------------------------------------------------------- */

static const verify_check checks[] = {
    {"T/2^32 = 1-p within 2^-33", 1, 0.0, check_threshold},
    {"keep rate = T/2^32", 1, 0.0, check_keep_rate},
    {"E[y_i] = x_i (over streams)", 1, 0.0, check_element_mean},
    {"E[sum y] = sum x", 1, 0.0, check_sum},
    {"Var(y_i) = x_i^2 p/(1-p)", 1, 0.0, check_element_variance},
    {"y = keep ? x*s : +0, mask", 1, 0.0, check_forward_rule},
    {"eval: y = x bitwise", 1, 0.0, check_eval},
    {"backward = dy*mask*s", 1, 0.0, check_backward_mask},
    {"backward regen = from mask", 1, 0.0, check_backward_regen},
    {"p = 0: identity, mask ones", 0, 0.0, check_p0},
    {"p = 1: +0 everywhere", 0, 1.0, check_p1},
};
#define CHECK_COUNT (sizeof checks / sizeof checks[0])

static void print_help(const cli_option *options, size_t count)
{
    printf("Usage: dropout verify [--quick]\n"
           "\n"
           "Check each claim of dropout numerically through the library, with fixed\n"
           "seeds, for p in {1e-6, 0.1, 0.2, 0.5, 0.8, 0.9, 0.999}: the keep rate is\n"
           "T/2^32 (within 2^-33 of 1-p), E[y_i] = x_i (mean over many streams),\n"
           "E[sum y] = sum x, Var(y_i) = x_i^2 p/(1-p), the forward rule bit for bit,\n"
           "evaluation is the identity, backward = dy*mask*s with the forward's mask\n"
           "(packed or regenerated); and p = 0 is the identity, p = 1 gives +0.\n"
           "Then the dropout family (docs/family.md): bf16/f16 round once and share f32's\n"
           "mask; channel, drop path and time-locked masks are shared as declared; alpha\n"
           "and feature alpha keep mean 0 and variance 1; gaussian noise has mean 1 and\n"
           "variance p/(1-p) (5 standard errors); fused bias+dropout+residual is bitwise\n"
           "the unfused composition.\n"
           "Statistical bounds are Bernstein bounds at the two-sided tail probability of\n"
           "5 standard deviations (>= 5.5 sd), see docs/cli.md.\n"
           "\n"
           "Prints one row per check (claim, p, expected, observed, bound, result) and\n"
           "a summary; exits with status 1 if any check fails.\n"
           "\n");
    cli_print_options(stdout, options, count);
}

static double seconds_now(void)
{
    struct timespec t;
    timespec_get(&t, TIME_UTC);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int cli_verify(int argc, char **argv)
{
    int quick = 0;
    cli_option options[] = {
        CLI_OPTION("--quick", CLI_FLAG, &quick, NULL,
                   "smaller samples (for sanitizer builds): 2^18 instead of 2^24 elements", 0),
    };
    int parsed = cli_parse("verify", argc, argv, options, CLI_COUNT(options));
    if (parsed == CLI_HELP) {
        print_help(options, CLI_COUNT(options));
        return 0;
    }
    if (parsed != CLI_PARSED)
        return 1;

    verify_ctx ctx = {0};
    ctx.rate_n = quick ? (size_t)1 << 18 : (size_t)1 << 24;
    ctx.element_count = quick ? 64 : 512;
    ctx.element_streams = quick ? 4096 : 32768;
    ctx.exact_n = quick ? (size_t)1 << 14 : (size_t)1 << 20;
    ctx.delta = erfc(5.0 / sqrt(2.0));
    ctx.stats_p = -1.0;
    const size_t len = CALL_ELEMENTS;
    ctx.x64 = malloc(len * sizeof(double));
    ctx.y64 = malloc(len * sizeof(double));
    ctx.z64 = malloc(len * sizeof(double));
    ctx.x32 = malloc(len * sizeof(float));
    ctx.y32 = malloc(len * sizeof(float));
    ctx.z32 = malloc(len * sizeof(float));
    ctx.mask = malloc(dropout_mask_bytes(len));
    ctx.mask2 = malloc(dropout_mask_bytes(len));
    ctx.element_x = malloc(ctx.element_count * sizeof(double));
    ctx.sum_d = malloc(ctx.element_count * sizeof(double));
    ctx.sum_d2 = malloc(ctx.element_count * sizeof(double));
    int ok = ctx.x64 && ctx.y64 && ctx.z64 && ctx.x32 && ctx.y32 && ctx.z32 && ctx.mask &&
             ctx.mask2 && ctx.element_x && ctx.sum_d && ctx.sum_d2;

    unsigned rows = 0, failed = 0;
    double start = seconds_now();
    if (ok) {
        printf("dropout verify%s: seed 0x%llx, isa %s, %u thread%s\n", quick ? " --quick" : "",
               (unsigned long long)VERIFY_SEED, dropout_isa(), dropout_threads(),
               dropout_threads() == 1 ? "" : "s");
        printf("%-28s %-8s %-22s %-22s %-22s %s\n", "claim", "p", "expected", "observed",
               "bound", "result");
        for (size_t pi = 0; pi <= VERIFY_P_COUNT; pi++) {
            for (size_t c = 0; c < CHECK_COUNT; c++) {
                /* rounds 0 .. P_COUNT-1: per-p checks; the last round: the others */
                if (checks[c].per_p != (pi < VERIFY_P_COUNT))
                    continue;
                double p = pi < VERIFY_P_COUNT ? verify_ps[pi] : checks[c].p;
                verify_row row = {{0}, {0}, {0}, 0};
                checks[c].run(&ctx, p, &row);
                printf("%-28s %-8g %-22s %-22s %-22s %s\n", checks[c].claim, p, row.expected,
                       row.observed, row.bound, row.pass ? "PASS" : "FAIL");
                rows++;
                failed += !row.pass;
            }
            fflush(stdout);
        }
        /* the dropout family (verify_family.c) */
        for (size_t c = 0; c < verify_family_check_count; c++) {
            verify_row row = {{0}, {0}, {0}, 0};
            verify_family_checks[c].run(quick, verify_family_checks[c].p, &row);
            printf("%-28s %-8g %-22s %-22s %-22s %s\n", verify_family_checks[c].claim,
                   verify_family_checks[c].p, row.expected, row.observed, row.bound,
                   row.pass ? "PASS" : "FAIL");
            rows++;
            failed += !row.pass;
        }
        fflush(stdout);
        printf("verify: %u checks, %u passed, %u failed (%.1f s)\n", rows, rows - failed, failed,
               seconds_now() - start);
    }
    free(ctx.x64);
    free(ctx.y64);
    free(ctx.z64);
    free(ctx.x32);
    free(ctx.y32);
    free(ctx.z32);
    free(ctx.mask);
    free(ctx.mask2);
    free(ctx.element_x);
    free(ctx.sum_d);
    free(ctx.sum_d2);
    if (!ok)
        return cli_error("verify", "out of memory");
    return failed ? 1 : 0;
}
