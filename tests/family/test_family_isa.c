/*
 * test_family_isa.c — every apply table this CPU can run (src/family/apply.h)
 * against the scalar reference, bit for bit: bf16 and f16 scaling and the
 * fused bias + dropout + residual and the bias-gradient row sums, on random bits and on inputs chosen to
 * hit rounding ties, subnormals, overflow to Inf, NaN payloads and -0.0, for
 * every length 0 ... 130 (all tails) and a long run.
 * Reaches below the public API, so it links the internal library.  Built a
 * second time as test_family_avx512_model: apply_avx512.c on a plain-C model
 * of its intrinsics, for machines without AVX-512.
 */
#include "family/apply.h"
#include "family_util.h"

static uint16_t random_half(test_rng *rng)
{
    static const uint16_t special[] = {0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0400, 0x7BFF,
                                       0x7C00, 0xFC00, 0x7C01, 0x7E00, 0xFE55, 0x7F80, 0x7F81,
                                       0xFFC1, 0x0080, 0x007F, 0x7F7F, 0x3F80, 0xBF80};
    if (test_rng_below(rng, 5) == 0)
        return special[test_rng_below(rng, sizeof special / sizeof special[0])];
    return (uint16_t)test_rng_next(rng);
}

static float random_f32(test_rng *rng)
{
    if (test_rng_below(rng, 4) == 0)
        return f32_from_bits((uint32_t)test_rng_next(rng));
    return (float)((test_rng_unit(rng) - 0.5) * 8.0);
}

static long compare16(const uint16_t *a, const uint16_t *b, size_t n)
{
    long bad = 0;
    for (size_t k = 0; k < n; k++)
        bad += a[k] != b[k];
    return bad;
}

static long compare32(const float *a, const float *b, size_t n)
{
    long bad = 0;
    for (size_t k = 0; k < n; k++)
        bad += bits_f32(a[k]) != bits_f32(b[k]);
    return bad;
}

static void check_table(const family_apply *t, test_rng *rng)
{
    const family_apply *ref = &family_apply_scalar;
    enum { LONG = 5003 };
    uint16_t x[LONG], y_ref[LONG], y[LONG];
    float xf[LONG], bias[LONG], res[LONG], zf_ref[LONG], zf[LONG];
    uint8_t bits[LONG / 8 + 1];
    /* scales: 1 (p == 0 via eval), typical, large (overflow), tiny (underflow),
     * and 1 + 2^-8, 1 + 2^-9, 1 + 2^-11, 1.5, 3: short mantissas whose products
     * with a bf16/f16 land exactly on rounding ties, where round-half-even and
     * any other rule differ */
    const float scales[] = {1.0f,        2.0f,          1.1111112f,     1e30f, 3e-39f,
                            65519.0f,    1.00390625f,   1.001953125f,   1.00048828125f,
                            1.5f,        3.0f};
    long bad_bf16 = 0, bad_f16 = 0, bad_fused = 0, bad_sum = 0;
    for (size_t n = 0; n <= 130 + LONG; n = n < 130 ? n + 1 : LONG) {
        for (size_t k = 0; k < n; k++) {
            x[k] = random_half(rng);
            xf[k] = random_f32(rng);
            bias[k] = random_f32(rng);
            res[k] = random_f32(rng);
        }
        for (size_t k = 0; k < sizeof bits; k++)
            bits[k] = (uint8_t)test_rng_next(rng);
        for (size_t i = 0; i < sizeof scales / sizeof scales[0]; i++) {
            float s = scales[i];
            ref->scale_bf16(n, s, bits, x, y_ref);
            memcpy(y, x, sizeof y); /* in-place */
            t->scale_bf16(n, s, bits, y, y);
            bad_bf16 += compare16(y, y_ref, n);
            ref->scale_f16(n, s, bits, x, y_ref);
            t->scale_f16(n, s, bits, x, y);
            bad_f16 += compare16(y, y_ref, n);
            /* column sums: one row of n, and n / w rows of w columns with
             * a stride of w + 3 (sums start from the fused outputs as doubles) */
            double sum_ref[LONG], sum[LONG];
            const size_t w = 1 + n % 41, stride = w + 3;
            for (int shape = 0; shape < 2; shape++) {
                const size_t width = shape ? w : n, rows = shape ? n / stride : 1;
                for (size_t k = 0; k < width; k++)
                    sum_ref[k] = sum[k] = (double)res[k] * 1e-3;
                ref->add_rows_f32(width, rows, stride, xf, sum_ref);
                t->add_rows_f32(width, rows, stride, xf, sum);
                for (size_t k = 0; k < width; k++)
                    bad_sum += bits_f64(sum[k]) != bits_f64(sum_ref[k]) &&
                               !(isnan(sum[k]) && isnan(sum_ref[k]));
            }
            ref->bias_residual_f32(n, s, bits, xf, bias, res, zf_ref, 0);
            for (int streaming = 0; streaming <= 1; streaming++) {
                memset(zf, 0, sizeof zf);
                t->bias_residual_f32(n, s, bits, xf, bias, res, zf, streaming);
                bad_fused += compare32(zf, zf_ref, n);
                /* an output that starts off the vector boundary: the head */
                if (n > 3) {
                    t->bias_residual_f32(n - 3, s, bits, xf, bias, res, zf + 3, streaming);
                    bad_fused += compare32(zf + 3, zf_ref, n - 3);
                }
            }
        }
        if (n == LONG)
            break;
    }
    CHECK(bad_bf16 == 0, "%s scale_bf16: %ld elements differ from scalar", t->isa, bad_bf16);
    CHECK(bad_f16 == 0, "%s scale_f16: %ld elements differ from scalar", t->isa, bad_f16);
    CHECK(bad_fused == 0, "%s bias_residual_f32: %ld elements differ from scalar", t->isa,
          bad_fused);
    CHECK(bad_sum == 0, "%s add_rows_f32: %ld sums differ from scalar", t->isa, bad_sum);
    printf("apply table %s: compared with scalar\n", t->isa);
}

int main(void)
{
    const family_apply *tables[8];
#ifdef FAMILY_TEST_AVX512_MODEL
    /* apply_avx512.c built on tests/family/avx512_model/immintrin.h */
    size_t count = 2;
    tables[0] = &family_apply_scalar;
    tables[1] = &family_apply_avx512;
#else
    size_t count = family_apply_available(tables, 8);
#endif
    test_rng rng = {77};
    for (size_t i = 0; i < count; i++)
        check_table(tables[i], &rng);
    if (count == 1)
        printf("only the scalar table runs on this CPU: nothing else to compare\n");
    return test_exit_code("test_family_isa");
}
