/*
 * test_family_broadcast.c — shaped dropout (issue 5 items 2-4) against a
 * naive reference: every element's mask index is recomputed from its
 * multi-index (broadcast digits dropped, SPEC section 2), its keep bit from
 * the independent mask stream of test_util.h, and its value from the
 * variant's formula in its dtype.
 *
 * Random shapes of 1-6 dimensions (sizes 0-6, random broadcast sets), every
 * dtype, the standard and alpha variants, forward (mask out too), backward
 * from the mask and regenerating; gaussian against its own f64 noise; the
 * three named layouts (channel, drop path, time-locked) at sizes that use
 * several threads, for 1 and 4 threads; and the error rules.
 */
#include "family_util.h"

#define ALPHA_PRIME (-1.7580993408473766)
static const int dtypes[] = {DROPOUT_DTYPE_F32, DROPOUT_DTYPE_F64, DROPOUT_DTYPE_BF16,
                             DROPOUT_DTYPE_F16};
static const char *dtype_names[] = {"f32", "f64", "bf16", "f16"};

/* Element k of a buffer of dtype as double (for filling and messages). */
static void store(int dtype, void *buf, size_t k, double v)
{
    switch (dtype) {
    case DROPOUT_DTYPE_F32: ((float *)buf)[k] = (float)v; break;
    case DROPOUT_DTYPE_F64: ((double *)buf)[k] = v; break;
    case DROPOUT_DTYPE_BF16: ((uint16_t *)buf)[k] = dropout_bf16_from_f32((float)v); break;
    default: ((uint16_t *)buf)[k] = dropout_f16_from_f32((float)v); break;
    }
}

static float load32(int dtype, const void *buf, size_t k)
{
    switch (dtype) {
    case DROPOUT_DTYPE_F32: return ((const float *)buf)[k];
    case DROPOUT_DTYPE_BF16: return dropout_f32_from_bf16(((const uint16_t *)buf)[k]);
    default: return dropout_f32_from_f16(((const uint16_t *)buf)[k]);
    }
}

/* f32 result rounded to the dtype (f32, bf16, f16). */
static void store32(int dtype, void *buf, size_t k, float v)
{
    switch (dtype) {
    case DROPOUT_DTYPE_F32: ((float *)buf)[k] = v; break;
    case DROPOUT_DTYPE_BF16: ((uint16_t *)buf)[k] = dropout_bf16_from_f32(v); break;
    default: ((uint16_t *)buf)[k] = dropout_f16_from_f32(v); break;
    }
}

/* The expected element: variant formula on input element k with keep bit. */
static void expect_element(int dtype, int variant, int backward, double p, int keep,
                           const void *x, size_t k, void *out)
{
    double s = 1.0 / (1.0 - p), a = 0, b = 0, c = 0;
    if (variant == DROPOUT_VARIANT_ALPHA && p < 1.0) {
        a = 1.0 / sqrt((1.0 - p) * (1.0 + p * ALPHA_PRIME * ALPHA_PRIME));
        b = -a * ALPHA_PRIME * p;
        c = a * ALPHA_PRIME + b;
    }
    int affine = variant == DROPOUT_VARIANT_ALPHA && p < 1.0 && !backward;
    double scale = variant == DROPOUT_VARIANT_ALPHA ? a : s;
    if (p == 0.0) {
        size_t size = dropout_dtype_size(dtype);
        memcpy((char *)out + k * size, (const char *)x + k * size, size);
        return;
    }
    if (dtype == DROPOUT_DTYPE_F64) {
        double v = ((const double *)x)[k];
        ((double *)out)[k] = keep ? (affine ? v * a + b : v * scale) : (affine ? c : 0.0);
        return;
    }
    float v = load32(dtype, x, k);
    float r = keep ? (affine ? v * (float)a + (float)b : v * (float)scale)
                   : (affine ? (float)c : 0.0f);
    store32(dtype, out, k, r);
}

static int same_element(int dtype, const void *a, const void *b, size_t k)
{
    size_t size = dropout_dtype_size(dtype);
    const char *pa = (const char *)a + k * size, *pb = (const char *)b + k * size;
    if (memcmp(pa, pb, size) == 0)
        return 1;
    /* NaN results: any NaN (the payload of a kept NaN is the CPU's) */
    switch (dtype) {
    case DROPOUT_DTYPE_F32: return isnan(((const float *)a)[k]) && isnan(((const float *)b)[k]);
    case DROPOUT_DTYPE_F64: return isnan(((const double *)a)[k]) && isnan(((const double *)b)[k]);
    default: return half_is_nan(((const uint16_t *)a)[k], dtype == DROPOUT_DTYPE_BF16) &&
                    half_is_nan(((const uint16_t *)b)[k], dtype == DROPOUT_DTYPE_BF16);
    }
}

static void fill_input(int dtype, void *x, size_t n, test_rng *rng)
{
    for (size_t k = 0; k < n; k++) {
        double v = (test_rng_unit(rng) - 0.5) * 6.0;
        if (test_rng_below(rng, 50) == 0)
            v = test_rng_below(rng, 2) ? NAN : -0.0;
        store(dtype, x, k, v);
    }
}

/* One shape, dtype, variant: forward (+ mask), both backwards. */
static void check_shape(const dropout_shape *shape, int dti, int variant, double p,
                        test_rng *rng, const char *label)
{
    const int dtype = dtypes[dti];
    const size_t size = dropout_dtype_size(dtype);
    const size_t n = dropout_shape_elements(shape), m = dropout_shape_mask_elements(shape);
    dropout_params params = {.p = p, .seed = test_rng_next(rng), .stream = test_rng_next(rng),
                             .first = test_rng_below(rng, 1000), .mode = DROPOUT_TRAIN};
    void *x = test_malloc(n * size), *y = test_malloc(n * size), *expect = test_malloc(n * size);
    void *dx = test_malloc(n * size);
    size_t bytes = dropout_mask_bytes(m);
    uint8_t *mask = test_malloc(bytes + 1);
    fill_input(dtype, x, n, rng);
    memset(mask, 0xCD, bytes + 1);
    CHECK_OK(dropout_shaped_forward(&params, variant, dtype, shape, y, x, mask, bytes));
    long bad_mask = 0, bad = 0, bad_mask_bits = 0;
    for (size_t mi = 0; mi < m; mi++)
        bad_mask_bits += mask_bit(mask, mi) != ref_keep(params.seed, params.stream,
                                                        params.first + mi, p);
    CHECK(bad_mask_bits == 0 && mask[bytes] == 0xCD, "%s: %ld mask bits wrong", label,
          bad_mask_bits);
    for (size_t e = 0; e < n; e++) {
        uint64_t mi = ref_mask_index(shape, e);
        int keep = ref_keep(params.seed, params.stream, params.first + mi, p);
        bad_mask += keep != mask_bit(mask, mi);
        expect_element(dtype, variant, 0, p, keep, x, e, expect);
        if (!same_element(dtype, y, expect, e) && bad++ < 3)
            fprintf(stderr, "%s %s: element %zu (mask %" PRIu64 ", keep %d) differs\n", label,
                    dtype_names[dti], e, mi, keep);
    }
    CHECK(bad == 0, "%s %s variant %d p=%g: %ld of %zu forward elements differ", label,
          dtype_names[dti], variant, p, bad, n);
    CHECK(bad_mask == 0, "%s: %ld elements' keep bits differ from the mask output", label,
          bad_mask);
    /* backward: dy = x; expected keep ? dy * (s or a) : 0 */
    for (size_t e = 0; e < n; e++) {
        uint64_t mi = ref_mask_index(shape, e);
        expect_element(dtype, variant, 1, p, ref_keep(params.seed, params.stream,
                                                      params.first + mi, p), x, e, expect);
    }
    for (int from_mask = 0; from_mask <= 1; from_mask++) {
        memset(dx, 0x77, n * size);
        if (from_mask)
            CHECK_OK(dropout_shaped_backward_mask(&params, variant, dtype, shape, dx, x, mask,
                                                  bytes));
        else
            CHECK_OK(dropout_shaped_backward_regen(&params, variant, dtype, shape, dx, x));
        long bad_back = 0;
        for (size_t e = 0; e < n; e++)
            bad_back += !same_element(dtype, dx, expect, e);
        CHECK(bad_back == 0, "%s %s variant %d p=%g backward (%s): %ld elements differ", label,
              dtype_names[dti], variant, p, from_mask ? "mask" : "regen", bad_back);
    }
    /* in-place forward equals out-of-place */
    memcpy(dx, x, n * size);
    CHECK_OK(dropout_shaped_forward(&params, variant, dtype, shape, dx, dx, NULL, 0));
    long bad_inplace = 0;
    for (size_t e = 0; e < n; e++)
        bad_inplace += !same_element(dtype, dx, y, e);
    CHECK(bad_inplace == 0, "%s: in-place differs in %ld elements", label, bad_inplace);
    free(x), free(y), free(expect), free(dx), free(mask);
}

/* Gaussian: y = x * noise(mask index), noise taken from the 1-D f64
 * forward of ones over the mask shape (noise itself, bitwise). */
static void check_gaussian_shape(const dropout_shape *shape, int dti, double p, test_rng *rng)
{
    const int dtype = dtypes[dti];
    const size_t size = dropout_dtype_size(dtype);
    const size_t n = dropout_shape_elements(shape), m = dropout_shape_mask_elements(shape);
    dropout_params params = {.p = p, .seed = test_rng_next(rng), .stream = test_rng_next(rng),
                             .first = test_rng_below(rng, 1000), .mode = DROPOUT_TRAIN};
    double *noise = test_malloc(m * sizeof *noise);
    for (size_t k = 0; k < m; k++)
        noise[k] = 1.0;
    dropout_shape line = {1, {m}, 0};
    CHECK_OK(dropout_shaped_forward(&params, DROPOUT_VARIANT_GAUSSIAN, DROPOUT_DTYPE_F64, &line,
                                    noise, noise, NULL, 0));
    void *x = test_malloc(n * size), *y = test_malloc(n * size), *expect = test_malloc(n * size);
    fill_input(dtype, x, n, rng);
    CHECK_OK(dropout_shaped_forward(&params, DROPOUT_VARIANT_GAUSSIAN, dtype, shape, y, x, NULL,
                                    0));
    for (size_t e = 0; e < n; e++) {
        double z = noise[ref_mask_index(shape, e)];
        if (dtype == DROPOUT_DTYPE_F64)
            ((double *)expect)[e] = ((double *)x)[e] * z;
        else
            store32(dtype, expect, e, load32(dtype, x, e) * (float)z);
    }
    long bad = 0;
    for (size_t e = 0; e < n; e++)
        bad += !same_element(dtype, y, expect, e);
    CHECK(bad == 0, "gaussian %s p=%g: %ld elements differ", dtype_names[dti], p, bad);
    CHECK_OK(dropout_shaped_backward_regen(&params, DROPOUT_VARIANT_GAUSSIAN, dtype, shape,
                                           expect, x));
    CHECK(memcmp(expect, y, n * size) == 0 || n == 0 || bad, "gaussian backward != forward");
    free(noise), free(x), free(y), free(expect);
}

static dropout_shape random_shape(test_rng *rng)
{
    dropout_shape s;
    memset(&s, 0, sizeof s);
    s.ndim = 1 + (size_t)test_rng_below(rng, 6);
    for (size_t d = 0; d < s.ndim; d++)
        s.dims[d] = (size_t)test_rng_below(rng, 7) + (test_rng_below(rng, 20) ? 1 : 0);
    s.broadcast = (uint32_t)test_rng_below(rng, 1u << s.ndim);
    return s;
}

/* Channel dropout (N, C, L): every (n, c) slice all dropped or all kept. */
static void check_channel_slices(void)
{
    dropout_shape shape = {3, {16, 32, 1000}, DROPOUT_BROADCAST_DIM(2)};
    size_t n = dropout_shape_elements(&shape);
    float *x = test_malloc(n * sizeof *x), *y = test_malloc(n * sizeof *y);
    for (size_t k = 0; k < n; k++)
        x[k] = 1.0f + (float)(k % 7);
    dropout_params params = {.p = 0.5, .seed = 5, .stream = 9};
    CHECK_OK(dropout_shaped_forward(&params, DROPOUT_VARIANT_STANDARD, DROPOUT_DTYPE_F32, &shape,
                                    y, x, NULL, 0));
    long mixed = 0, dropped = 0;
    for (size_t slice = 0; slice < 16 * 32; slice++) {
        size_t zeros = 0;
        for (size_t l = 0; l < 1000; l++)
            zeros += y[slice * 1000 + l] == 0.0f;
        mixed += zeros != 0 && zeros != 1000;
        dropped += zeros == 1000;
    }
    CHECK(mixed == 0, "channel dropout: %ld slices are partly dropped", mixed);
    /* 512 slices at p = 0.5: 256 +- 11.3 dropped; 6 sigma */
    CHECK(fabs((double)dropped - 256.0) < 6 * 11.32, "channel dropout: %ld of 512 dropped",
          dropped);
    free(x), free(y);
}

static void check_errors(void)
{
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, y[8];
    uint8_t mask[1];
    memset(y, 0x3C, sizeof y);
    dropout_params ok = {.p = 0.5};
    dropout_shape good = {2, {2, 4}, DROPOUT_BROADCAST_DIM(1)};
    dropout_shape no_dims = {0, {8}, 0};
    dropout_shape too_many = {9, {1}, 0};
    dropout_shape bad_bit = {2, {2, 4}, DROPOUT_BROADCAST_DIM(2)};
    dropout_shape huge = {3, {SIZE_MAX / 2, 3, 1}, 0};
    const int f32 = DROPOUT_DTYPE_F32, std = DROPOUT_VARIANT_STANDARD;
    CHECK_STATUS(dropout_shaped_forward(&ok, std, f32, &no_dims, y, x, NULL, 0),
                 DROPOUT_ERROR_INVALID_SHAPE);
    CHECK_STATUS(dropout_shaped_forward(&ok, std, f32, &too_many, y, x, NULL, 0),
                 DROPOUT_ERROR_INVALID_SHAPE);
    CHECK_STATUS(dropout_shaped_forward(&ok, std, f32, &bad_bit, y, x, NULL, 0),
                 DROPOUT_ERROR_INVALID_SHAPE);
    CHECK_STATUS(dropout_shaped_forward(&ok, std, f32, &huge, y, x, NULL, 0),
                 DROPOUT_ERROR_INVALID_SHAPE);
    CHECK_STATUS(dropout_shaped_forward(&ok, std, 7, &good, y, x, NULL, 0),
                 DROPOUT_ERROR_INVALID_DTYPE);
    CHECK_STATUS(dropout_shaped_forward(&ok, 9, f32, &good, y, x, NULL, 0),
                 DROPOUT_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(dropout_shaped_forward(&ok, std, f32, NULL, y, x, NULL, 0),
                 DROPOUT_ERROR_NULL_POINTER);
    CHECK_STATUS(dropout_shaped_forward(&ok, std, f32, &good, y, x, mask, 0),
                 DROPOUT_ERROR_MASK_TOO_SMALL);
    CHECK_STATUS(dropout_shaped_forward(&ok, DROPOUT_VARIANT_GAUSSIAN, f32, &good, y, x, mask, 1),
                 DROPOUT_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(dropout_shaped_backward_mask(&ok, DROPOUT_VARIANT_GAUSSIAN, f32, &good, y, x,
                                              mask, 1),
                 DROPOUT_ERROR_INVALID_ARGUMENT);
    dropout_params one = {.p = 1.0};
    CHECK_STATUS(dropout_shaped_forward(&one, DROPOUT_VARIANT_GAUSSIAN, f32, &good, y, x, NULL, 0),
                 DROPOUT_ERROR_INVALID_P);
    dropout_params nan_p = {.p = NAN};
    CHECK_STATUS(dropout_shaped_backward_regen(&nan_p, DROPOUT_VARIANT_ALPHA, f32, &good, y, x),
                 DROPOUT_ERROR_INVALID_P);
    CHECK_STATUS(dropout_shaped_forward(&ok, std, f32, &good, x + 1, x, NULL, 0),
                 DROPOUT_ERROR_OVERLAP);
    int untouched = 1;
    for (int k = 0; k < 8; k++)
        untouched &= bits_f32(y[k]) == 0x3C3C3C3Cu;
    CHECK(untouched, "an error wrote to y");
    CHECK(dropout_shape_mask_elements(&good) == 2 && dropout_shape_elements(&good) == 8,
          "shape counts");
    dropout_shape empty = {3, {4, 0, 5}, DROPOUT_BROADCAST_DIM(0)};
    CHECK_OK(dropout_shaped_forward(&ok, std, f32, &empty, NULL, NULL, NULL, 0));
    CHECK(dropout_shape_elements(&empty) == 0 && dropout_shape_mask_elements(&empty) == 0,
          "empty shape counts");
}

int main(void)
{
    test_rng rng = {31337};
    check_errors();
    check_channel_slices();
    const double ps[] = {0.0, 0.1, 0.5, 0.97, 1.0, 1e-10};
    char label[64];
    for (int trial = 0; trial < 150; trial++) {
        dropout_shape shape = random_shape(&rng);
        double p = ps[trial % 6];
        snprintf(label, sizeof label, "random shape #%d (ndim %zu, broadcast 0x%x)", trial,
                 shape.ndim, shape.broadcast);
        for (int dti = 0; dti < 4; dti++) {
            check_shape(&shape, dti, DROPOUT_VARIANT_STANDARD, p, &rng, label);
            check_shape(&shape, dti, DROPOUT_VARIANT_ALPHA, p, &rng, label);
            if (p < 1.0)
                check_gaussian_shape(&shape, dti, p, &rng);
        }
    }
    /* the named layouts, large enough to be split over threads */
    const dropout_shape named[] = {
        {3, {8, 64, FAMILY_BIG(1000)}, DROPOUT_BROADCAST_DIM(2)},           /* channel (1d) */
        {4, {4, 16, 33, FAMILY_BIG(250)}, DROPOUT_BROADCAST_DIM(2) | DROPOUT_BROADCAST_DIM(3)},
        {2, {64, FAMILY_BIG(8192)}, DROPOUT_BROADCAST_DIM(1)},              /* drop path */
        {3, {16, 64, FAMILY_BIG(500)}, DROPOUT_BROADCAST_DIM(0)},           /* time-locked */
        {3, {3, 5, 70001}, DROPOUT_BROADCAST_DIM(1)},                       /* odd, mixed */
        {3, {128, 64, 16}, DROPOUT_BROADCAST_DIM(2)},       /* short runs, whole bytes */
        {3, {3, 1001, 24}, DROPOUT_BROADCAST_DIM(2)},       /* runs of 3 bytes, odd pieces */
        {2, {8, 65536}, DROPOUT_BROADCAST_DIM(1)},          /* runs longer than a piece */
        {3, {4, 4096, 8}, DROPOUT_BROADCAST_DIM(2)},        /* runs of one byte */
    };
    for (unsigned threads = 1; threads <= 4; threads += 3) {
        dropout_set_threads(threads);
        for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
            snprintf(label, sizeof label, "layout %zu, %u threads", i, threads);
            check_shape(&named[i], 0, DROPOUT_VARIANT_STANDARD, 0.3, &rng, label);
            check_shape(&named[i], 2, DROPOUT_VARIANT_ALPHA, 0.2, &rng, label);
            check_gaussian_shape(&named[i], 0, 0.25, &rng);
        }
    }
    dropout_set_threads(0);
    return test_exit_code("test_family_broadcast");
}
