/*
 * test_family_half.c — bf16 and f16 dropout (issue 5 item 1).
 *
 * 1. The conversions against a reference that rounds by searching the
 *    format's values in double (every f16 and bf16 pattern round-trips;
 *    random, tie and overflow-edge floats round to nearest-even).
 * 2. forward / backward_mask / backward_regen in bf16 and f16: the mask is
 *    byte for byte the f32 mask of the same params, and every kept element is
 *    (float)x * s_f32 rounded once (SPEC section 1), dropped ones +0, NaN stays
 *    NaN; p == 0 copies bitwise, p == 1 gives zeros, eval is the identity,
 *    slices equal the whole, in-place equals out-of-place; on every ISA
 *    variant this CPU can run and for 1 and 4 threads.
 * 3. Errors write nothing.
 */
#include "family_util.h"

static float random_float(test_rng *rng)
{
    switch (test_rng_below(rng, 8)) {
    case 0: /* any pattern: NaNs, Inf, subnormals included */
        return f32_from_bits((uint32_t)test_rng_next(rng));
    case 1: /* near a bf16 tie: low half 0x8000 +- 1 */
        return f32_from_bits(((uint32_t)test_rng_next(rng) & 0xFFFF0000u) |
                             (0x7FFFu + (uint32_t)test_rng_below(rng, 3)));
    case 2: /* near an f16 tie in the normal range */
        return f32_from_bits((((uint32_t)test_rng_below(rng, 30) + 113u) << 23) |
                             (((uint32_t)test_rng_next(rng) & 0x7FE000u) | 0x1000u) |
                             (uint32_t)test_rng_below(rng, 2));
    case 3: /* f16 subnormal range */
        return (float)((test_rng_unit(rng) - 0.5) * 1.3e-4);
    default:
        return (float)((test_rng_unit(rng) - 0.5) * 200.0);
    }
}

static void check_conversions(void)
{
    long bad = 0;
    for (unsigned h = 0; h < 0x10000; h++) { /* every pattern: exact and back */
        for (int bf16 = 0; bf16 <= 1; bf16++) {
            float f = bf16 ? dropout_f32_from_bf16((uint16_t)h) : dropout_f32_from_f16((uint16_t)h);
            uint16_t back = bf16 ? dropout_bf16_from_f32(f) : dropout_f16_from_f32(f);
            int nan = half_is_nan((uint16_t)h, bf16);
            if (nan ? !(isnan(f) && half_is_nan(back, bf16) && (back & 0x8000) == (h & 0x8000))
                    : back != h)
                bad++;
            if (!nan && (h & 0x7FFF) < (bf16 ? 0x7F80u : 0x7C00u)) {
                double v = (bf16 ? ref_bf16_value : ref_f16_value)(h & 0x7FFF);
                if ((double)fabsf(f) != v)
                    bad++;
            }
        }
    }
    CHECK(bad == 0, "%ld half patterns do not round-trip or decode wrongly", bad);

    test_rng rng = {11};
    long wrong_bf16 = 0, wrong_f16 = 0;
    for (long k = 0; k < FAMILY_BIG(2000000); k++) {
        float v = random_float(&rng);
        uint16_t b = dropout_bf16_from_f32(v), h = dropout_f16_from_f32(v);
        if (isnan(v)) {
            wrong_bf16 += !half_is_nan(b, 1);
            wrong_f16 += !half_is_nan(h, 0);
            continue;
        }
        if (b != ref_round_half(v, 1)) {
            if (wrong_bf16++ < 3)
                fprintf(stderr, "bf16(%08x) = %04x, reference %04x\n", bits_f32(v), b,
                        ref_round_half(v, 1));
        }
        if (h != ref_round_half(v, 0)) {
            if (wrong_f16++ < 3)
                fprintf(stderr, "f16(%08x) = %04x, reference %04x\n", bits_f32(v), h,
                        ref_round_half(v, 0));
        }
    }
    CHECK(wrong_bf16 == 0 && wrong_f16 == 0, "%ld bf16 and %ld f16 roundings differ",
          wrong_bf16, wrong_f16);
    /* edges by hand */
    CHECK(dropout_f16_from_f32(65519.0f) == 0x7BFF, "65519 -> max f16");
    CHECK(dropout_f16_from_f32(65520.0f) == 0x7C00, "65520 -> Inf");
    CHECK(dropout_f16_from_f32(0x1.0p-25f) == 0x0000, "2^-25 ties to 0");
    CHECK(dropout_f16_from_f32(0x1.8p-25f) == 0x0001, "1.5 * 2^-25 -> smallest subnormal");
    CHECK(dropout_bf16_from_f32(f32_from_bits(0x3F808000u)) == 0x3F80, "tie to even (down)");
    CHECK(dropout_bf16_from_f32(f32_from_bits(0x3F818000u)) == 0x3F82, "tie to even (up)");
    CHECK(dropout_bf16_from_f32(f32_from_bits(0x7F7FFFFFu)) == 0x7F80, "max f32 -> Inf");
    CHECK(dropout_bf16_from_f32(f32_from_bits(0x7F800001u)) == 0x7FC0, "sNaN -> quiet NaN");
}

/* One configuration: n elements of slice `first`, both dtypes. */
static void check_ops(const char *isa, unsigned threads, double p, uint64_t first, size_t n,
                      test_rng *rng)
{
    dropout_params params = {.p = p, .seed = test_rng_next(rng), .stream = test_rng_next(rng),
                             .first = first, .mode = DROPOUT_TRAIN};
    size_t bytes = dropout_mask_bytes(n);
    float *xf = test_malloc(n * sizeof *xf), *yf = test_malloc(n * sizeof *yf);
    uint16_t *x = test_malloc(n * 2), *y = test_malloc(n * 2), *dx = test_malloc(n * 2);
    uint16_t *inplace = test_malloc(n * 2);
    uint8_t *mask32 = test_malloc(bytes + 1), *mask = test_malloc(bytes + 1);
    for (int bf16 = 0; bf16 <= 1; bf16++) {
        const char *name = bf16 ? "bf16" : "f16";
        for (size_t k = 0; k < n; k++) {
            uint16_t h = (uint16_t)test_rng_next(rng);
            if (test_rng_below(rng, 4)) /* mostly ordinary numbers */
                h = bf16 ? dropout_bf16_from_f32(random_float(rng))
                         : dropout_f16_from_f32(random_float(rng));
            x[k] = h;
            xf[k] = bf16 ? dropout_f32_from_bf16(h) : dropout_f32_from_f16(h);
        }
        memset(mask, 0xAB, bytes + 1);
        CHECK_OK(dropout_forward_f32(&params, yf, xf, n, mask32, bytes));
        CHECK_OK((bf16 ? dropout_forward_bf16 : dropout_forward_f16)(&params, y, x, n, mask,
                                                                     bytes));
        CHECK(memcmp(mask, mask32, bytes) == 0 && mask[bytes] == 0xAB,
              "%s %s threads=%u p=%g first=%" PRIu64 " n=%zu: mask differs from f32's", isa,
              name, threads, p, first, n);
        long bad = 0;
        for (size_t k = 0; k < n; k++) {
            uint16_t expect;
            if (p == 0.0)
                expect = x[k];
            else if (!mask_bit(mask32, k))
                expect = 0;
            else
                expect = bf16 ? dropout_bf16_from_f32(yf[k]) : dropout_f16_from_f32(yf[k]);
            int same = half_is_nan(expect, bf16) ? half_is_nan(y[k], bf16) : y[k] == expect;
            if (!same && bad++ < 3)
                fprintf(stderr, "%s %s: y[%zu] = %04x, expected %04x (x %04x)\n", isa, name, k,
                        y[k], expect, x[k]);
        }
        CHECK(bad == 0, "%s %s threads=%u p=%g n=%zu: %ld elements differ", isa, name, threads,
              p, n, bad);
        /* backward, both ways, equals the forward applied to dy */
        CHECK_OK((bf16 ? dropout_backward_mask_bf16 : dropout_backward_mask_f16)(&params, dx, x, n,
                                                                                 mask, bytes));
        CHECK(memcmp(dx, y, n * 2) == 0, "%s %s: backward_mask differs from forward", isa, name);
        CHECK_OK((bf16 ? dropout_backward_regen_bf16 : dropout_backward_regen_f16)(&params, dx, x,
                                                                                   n));
        CHECK(memcmp(dx, y, n * 2) == 0, "%s %s: backward_regen differs from forward", isa, name);
        /* in-place */
        memcpy(inplace, x, n * 2);
        CHECK_OK((bf16 ? dropout_forward_bf16 : dropout_forward_f16)(&params, inplace, inplace, n,
                                                                     NULL, 0));
        CHECK(memcmp(inplace, y, n * 2) == 0, "%s %s: in-place differs", isa, name);
        /* a slice of the call equals that part of the whole */
        if (n > 40) {
            dropout_params slice = params;
            slice.first = first + 13;
            CHECK_OK((bf16 ? dropout_forward_bf16 : dropout_forward_f16)(&slice, dx, x + 13,
                                                                         n - 13, NULL, 0));
            CHECK(memcmp(dx, y + 13, (n - 13) * 2) == 0, "%s %s: slice differs", isa, name);
        }
        /* eval: identity */
        dropout_params eval = params;
        eval.mode = DROPOUT_EVAL;
        CHECK_OK((bf16 ? dropout_forward_bf16 : dropout_forward_f16)(&eval, dx, x, n, mask, 0));
        CHECK(memcmp(dx, x, n * 2) == 0, "%s %s: eval is not the identity", isa, name);
    }
    free(xf), free(yf), free(x), free(y), free(dx), free(inplace), free(mask32), free(mask);
}

static void check_errors(void)
{
    uint16_t x[16] = {0x3F80}, y[16];
    uint8_t mask[2];
    memset(y, 0x5A, sizeof y);
    dropout_params bad_p = {.p = 1.5};
    dropout_params ok = {.p = 0.5};
    CHECK_STATUS(dropout_forward_bf16(&bad_p, y, x, 16, NULL, 0), DROPOUT_ERROR_INVALID_P);
    CHECK_STATUS(dropout_forward_f16(NULL, y, x, 16, NULL, 0), DROPOUT_ERROR_NULL_POINTER);
    CHECK_STATUS(dropout_forward_bf16(&ok, y, NULL, 16, NULL, 0), DROPOUT_ERROR_NULL_POINTER);
    CHECK_STATUS(dropout_forward_f16(&ok, y, x, 16, mask, 1), DROPOUT_ERROR_MASK_TOO_SMALL);
    CHECK_STATUS(dropout_forward_bf16(&ok, x + 1, x, 8, NULL, 0), DROPOUT_ERROR_OVERLAP);
    CHECK_STATUS(dropout_backward_mask_f16(&ok, y, x, 16, NULL, 2), DROPOUT_ERROR_NULL_POINTER);
    dropout_params range = {.p = 0.5, .first = UINT64_MAX - 3};
    CHECK_STATUS(dropout_backward_regen_bf16(&range, y, x, 16), DROPOUT_ERROR_RANGE);
    int untouched = 1;
    for (int k = 0; k < 16; k++)
        untouched &= y[k] == 0x5A5A;
    CHECK(untouched, "an error wrote to y");
    CHECK_OK(dropout_forward_bf16(&ok, NULL, NULL, 0, NULL, 0));
}

/* p whose T is 0 drops everything: backward from a mask is +0.0 in every
 * dtype whatever the mask says (as f32 and f64 always were; bf16/f16 used
 * to apply the mask with an infinite scale). */
static void check_drop_all_backward(void)
{
    uint16_t dy[16], dx[16];
    float dy32[16], dx32[16];
    uint8_t mask[2] = {0xFF, 0xFF};
    for (int k = 0; k < 16; k++) {
        dy[k] = 0x3F80; /* 1.0 in bf16 */
        dy32[k] = 1.0f;
    }
    dropout_params all = {.p = 1.0};
    CHECK_OK(dropout_backward_mask_bf16(&all, dx, dy, 16, mask, sizeof mask));
    int zero = 1;
    for (int k = 0; k < 16; k++)
        zero &= dx[k] == 0;
    CHECK(zero, "bf16 backward_mask at p = 1 is not +0.0");
    CHECK_OK(dropout_backward_mask_f16(&all, dx, dy, 16, mask, sizeof mask));
    zero = 1;
    for (int k = 0; k < 16; k++)
        zero &= dx[k] == 0;
    CHECK(zero, "f16 backward_mask at p = 1 is not +0.0");
    CHECK_OK(dropout_backward_mask_f32(&all, dx32, dy32, 16, mask, sizeof mask));
    zero = 1;
    for (int k = 0; k < 16; k++)
        zero &= dx32[k] == 0.0f && !signbit(dx32[k]);
    CHECK(zero, "f32 backward_mask at p = 1 is not +0.0");
}

int main(void)
{
    check_conversions();
    check_errors();
    check_drop_all_backward();
    const char *isas[] = {"scalar", "avx2", "avx512", "neon"};
    test_rng rng = {2026};
    const double ps[] = {0.0, 1e-9, 0.1, 0.5, 0.9, 1.0, 1.0 - 1e-12};
    for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
        if (dropout_set_isa(isas[i]) != DROPOUT_OK) {
            printf("ISA %s: not available on this CPU/build, skipped\n", isas[i]);
            continue;
        }
        for (unsigned threads = 1; threads <= 4; threads += 3) {
            dropout_set_threads(threads);
            for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
                check_ops(isas[i], threads, ps[k], 0, 1000, &rng);
                check_ops(isas[i], threads, ps[k], 37, 77, &rng);
            }
            check_ops(isas[i], threads, 0.3, 5, FAMILY_BIG(300001), &rng);
            check_ops(isas[i], threads, 0.3, (1ull << 36) - 3, 4099, &rng);
        }
        printf("ISA %s: checked\n", dropout_isa());
    }
    dropout_set_isa(NULL);
    dropout_set_threads(0);
    return test_exit_code("test_family_half");
}
