/*
 * test_family_residual.c — fused y = residual + dropout(x + bias) (issue 5
 * item 5) against the unfused composition through the public API:
 *     t = x + bias (rounded to the dtype), u = dropout_forward_<dtype>(t),
 *     y = residual + u (rounded),
 * bit for bit (a NaN may be any NaN: which operand's payload an add keeps is
 * the compiler's choice), with the same mask; the backward against
 * dropout_backward_mask_<dtype>, column sums in double in row order, and
 * dresidual = dy.  Every dtype, p in {0, tiny, 0.1, 0.5, 1}, eval mode,
 * in-place, row lengths that do not divide 8, 1 and 4 threads, errors.
 */
#include "family_util.h"

static const int dtypes[] = {DROPOUT_DTYPE_F32, DROPOUT_DTYPE_F64, DROPOUT_DTYPE_BF16,
                             DROPOUT_DTYPE_F16};
static const char *dtype_names[] = {"f32", "f64", "bf16", "f16"};

static double load(int dtype, const void *buf, size_t k)
{
    switch (dtype) {
    case DROPOUT_DTYPE_F32: return ((const float *)buf)[k];
    case DROPOUT_DTYPE_F64: return ((const double *)buf)[k];
    case DROPOUT_DTYPE_BF16: return dropout_f32_from_bf16(((const uint16_t *)buf)[k]);
    default: return dropout_f32_from_f16(((const uint16_t *)buf)[k]);
    }
}

/* a + b in the dtype: f64 in double, the others in f32 rounded to the dtype. */
static void add_elements(int dtype, void *out, size_t k, const void *a, size_t ka,
                         const void *b, size_t kb)
{
    switch (dtype) {
    case DROPOUT_DTYPE_F32:
        ((float *)out)[k] = ((const float *)a)[ka] + ((const float *)b)[kb];
        break;
    case DROPOUT_DTYPE_F64:
        ((double *)out)[k] = ((const double *)a)[ka] + ((const double *)b)[kb];
        break;
    case DROPOUT_DTYPE_BF16:
        ((uint16_t *)out)[k] = dropout_bf16_from_f32((float)load(dtype, a, ka) +
                                                     (float)load(dtype, b, kb));
        break;
    default:
        ((uint16_t *)out)[k] = dropout_f16_from_f32((float)load(dtype, a, ka) +
                                                    (float)load(dtype, b, kb));
        break;
    }
}

static void store_sum(int dtype, void *out, size_t k, double sum)
{
    switch (dtype) {
    case DROPOUT_DTYPE_F32: ((float *)out)[k] = (float)sum; break;
    case DROPOUT_DTYPE_F64: ((double *)out)[k] = sum; break;
    case DROPOUT_DTYPE_BF16: ((uint16_t *)out)[k] = dropout_bf16_from_f32((float)sum); break;
    default: ((uint16_t *)out)[k] = dropout_f16_from_f32((float)sum); break;
    }
}

static int forward_dtype(int dtype, const dropout_params *params, void *y, const void *x,
                         size_t n, uint8_t *mask, size_t bytes)
{
    switch (dtype) {
    case DROPOUT_DTYPE_F32: return dropout_forward_f32(params, y, x, n, mask, bytes);
    case DROPOUT_DTYPE_F64: return dropout_forward_f64(params, y, x, n, mask, bytes);
    case DROPOUT_DTYPE_BF16: return dropout_forward_bf16(params, y, x, n, mask, bytes);
    default: return dropout_forward_f16(params, y, x, n, mask, bytes);
    }
}

static int backward_dtype(int dtype, const dropout_params *params, void *dx, const void *dy,
                          size_t n, const uint8_t *mask, size_t bytes)
{
    switch (dtype) {
    case DROPOUT_DTYPE_F32: return dropout_backward_mask_f32(params, dx, dy, n, mask, bytes);
    case DROPOUT_DTYPE_F64: return dropout_backward_mask_f64(params, dx, dy, n, mask, bytes);
    case DROPOUT_DTYPE_BF16: return dropout_backward_mask_bf16(params, dx, dy, n, mask, bytes);
    default: return dropout_backward_mask_f16(params, dx, dy, n, mask, bytes);
    }
}

static long count_different(int dtype, const void *a, const void *b, size_t n)
{
    size_t size = dropout_dtype_size(dtype);
    long bad = 0;
    for (size_t k = 0; k < n; k++) {
        if (memcmp((const char *)a + k * size, (const char *)b + k * size, size) == 0)
            continue;
        double va = load(dtype, a, k), vb = load(dtype, b, k);
        bad += !(isnan(va) && isnan(vb));
    }
    return bad;
}

static void fill(int dtype, void *buf, size_t n, test_rng *rng)
{
    for (size_t k = 0; k < n; k++) {
        double v = (test_rng_unit(rng) - 0.5) * 10.0;
        if (test_rng_below(rng, 100) == 0)
            v = test_rng_below(rng, 3) == 0 ? NAN : test_rng_below(rng, 2) ? -0.0 : INFINITY;
        store_sum(dtype, buf, k, v);
    }
}

static void check_case(int dti, double p, int mode, size_t rows, size_t d, test_rng *rng)
{
    const int dtype = dtypes[dti];
    const size_t size = dropout_dtype_size(dtype), n = rows * d, bytes = dropout_mask_bytes(n);
    dropout_params params = {.p = p, .seed = test_rng_next(rng), .stream = test_rng_next(rng),
                             .first = test_rng_below(rng, 3) * 8, .mode = mode};
    void *x = test_malloc(n * size), *bias = test_malloc(d * size), *res = test_malloc(n * size);
    void *y = test_malloc(n * size), *t = test_malloc(n * size), *u = test_malloc(n * size);
    void *expect = test_malloc(n * size), *dx = test_malloc(n * size);
    void *dres = test_malloc(n * size), *dbias = test_malloc(d * size);
    void *dbias_ref = test_malloc(d * size);
    uint8_t *mask = test_malloc(bytes), *mask_ref = test_malloc(bytes);
    fill(dtype, x, n, rng);
    fill(dtype, bias, d, rng);
    fill(dtype, res, n, rng);
    memset(mask, 0, bytes);
    memset(mask_ref, 0, bytes);

    /* unfused */
    for (size_t k = 0; k < n; k++)
        add_elements(dtype, t, k, x, k, bias, k % d);
    CHECK_OK(forward_dtype(dtype, &params, u, t, n, mask_ref, bytes));
    for (size_t k = 0; k < n; k++)
        add_elements(dtype, expect, k, res, k, u, k);
    /* fused */
    CHECK_OK(dropout_bias_residual_forward(&params, dtype, y, x, bias, res, n, d, mask, bytes));
    long bad = count_different(dtype, y, expect, n);
    CHECK(bad == 0, "%s p=%g mode=%d rows=%zu d=%zu: %ld elements differ from unfused",
          dtype_names[dti], p, mode, rows, d, bad);
    if (mode == DROPOUT_TRAIN)
        CHECK(memcmp(mask, mask_ref, bytes) == 0, "%s p=%g: mask differs", dtype_names[dti], p);
    /* in place: y == x, then y == residual */
    memcpy(dx, x, n * size);
    CHECK_OK(dropout_bias_residual_forward(&params, dtype, dx, dx, bias, res, n, d, NULL, 0));
    CHECK(count_different(dtype, dx, expect, n) == 0, "%s: in place on x differs",
          dtype_names[dti]);
    memcpy(dx, res, n * size);
    CHECK_OK(dropout_bias_residual_forward(&params, dtype, dx, x, bias, dx, n, d, NULL, 0));
    CHECK(count_different(dtype, dx, expect, n) == 0, "%s: in place on residual differs",
          dtype_names[dti]);

    /* backward, dy = x: dx = dropout backward, dbias = column sums, dresidual = dy */
    CHECK_OK(backward_dtype(dtype, &params, expect, x, n, mask_ref, bytes));
    for (size_t j = 0; j < d; j++) {
        double sum = 0.0;
        for (size_t r = 0; r < rows; r++)
            sum += load(dtype, expect, r * d + j);
        store_sum(dtype, dbias_ref, j, sum);
    }
    for (int regen = 0; regen <= 1; regen++) {
        memset(dx, 0x11, n * size);
        memset(dres, 0x22, n * size);
        memset(dbias, 0x33, d * size);
        if (regen)
            CHECK_OK(dropout_bias_residual_backward_regen(&params, dtype, dx, dbias, dres, x, n,
                                                          d));
        else
            CHECK_OK(dropout_bias_residual_backward_mask(&params, dtype, dx, dbias, dres, x, n, d,
                                                         mask, bytes));
        CHECK(count_different(dtype, dx, expect, n) == 0, "%s p=%g: backward dx differs",
              dtype_names[dti], p);
        CHECK(count_different(dtype, dbias, dbias_ref, d) == 0, "%s p=%g: dbias differs",
              dtype_names[dti], p);
        CHECK(memcmp(dres, x, n * size) == 0, "%s: dresidual is not dy", dtype_names[dti]);
    }
    /* in place dx == dy, dresidual NULL */
    memcpy(dres, x, n * size);
    CHECK_OK(dropout_bias_residual_backward_mask(&params, dtype, dres, dbias, NULL, dres, n, d,
                                                 mask, bytes));
    CHECK(count_different(dtype, dres, expect, n) == 0, "%s: in-place backward differs",
          dtype_names[dti]);
    free(x), free(bias), free(res), free(y), free(t), free(u), free(expect), free(dx);
    free(dres), free(dbias), free(dbias_ref), free(mask), free(mask_ref);
}

static void check_errors(void)
{
    float x[12] = {0}, y[12], bias[4] = {0}, res[12] = {0};
    memset(y, 0x7E, sizeof y);
    dropout_params ok = {.p = 0.5};
    const int f32 = DROPOUT_DTYPE_F32;
    CHECK_STATUS(dropout_bias_residual_forward(&ok, f32, y, x, bias, res, 12, 0, NULL, 0),
                 DROPOUT_ERROR_INVALID_SHAPE);
    CHECK_STATUS(dropout_bias_residual_forward(&ok, f32, y, x, bias, res, 12, 5, NULL, 0),
                 DROPOUT_ERROR_INVALID_SHAPE);
    CHECK_STATUS(dropout_bias_residual_forward(&ok, 4, y, x, bias, res, 12, 4, NULL, 0),
                 DROPOUT_ERROR_INVALID_DTYPE);
    CHECK_STATUS(dropout_bias_residual_forward(&ok, f32, y, x, NULL, res, 12, 4, NULL, 0),
                 DROPOUT_ERROR_NULL_POINTER);
    CHECK_STATUS(dropout_bias_residual_forward(&ok, f32, y, x, y + 2, res, 12, 4, NULL, 0),
                 DROPOUT_ERROR_OVERLAP);
    CHECK_STATUS(dropout_bias_residual_forward(&ok, f32, y, x, bias, y + 1, 12, 4, NULL, 0),
                 DROPOUT_ERROR_OVERLAP);
    uint8_t mask[1];
    CHECK_STATUS(dropout_bias_residual_forward(&ok, f32, y, x, bias, res, 12, 4, mask, 1),
                 DROPOUT_ERROR_MASK_TOO_SMALL);
    int untouched = 1;
    for (int k = 0; k < 12; k++)
        untouched &= bits_f32(y[k]) == 0x7E7E7E7Eu;
    CHECK(untouched, "an error wrote to y");
    float dx[12], dres[12], dbias[4];
    CHECK_STATUS(dropout_bias_residual_backward_regen(&ok, f32, dx, dbias, dx, x, 12, 4),
                 DROPOUT_ERROR_OVERLAP);
    CHECK_STATUS(dropout_bias_residual_backward_regen(&ok, f32, dx, dx + 1, dres, x, 12, 4),
                 DROPOUT_ERROR_OVERLAP);
    CHECK_OK(dropout_bias_residual_forward(&ok, f32, NULL, NULL, NULL, NULL, 0, 0, NULL, 0));
}

int main(void)
{
    test_rng rng = {4242};
    check_errors();
    const double ps[] = {0.0, 1e-10, 0.1, 0.5, 1.0};
    const size_t shapes[][2] = {{1, 1}, {3, 7}, {5, 64}, {17, 33}, {2, 1000}, {40, 13}};
    for (int dti = 0; dti < 4; dti++) {
        for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
            for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
                check_case(dti, ps[i], DROPOUT_TRAIN, shapes[s][0], shapes[s][1], &rng);
        check_case(dti, 0.3, DROPOUT_EVAL, 9, 31, &rng);
    }
    for (unsigned threads = 1; threads <= 4; threads += 3) {
        dropout_set_threads(threads);
        for (int dti = 0; dti < 4; dti++)
            check_case(dti, 0.25, DROPOUT_TRAIN, FAMILY_BIG(300), 1027, &rng);
    }
    dropout_set_threads(0);
    return test_exit_code("test_family_residual");
}
