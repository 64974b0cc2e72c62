/*
 * test_fpenv.c — every call computes in the IEEE default floating-point mode,
 * whatever the caller's (include/dropout.h, "Floating-point environment").
 *
 * Each operation runs once in the default mode (the reference), then with the
 * caller in flush-to-zero, denormals-are-zero (FZ on AArch64), each rounding
 * mode of fesetround and a combination, on 1 and 2 threads, with every kernel
 * variant this machine runs: the output bytes must equal the reference's, and
 * the caller's mode must be as it was after the call.  The inputs are
 * subnormal in a quarter of the elements and tiny in another (products that
 * become subnormal), and p = 1/3 makes the scale inexact (a rounding mode
 * changes it); 2^20 elements, so 2 threads split every call.
 */
#include <fenv.h>

#include "test_util.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

/* Sanitizer builds run many times slower; 2^17 elements still split. */
#ifdef DROPOUT_TEST_SANITIZE
#define N ((size_t)1 << 17)
#else
#define N ((size_t)1 << 20)
#endif
#define D 1000 /* row length of the fused op */

/* ---- the caller's modes ----------------------------------------------------- */

enum { FTZ = 1, DAZ = 2 };

typedef struct fp_mode {
    const char *name;
    int flush;    /* FTZ | DAZ (AArch64: FPCR.FZ for either) */
    int rounding; /* an FE_ rounding mode                    */
} fp_mode;

static const fp_mode modes[] = {
    {"FTZ", FTZ, FE_TONEAREST},
    {"DAZ", DAZ, FE_TONEAREST},
    {"FTZ+DAZ", FTZ | DAZ, FE_TONEAREST},
    {"FE_UPWARD", 0, FE_UPWARD},
    {"FE_DOWNWARD", 0, FE_DOWNWARD},
    {"FE_TOWARDZERO", 0, FE_TOWARDZERO},
    {"FTZ+DAZ+FE_UPWARD", FTZ | DAZ, FE_UPWARD},
};
#define MODE_COUNT (sizeof modes / sizeof modes[0])

/* The flush bits of the control register, as this test reads them. */
static unsigned flush_bits(void)
{
#if defined(__x86_64__) || defined(__i386__)
    return _mm_getcsr() & 0x8040u; /* FTZ bit 15, DAZ bit 6 */
#elif defined(__aarch64__)
    uint64_t fpcr;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
    return (unsigned)(fpcr >> 24) & 1u;
#else
    return 0;
#endif
}

static void set_flush(int flush)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned csr = _mm_getcsr() & ~0x8040u;
    if (flush & FTZ)
        csr |= 0x8000u;
    if (flush & DAZ)
        csr |= 0x0040u;
    _mm_setcsr(csr);
#elif defined(__aarch64__)
    uint64_t fpcr;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
    fpcr = flush ? fpcr | ((uint64_t)1 << 24) : fpcr & ~((uint64_t)1 << 24);
    __asm__ __volatile__("msr fpcr, %0" : : "r"(fpcr));
#else
    REQUIRE(flush == 0, "no FTZ/DAZ control on this architecture");
#endif
}

/* ---- inputs ------------------------------------------------------------------ */

static float *x32, *bias32, *residual32, *dy32;
static double *x64, *dy64;
static uint16_t *xbf16, *xf16;
static uint8_t *mask_in; /* the forward's mask at p = 1/3, for the backward */

static float input_f32(test_rng *rng, size_t k)
{
    uint32_t r = (uint32_t)test_rng_next(rng);
    switch (k % 4) {
    case 0: /* subnormal, either sign */
        return f32_from_bits(r & 0x807FFFFFu);
    case 1: /* tiny normal: times the scale or plus a tiny bias, often subnormal */
        return f32_from_bits((r & 0x807FFFFFu) | 0x00800000u) * (k % 8 == 1 ? 1.0f : -1.0f);
    default:
        return (float)(test_rng_unit(rng) * 8.0 - 4.0);
    }
}

static double input_f64(test_rng *rng, size_t k)
{
    uint64_t r = test_rng_next(rng);
    switch (k % 4) {
    case 0:
        return f64_from_bits(r & 0x800FFFFFFFFFFFFFull);
    case 1:
        return f64_from_bits((r & 0x800FFFFFFFFFFFFFull) | 0x0010000000000000ull);
    default:
        return test_rng_unit(rng) * 8.0 - 4.0;
    }
}

static void make_inputs(void)
{
    test_rng rng = {20260101};
    x32 = test_malloc(N * sizeof *x32);
    residual32 = test_malloc(N * sizeof *residual32);
    dy32 = test_malloc(N * sizeof *dy32);
    x64 = test_malloc(N * sizeof *x64);
    dy64 = test_malloc(N * sizeof *dy64);
    xbf16 = test_malloc(N * sizeof *xbf16);
    xf16 = test_malloc(N * sizeof *xf16);
    bias32 = test_malloc(D * sizeof *bias32);
    for (size_t k = 0; k < N; k++) {
        x32[k] = input_f32(&rng, k);
        residual32[k] = input_f32(&rng, k + 1);
        dy32[k] = input_f32(&rng, k);
        x64[k] = input_f64(&rng, k);
        dy64[k] = input_f64(&rng, k);
        /* bf16: the high half of an f32 (subnormal ones included); f16:
         * subnormal below 0x0400 */
        xbf16[k] = (uint16_t)(bits_f32(x32[k]) >> 16);
        xf16[k] = (uint16_t)(k % 4 == 0 ? test_rng_next(&rng) & 0x83FFu
                                        : test_rng_next(&rng) & 0xBFFFu);
    }
    for (size_t j = 0; j < D; j++)
        bias32[j] = input_f32(&rng, j + 2);
    mask_in = test_malloc(dropout_mask_bytes(N));
    dropout_params params = {.p = 1.0 / 3.0, .seed = 7, .stream = 1, .first = 0,
                             .mode = DROPOUT_TRAIN};
    REQUIRE(dropout_mask(&params, N, mask_in, dropout_mask_bytes(N)) == DROPOUT_OK, "mask");
}

/* ---- the operations: each writes its outputs into `out` ---------------------- */

static const dropout_params train = {.p = 1.0 / 3.0, .seed = 7, .stream = 1, .first = 0,
                                     .mode = DROPOUT_TRAIN};
#define MASK_BYTES (((N) + 7) / 8)

static int op_forward_f32(uint8_t *out)
{
    return dropout_forward_f32(&train, (float *)out, x32, N, out + N * 4, MASK_BYTES);
}

static int op_forward_f64(uint8_t *out)
{
    return dropout_forward_f64(&train, (double *)out, x64, N, out + N * 8, MASK_BYTES);
}

static int op_backward_mask_f32(uint8_t *out)
{
    return dropout_backward_mask_f32(&train, (float *)out, dy32, N, mask_in, MASK_BYTES);
}

static int op_backward_regen_f64(uint8_t *out)
{
    return dropout_backward_regen_f64(&train, (double *)out, dy64, N);
}

static int op_forward_bf16(uint8_t *out)
{
    return dropout_forward_bf16(&train, (uint16_t *)out, xbf16, N, out + N * 2, MASK_BYTES);
}

static int op_forward_f16(uint8_t *out)
{
    return dropout_forward_f16(&train, (uint16_t *)out, xf16, N, out + N * 2, MASK_BYTES);
}

static int op_alpha_f32(uint8_t *out)
{
    dropout_shape shape = {2, {N / 64, 64}, DROPOUT_BROADCAST_DIM(1)};
    return dropout_shaped_forward(&train, DROPOUT_VARIANT_ALPHA, DROPOUT_DTYPE_F32, &shape,
                                  out, x32, NULL, 0);
}

static int op_gaussian_f32(uint8_t *out)
{
    dropout_shape shape = {1, {N}, 0};
    return dropout_shaped_forward(&train, DROPOUT_VARIANT_GAUSSIAN, DROPOUT_DTYPE_F32, &shape,
                                  out, x32, NULL, 0);
}

static int op_residual_forward_f32(uint8_t *out)
{
    size_t n = N / D * D;
    return dropout_bias_residual_forward(&train, DROPOUT_DTYPE_F32, out, x32, bias32,
                                         residual32, n, D, NULL, 0);
}

static int op_residual_backward_f64(uint8_t *out)
{
    size_t n = N / D * D;
    return dropout_bias_residual_backward_regen(&train, DROPOUT_DTYPE_F64, out,
                                                out + n * 8, NULL, dy64, n, D);
}

/* T and single keep bits for p whose (1 - p) * 2^32 + 0.5 is inexact. */
static const double threshold_p[] = {1.0 / 3.0, 0.1, 0.7, 1e-300, 4.9e-324, 1.0 - 1e-9};
#define THRESHOLD_COUNT (sizeof threshold_p / sizeof threshold_p[0])

static int op_thresholds(uint8_t *out)
{
    for (size_t k = 0; k < THRESHOLD_COUNT; k++) {
        uint64_t t = dropout_keep_threshold(threshold_p[k]);
        memcpy(out + 8 * k, &t, 8);
        for (unsigned i = 0; i < 64; i++)
            out[8 * THRESHOLD_COUNT + 64 * k + i] =
                (uint8_t)dropout_keep(7, 1, (uint64_t)i * 977, threshold_p[k]);
    }
    return DROPOUT_OK;
}

typedef struct operation {
    const char *name;
    size_t out_bytes;
    int (*run)(uint8_t *out);
} operation;

static const operation operations[] = {
    {"dropout_forward_f32", N * 4 + MASK_BYTES, op_forward_f32},
    {"dropout_forward_f64", N * 8 + MASK_BYTES, op_forward_f64},
    {"dropout_backward_mask_f32", N * 4, op_backward_mask_f32},
    {"dropout_backward_regen_f64", N * 8, op_backward_regen_f64},
    {"dropout_forward_bf16", N * 2 + MASK_BYTES, op_forward_bf16},
    {"dropout_forward_f16", N * 2 + MASK_BYTES, op_forward_f16},
    {"dropout_shaped_forward alpha f32", N * 4, op_alpha_f32},
    {"dropout_shaped_forward gaussian f32", N * 4, op_gaussian_f32},
    {"dropout_bias_residual_forward f32", N / D * D * 4, op_residual_forward_f32},
    {"dropout_bias_residual_backward_regen f64", N / D * D * 8 + D * 8, op_residual_backward_f64},
    {"dropout_keep_threshold, dropout_keep", THRESHOLD_COUNT * (8 + 64), op_thresholds},
};
#define OPERATION_COUNT (sizeof operations / sizeof operations[0])

static size_t differing_bytes(const uint8_t *a, const uint8_t *b, size_t bytes)
{
    size_t count = 0;
    for (size_t k = 0; k < bytes; k++)
        count += a[k] != b[k];
    return count;
}

int main(void)
{
    make_inputs();
    static const char *const isas[] = {"scalar", "avx2", "avx512", "neon"};
    uint8_t *reference[OPERATION_COUNT];
    size_t largest = 0;
    for (size_t o = 0; o < OPERATION_COUNT; o++)
        largest = operations[o].out_bytes > largest ? operations[o].out_bytes : largest;
    uint8_t *out = test_malloc(largest);

    /* The reference: default mode, scalar kernels, one thread. */
    REQUIRE(dropout_set_isa("scalar") == DROPOUT_OK, "scalar");
    REQUIRE(dropout_set_threads(1) == DROPOUT_OK, "1 thread");
    REQUIRE(flush_bits() == 0 && fegetround() == FE_TONEAREST, "the test starts in the default mode");
    for (size_t o = 0; o < OPERATION_COUNT; o++) {
        reference[o] = test_malloc(operations[o].out_bytes);
        memset(reference[o], 0, operations[o].out_bytes);
        REQUIRE(operations[o].run(reference[o]) == DROPOUT_OK, "%s", operations[o].name);
    }

    char tested[64] = "";
    for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
        if (dropout_set_isa(isas[i]) != DROPOUT_OK)
            continue; /* not on this machine (listed below: what ran) */
        strcat(tested, " ");
        strcat(tested, isas[i]);
        for (unsigned threads = 1; threads <= 2; threads++) {
            REQUIRE(dropout_set_threads(threads) == DROPOUT_OK, "threads");
            for (size_t m = 0; m < MODE_COUNT; m++) {
                for (size_t o = 0; o < OPERATION_COUNT; o++) {
                    const operation *op = &operations[o];
                    memset(out, 0, op->out_bytes);
                    set_flush(modes[m].flush);
                    REQUIRE(fesetround(modes[m].rounding) == 0, "fesetround");
                    const unsigned flush_before = flush_bits();
                    int status = op->run(out);
                    const unsigned flush_after = flush_bits();
                    const int rounding_after = fegetround();
                    set_flush(0);
                    fesetround(FE_TONEAREST);
                    CHECK(status == DROPOUT_OK, "%s under %s: %s", op->name, modes[m].name,
                          dropout_status_string(status));
                    size_t diff = differing_bytes(out, reference[o], op->out_bytes);
                    CHECK(diff == 0, "%s, %s, %u thread(s), caller in %s: %zu of %zu bytes "
                          "differ from the default-mode result", op->name, isas[i], threads,
                          modes[m].name, diff, op->out_bytes);
                    CHECK(flush_after == flush_before && rounding_after == modes[m].rounding,
                          "%s under %s: the caller's mode was not restored", op->name,
                          modes[m].name);
                }
            }
        }
    }
    printf("test_fpenv: %zu operations x %zu caller modes x 1 and 2 threads, n = %zu; "
           "kernels:%s\n", OPERATION_COUNT, MODE_COUNT, N, tested);
    for (size_t o = 0; o < OPERATION_COUNT; o++)
        free(reference[o]);
    free(out);
    return test_exit_code("test_fpenv");
}
