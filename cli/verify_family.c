/*
 * verify_family.c — `dropout verify` rows for the dropout family
 * (docs/family.md), through the public API, with fixed seeds.
 *
 * Exact rows count the elements that break a rule (expected: 0 differ):
 *   bf16/f16: y = rne((float)x * s) with the f32 mask, byte for byte;
 *   channel / drop path / time-locked: every slice that shares a mask bit is
 *   all dropped or all kept, and its bit is dropout_keep(seed, stream, its
 *   mask index) (SPEC section 2);
 *   fused: residual + dropout(x + bias) equals the three separate steps.
 * Statistical rows (alpha, feature alpha, gaussian) compare a mean with the
 * claim; the standard error comes from the spread of independent batches
 * (1024 batches; for feature alpha each (n, c) slice, whose elements share a
 * mask bit) and the bound is 5 standard errors (normal approximation: every
 * batch mean averages >= 64 independent terms).
 * Sizes (full / --quick): 2^22 (alpha) or 2^23 (gaussian) / 2^18 samples,
 * about 2^20 / 2^14 elements for the exact rows.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dropout.h"

#include "verify_family.h"

#define FAMILY_SEED 0xfa31175eedull
#define SIGMAS 5.0
#define BATCHES 1024

static uint64_t next_u64(uint64_t *state) /* splitmix64 */
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double next_normal(uint64_t *state) /* Box-Muller */
{
    double u1 = (double)((next_u64(state) >> 11) + 1) * 0x1.0p-53;
    double u2 = (double)(next_u64(state) >> 11) * 0x1.0p-53;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static dropout_params params_of(double p, uint64_t stream)
{
    dropout_params params = {0};
    params.p = p;
    params.seed = FAMILY_SEED;
    params.stream = stream;
    params.mode = DROPOUT_TRAIN;
    return params;
}

static void out_of_memory(verify_row *row)
{
    snprintf(row->observed, sizeof row->observed, "out of memory");
    row->pass = 0;
}

/* mean of `count` batch values against `expect`, 5 standard errors */
static void stat_row(verify_row *row, const double *batch, size_t count, double expect,
                     int status)
{
    double sum = 0.0, ss = 0.0;
    for (size_t k = 0; k < count; k++)
        sum += batch[k];
    double mean = sum / (double)count;
    for (size_t k = 0; k < count; k++)
        ss += (batch[k] - mean) * (batch[k] - mean);
    double se = sqrt(ss / (double)(count - 1) / (double)count);
    snprintf(row->expected, sizeof row->expected, "%.6f", expect);
    if (status != DROPOUT_OK)
        snprintf(row->observed, sizeof row->observed, "error %d", status);
    else
        snprintf(row->observed, sizeof row->observed, "%.6f", mean);
    snprintf(row->bound, sizeof row->bound, "+-%.2g (5 se)", SIGMAS * se);
    row->pass = status == DROPOUT_OK && fabs(mean - expect) <= SIGMAS * se;
}

/* ---- bf16 / f16 ------------------------------------------------------------ */

static void check_half(int quick, double p, verify_row *row, int bf16)
{
    const size_t n = quick ? (size_t)1 << 14 : (size_t)1 << 20, bytes = dropout_mask_bytes(n);
    uint16_t *x = malloc(n * 2), *y = malloc(n * 2);
    float *xf = malloc(n * sizeof *xf), *yf = malloc(n * sizeof *yf);
    uint8_t *mask = malloc(bytes), *mask32 = malloc(bytes);
    if (!x || !y || !xf || !yf || !mask || !mask32) {
        out_of_memory(row);
    } else {
        uint64_t state = 21 + (uint64_t)bf16;
        for (size_t k = 0; k < n; k++) { /* every pattern: NaN, Inf, subnormals */
            x[k] = (uint16_t)next_u64(&state);
            xf[k] = bf16 ? dropout_f32_from_bf16(x[k]) : dropout_f32_from_f16(x[k]);
        }
        dropout_params params = params_of(p, 3);
        int status = dropout_forward_f32(&params, yf, xf, n, mask32, bytes);
        if (status == DROPOUT_OK)
            status = bf16 ? dropout_forward_bf16(&params, y, x, n, mask, bytes)
                          : dropout_forward_f16(&params, y, x, n, mask, bytes);
        size_t differ = 0;
        for (size_t b = 0; status == DROPOUT_OK && b < bytes; b++)
            differ += mask[b] != mask32[b];
        for (size_t k = 0; status == DROPOUT_OK && k < n; k++) {
            uint16_t expect = bf16 ? dropout_bf16_from_f32(yf[k]) : dropout_f16_from_f32(yf[k]);
            float got = bf16 ? dropout_f32_from_bf16(y[k]) : dropout_f32_from_f16(y[k]);
            differ += y[k] != expect && !(isnan(got) && isnan(yf[k]));
        }
        verify_exact_row(row, differ, n, status);
    }
    free(x), free(y), free(xf), free(yf), free(mask), free(mask32);
}

static void check_bf16(int quick, double p, verify_row *row)
{
    check_half(quick, p, row, 1);
}

static void check_f16(int quick, double p, verify_row *row)
{
    check_half(quick, p, row, 0);
}

/* ---- broadcast masks --------------------------------------------------------
 * y of x = 1 over `shape`; every group of elements that shares mask index m
 * must be all +0 (dropped) or all 1 * s (kept), as dropout_keep says. */
static void check_layout(int quick, double p, verify_row *row, dropout_shape shape)
{
    if (quick)
        shape.dims[0] = shape.dims[0] / 4 ? shape.dims[0] / 4 : 1;
    const size_t n = dropout_shape_elements(&shape), m = dropout_shape_mask_elements(&shape);
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    if (!x || !y) {
        out_of_memory(row);
        free(x), free(y);
        return;
    }
    for (size_t k = 0; k < n; k++)
        x[k] = 1.0f;
    dropout_params params = params_of(p, 4);
    int status = dropout_shaped_forward(&params, DROPOUT_VARIANT_STANDARD, DROPOUT_DTYPE_F32,
                                        &shape, y, x, NULL, 0);
    const float s = (float)(1.0 / (1.0 - p));
    size_t differ = 0;
    for (size_t e = 0; status == DROPOUT_OK && e < n; e++) {
        /* mask index: the flat index with the broadcast digits dropped */
        size_t rest = e, digit[DROPOUT_MAX_DIMS];
        for (size_t d = shape.ndim; d-- > 0;) {
            digit[d] = rest % shape.dims[d];
            rest /= shape.dims[d];
        }
        uint64_t mi = 0;
        for (size_t d = 0; d < shape.ndim; d++)
            if (!((shape.broadcast >> d) & 1u))
                mi = mi * shape.dims[d] + digit[d];
        int keep = dropout_keep(params.seed, params.stream, mi, p);
        differ += y[e] != (keep ? s : 0.0f);
    }
    verify_exact_row(row, differ, n, status);
    snprintf(row->expected, sizeof row->expected, "0 differ (%zu groups)", m);
    free(x), free(y);
}

static void check_channel(int quick, double p, verify_row *row)
{
    dropout_shape shape = {3, {64, 64, 256}, DROPOUT_BROADCAST_DIM(2)}; /* (N, C, L) */
    check_layout(quick, p, row, shape);
}

static void check_drop_path(int quick, double p, verify_row *row)
{
    dropout_shape shape = {3, {1024, 16, 256}, DROPOUT_BROADCAST_DIM(1) | DROPOUT_BROADCAST_DIM(2)};
    check_layout(quick, p, row, shape);
}

static void check_time_locked(int quick, double p, verify_row *row)
{
    dropout_shape shape = {3, {64, 32, 512}, DROPOUT_BROADCAST_DIM(0)}; /* (T, N, H) */
    check_layout(quick, p, row, shape);
}

/* ---- alpha, feature alpha --------------------------------------------------- */

/* moment 1: mean of y; moment 2: mean of y^2.  feature: (N, 64, 64) with the
 * mask shared per (n, c) slice, batches = slices. */
static void check_alpha(int quick, double p, verify_row *row, int moment, int feature)
{
    const size_t n = quick ? (size_t)1 << 18 : (size_t)1 << 22;
    const size_t batches = feature ? n / 64 : BATCHES, len = n / batches;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    double *batch = malloc(batches * sizeof *batch);
    if (!x || !y || !batch) {
        out_of_memory(row);
        free(x), free(y), free(batch);
        return;
    }
    uint64_t state = 77;
    for (size_t k = 0; k < n; k++)
        x[k] = (float)next_normal(&state);
    dropout_shape shape = {1, {n}, 0};
    if (feature) {
        dropout_shape channels = {3, {n / 4096, 64, 64}, DROPOUT_BROADCAST_DIM(2)};
        shape = channels;
    }
    dropout_params params = params_of(p, 5);
    int status = dropout_shaped_forward(&params, DROPOUT_VARIANT_ALPHA, DROPOUT_DTYPE_F32, &shape,
                                        y, x, NULL, 0);
    for (size_t b = 0; b < batches; b++) {
        double sum = 0.0;
        for (size_t k = 0; k < len; k++) {
            double v = y[b * len + k];
            sum += moment == 1 ? v : v * v;
        }
        batch[b] = sum / (double)len;
    }
    stat_row(row, batch, batches, moment == 1 ? 0.0 : 1.0, status);
    free(x), free(y), free(batch);
}

static void check_alpha_mean(int quick, double p, verify_row *row)
{
    check_alpha(quick, p, row, 1, 0);
}

static void check_alpha_variance(int quick, double p, verify_row *row)
{
    check_alpha(quick, p, row, 2, 0);
}

static void check_feature_alpha_mean(int quick, double p, verify_row *row)
{
    check_alpha(quick, p, row, 1, 1);
}

static void check_feature_alpha_variance(int quick, double p, verify_row *row)
{
    check_alpha(quick, p, row, 2, 1);
}

/* ---- gaussian ---------------------------------------------------------------- */

/* x = 1 in f64, so y is the noise: moment 1 its mean, 2 its variance. */
static void check_gaussian(int quick, double p, verify_row *row, int moment)
{
    const size_t n = quick ? (size_t)1 << 18 : (size_t)1 << 23, len = n / BATCHES;
    double *y = malloc(n * sizeof *y), *batch = malloc(BATCHES * sizeof *batch);
    if (!y || !batch) {
        out_of_memory(row);
        free(y), free(batch);
        return;
    }
    for (size_t k = 0; k < n; k++)
        y[k] = 1.0;
    dropout_shape shape = {1, {n}, 0};
    dropout_params params = params_of(p, 6);
    int status = dropout_shaped_forward(&params, DROPOUT_VARIANT_GAUSSIAN, DROPOUT_DTYPE_F64,
                                        &shape, y, y, NULL, 0);
    for (size_t b = 0; b < BATCHES; b++) {
        double sum = 0.0;
        for (size_t k = 0; k < len; k++) {
            double d = y[b * len + k] - 1.0;
            sum += moment == 1 ? y[b * len + k] : d * d;
        }
        batch[b] = sum / (double)len;
    }
    stat_row(row, batch, BATCHES, moment == 1 ? 1.0 : p / (1.0 - p), status);
    free(y), free(batch);
}

static void check_gaussian_mean(int quick, double p, verify_row *row)
{
    check_gaussian(quick, p, row, 1);
}

static void check_gaussian_variance(int quick, double p, verify_row *row)
{
    check_gaussian(quick, p, row, 2);
}

/* ---- fused ------------------------------------------------------------------ */

static void check_fused(int quick, double p, verify_row *row)
{
    const size_t d = 768, rows = quick ? 16 : 1024, n = rows * d, bytes = dropout_mask_bytes(n);
    float *x = malloc(n * sizeof *x), *res = malloc(n * sizeof *res), *bias = malloc(d * 4);
    float *y = malloc(n * sizeof *y), *t = malloc(n * sizeof *t);
    uint8_t *mask = malloc(bytes), *mask2 = malloc(bytes);
    if (!x || !res || !bias || !y || !t || !mask || !mask2) {
        out_of_memory(row);
    } else {
        uint64_t state = 99;
        for (size_t k = 0; k < n; k++) {
            x[k] = (float)next_normal(&state);
            res[k] = (float)next_normal(&state);
        }
        for (size_t j = 0; j < d; j++)
            bias[j] = (float)next_normal(&state);
        dropout_params params = params_of(p, 7);
        int status = dropout_bias_residual_forward(&params, DROPOUT_DTYPE_F32, y, x, bias, res, n,
                                                   d, mask, bytes);
        for (size_t k = 0; k < n; k++)
            t[k] = x[k] + bias[k % d];
        if (status == DROPOUT_OK)
            status = dropout_forward_f32(&params, t, t, n, mask2, bytes);
        size_t differ = 0;
        for (size_t k = 0; status == DROPOUT_OK && k < n; k++) {
            float expect = res[k] + t[k];
            differ += memcmp(&expect, &y[k], sizeof expect) != 0;
        }
        for (size_t b = 0; status == DROPOUT_OK && b < bytes; b++)
            differ += mask[b] != mask2[b];
        verify_exact_row(row, differ, n, status);
    }
    free(x), free(res), free(bias), free(y), free(t), free(mask), free(mask2);
}

/* ---- the table ---------------------------------------------------------------- */

const verify_family_check verify_family_checks[] = {
    {"bf16: rne(x*s), f32's mask", 0.1, check_bf16},
    {"bf16: rne(x*s), f32's mask", 0.5, check_bf16},
    {"f16: rne(x*s), f32's mask", 0.1, check_f16},
    {"f16: rne(x*s), f32's mask", 0.5, check_f16},
    {"channel: slice all 0 or kept", 0.5, check_channel},
    {"drop path: sample 0 or kept", 0.2, check_drop_path},
    {"time-locked: one mask all T", 0.3, check_time_locked},
    {"alpha: E[y] = 0 (N(0,1) x)", 0.1, check_alpha_mean},
    {"alpha: E[y^2] = 1", 0.1, check_alpha_variance},
    {"alpha: E[y] = 0 (N(0,1) x)", 0.5, check_alpha_mean},
    {"alpha: E[y^2] = 1", 0.5, check_alpha_variance},
    {"feature alpha: E[y] = 0", 0.5, check_feature_alpha_mean},
    {"feature alpha: E[y^2] = 1", 0.5, check_feature_alpha_variance},
    {"gaussian: E[noise] = 1", 0.1, check_gaussian_mean},
    {"gaussian: Var = p/(1-p)", 0.1, check_gaussian_variance},
    {"gaussian: E[noise] = 1", 0.5, check_gaussian_mean},
    {"gaussian: Var = p/(1-p)", 0.5, check_gaussian_variance},
    {"fused = unfused, bitwise", 0.1, check_fused},
};
const size_t verify_family_check_count = sizeof verify_family_checks / sizeof verify_family_checks[0];
