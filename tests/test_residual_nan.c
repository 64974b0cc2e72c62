/*
 * test_residual_nan.c — the fused bias + dropout + residual op gives the same
 * NaN on every path (docs/SPEC.md section 7): any NaN in y or dbias is the
 * canonical quiet NaN (f32 0x7FC00000, f64 0x7FF8000000000000, bf16 0x7FC0,
 * f16 0x7E00), whatever payloads x, bias, residual, dy carry — for every
 * kernel variant this machine runs, for each dtype, kept and dropped
 * elements, heads and tails of the SIMD loops (rows of an odd length).  The
 * CI matrix runs it in every build type (gcc, clang, Debug, sanitizers).
 */
#include "test_util.h"

#define D 37    /* odd: SIMD tails in every row */
#define ROWS 96
#define N (D * ROWS)

/* Distinct NaN payloads, quiet and signaling, both signs. */
static const uint32_t nan32[] = {0x7FC00001u, 0xFFC12345u, 0x7F800123u, 0xFFA00000u};
static const uint64_t nan64[] = {0x7FF8000000000001ull, 0xFFF8123456789ABCull,
                                 0x7FF0000000000123ull, 0xFFF4000000000000ull};
static const uint16_t nanbf16[] = {0x7FC1u, 0xFFC5u, 0x7F81u, 0xFFA0u};
static const uint16_t nanf16[] = {0x7E01u, 0xFE15u, 0x7C01u, 0xFD00u};

static size_t elem_size(int dtype)
{
    return dtype == DROPOUT_DTYPE_F64 ? 8 : dtype == DROPOUT_DTYPE_F32 ? 4 : 2;
}

/* Element k of a buffer of `dtype`, as raw bits. */
static uint64_t raw(int dtype, const uint8_t *buf, size_t k)
{
    uint64_t v = 0;
    memcpy(&v, buf + k * elem_size(dtype), elem_size(dtype));
    return v;
}

static int is_nan(int dtype, uint64_t v)
{
    switch (dtype) {
    case DROPOUT_DTYPE_F32: return (v & 0x7FFFFFFFu) > 0x7F800000u;
    case DROPOUT_DTYPE_F64: return (v & 0x7FFFFFFFFFFFFFFFull) > 0x7FF0000000000000ull;
    case DROPOUT_DTYPE_BF16: return (v & 0x7FFFu) > 0x7F80u;
    default: return (v & 0x7FFFu) > 0x7C00u;
    }
}

static uint64_t canonical(int dtype)
{
    switch (dtype) {
    case DROPOUT_DTYPE_F32: return 0x7FC00000u;
    case DROPOUT_DTYPE_F64: return 0x7FF8000000000000ull;
    case DROPOUT_DTYPE_BF16: return 0x7FC0u;
    default: return 0x7E00u;
    }
}

/* A value of `dtype`: NaN number `which` (0 ... 3), +Inf (4), -Inf (5), or
 * the finite 1.5 + k / 64 (6). */
static void put(int dtype, uint8_t *buf, size_t k, int which, size_t salt)
{
    uint64_t v;
    if (which < 4) {
        v = dtype == DROPOUT_DTYPE_F32    ? nan32[which]
            : dtype == DROPOUT_DTYPE_F64  ? nan64[which]
            : dtype == DROPOUT_DTYPE_BF16 ? nanbf16[which]
                                          : nanf16[which];
    } else if (which < 6) {
        const int neg = which == 5;
        v = dtype == DROPOUT_DTYPE_F32    ? (neg ? 0xFF800000u : 0x7F800000u)
            : dtype == DROPOUT_DTYPE_F64  ? (neg ? 0xFFF0000000000000ull : 0x7FF0000000000000ull)
            : dtype == DROPOUT_DTYPE_BF16 ? (neg ? 0xFF80u : 0x7F80u)
                                          : (neg ? 0xFC00u : 0x7C00u);
    } else {
        float f = 1.5f + (float)(salt % 64) / 64.0f;
        double d = f;
        uint32_t fb = bits_f32(f);
        v = dtype == DROPOUT_DTYPE_F32    ? fb
            : dtype == DROPOUT_DTYPE_F64  ? bits_f64(d)
            : dtype == DROPOUT_DTYPE_BF16 ? dropout_bf16_from_f32(f)
                                          : dropout_f16_from_f32(f);
    }
    memcpy(buf + k * elem_size(dtype), &v, elem_size(dtype));
}

int main(void)
{
    static const char *const isas[] = {"scalar", "avx2", "avx512", "neon"};
    static const int dtypes[] = {DROPOUT_DTYPE_F32, DROPOUT_DTYPE_F64, DROPOUT_DTYPE_BF16,
                                 DROPOUT_DTYPE_F16};
    static const char *const dtype_name[] = {"f32", "f64", "bf16", "f16"};
    const dropout_params params = {.p = 0.5, .seed = 3, .stream = 9, .first = 0,
                                   .mode = DROPOUT_TRAIN};
    uint8_t *x = test_malloc(N * 8), *bias = test_malloc(D * 8), *residual = test_malloc(N * 8);
    uint8_t *dy = test_malloc(N * 8), *y = test_malloc(N * 8), *dx = test_malloc(N * 8);
    uint8_t *dbias = test_malloc(D * 8), *first_y = test_malloc(N * 8);
    uint8_t *first_dbias = test_malloc(D * 8);
    uint8_t *mask = test_malloc(dropout_mask_bytes(N));
    long nans_seen = 0;
    char tested[64] = "";
    for (size_t t = 0; t < 4; t++) {
        const int dtype = dtypes[t];
        test_rng rng = {17 + t};
        /* x, bias, residual: each NaN (one of 4 payloads), +-Inf or finite,
         * chosen per element, so every combination occurs, kept and dropped */
        for (size_t k = 0; k < N; k++) {
            put(dtype, x, k, (int)test_rng_below(&rng, 7), k);
            put(dtype, residual, k, (int)test_rng_below(&rng, 7), k + 1);
            put(dtype, dy, k, test_rng_below(&rng, 8) == 0 ? (int)test_rng_below(&rng, 4) : 6, k);
        }
        for (size_t j = 0; j < D; j++)
            put(dtype, bias, j, (int)test_rng_below(&rng, 7), j + 2);
        int first = 1;
        for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
            if (dropout_set_isa(isas[i]) != DROPOUT_OK)
                continue; /* not on this machine (the list printed says what ran) */
            if (t == 0) {
                strcat(tested, " ");
                strcat(tested, isas[i]);
            }
            CHECK_OK(dropout_bias_residual_forward(&params, dtype, y, x, bias, residual, N, D,
                                                   mask, dropout_mask_bytes(N)));
            CHECK_OK(dropout_bias_residual_backward_mask(&params, dtype, dx, dbias, NULL, dy, N,
                                                         D, mask, dropout_mask_bytes(N)));
            size_t wrong = 0, first_wrong = 0;
            for (size_t k = 0; k < N; k++) {
                uint64_t v = raw(dtype, y, k);
                if (is_nan(dtype, v)) {
                    nans_seen++;
                    if (v != canonical(dtype) && wrong++ == 0)
                        first_wrong = k;
                }
            }
            CHECK(wrong == 0, "%s %s forward: %zu NaNs of y not canonical, first y[%zu] = 0x%" PRIx64
                  " (x 0x%" PRIx64 ", bias 0x%" PRIx64 ", residual 0x%" PRIx64 ")", isas[i],
                  dtype_name[t], wrong, first_wrong, raw(dtype, y, first_wrong),
                  raw(dtype, x, first_wrong), raw(dtype, bias, first_wrong % D),
                  raw(dtype, residual, first_wrong));
            wrong = 0;
            for (size_t j = 0; j < D; j++) {
                uint64_t v = raw(dtype, dbias, j);
                if (is_nan(dtype, v)) {
                    nans_seen++;
                    wrong += v != canonical(dtype);
                }
            }
            CHECK(wrong == 0, "%s %s backward: %zu NaNs of dbias not canonical", isas[i],
                  dtype_name[t], wrong);
            if (first) {
                memcpy(first_y, y, N * elem_size(dtype));
                memcpy(first_dbias, dbias, D * elem_size(dtype));
                first = 0;
            } else {
                CHECK(memcmp(first_y, y, N * elem_size(dtype)) == 0, "%s %s: y differs from scalar",
                      isas[i], dtype_name[t]);
                CHECK(memcmp(first_dbias, dbias, D * elem_size(dtype)) == 0,
                      "%s %s: dbias differs from scalar", isas[i], dtype_name[t]);
            }
        }
    }
    CHECK(nans_seen > 1000, "only %ld NaN results: the inputs do not test the rule", nans_seen);
    printf("test_residual_nan: f32 f64 bf16 f16, %d x %d, %ld NaN results checked; kernels:%s\n", ROWS,
           D, nans_seen, tested);
    free(x), free(bias), free(residual), free(dy), free(y), free(dx), free(dbias);
    free(first_y), free(first_dbias), free(mask);
    return test_exit_code("test_residual_nan");
}
