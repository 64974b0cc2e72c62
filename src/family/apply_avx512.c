/*
 * apply_avx512.c — the apply loops (apply.h) with AVX-512F, 16 elements per
 * step, the keep bits used directly as a lane mask.  Built with -mavx512f on
 * this file only.  Bit-identical to apply_scalar.c: dropped lanes are zeroed
 * before rounding (+0.0 rounds to 0x0000), bf16 rounding is the integer
 * recipe of half.h, f16 rounding is vcvtps2ph.  Not vcvtne2ps2bf16: it
 * flushes f32 subnormals to zero, which the scalar rounding does not.
 */
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include "apply.h"
#include "kernels/half_avx512.h"

static inline __mmask16 keep16(const uint8_t *bits, size_t k)
{
    return (__mmask16)(bits[k / 8] | (bits[k / 8 + 1] << 8));
}

static void scale_bf16_avx512(size_t n, float s, const uint8_t *bits, const uint16_t *x,
                              uint16_t *y)
{
    const __m512 sv = _mm512_set1_ps(s);
    size_t k = 0;
    for (; k + 16 <= n; k += 16) {
        __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(x + k)));
        __m512 v = _mm512_maskz_mul_ps(keep16(bits, k),
                                       _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16)), sv);
        _mm256_storeu_si256((__m256i *)(y + k), _mm512_cvtepi32_epi16(half_round_bf16_avx512(v)));
    }
    if (k < n)
        family_apply_scalar.scale_bf16(n - k, s, bits + k / 8, x + k, y + k);
}

static void scale_f16_avx512(size_t n, float s, const uint8_t *bits, const uint16_t *x,
                             uint16_t *y)
{
    const __m512 sv = _mm512_set1_ps(s);
    size_t k = 0;
    for (; k + 16 <= n; k += 16) {
        __m512 v = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(x + k)));
        v = _mm512_maskz_mul_ps(keep16(bits, k), v, sv);
        _mm256_storeu_si256((__m256i *)(y + k),
                            _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
    if (k < n)
        family_apply_scalar.scale_f16(n - k, s, bits + k / 8, x + k, y + k);
}

/* y, with any NaN lane the canonical NaN (family_nan_canonical_f32) */
static inline __m512 nan_canonical_avx512(__m512 y)
{
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(y, y, _CMP_UNORD_Q), y,
                                _mm512_castsi512_ps(_mm512_set1_epi32((int)FAMILY_NAN_F32)));
}

static void bias_residual_f32_avx512(size_t n, float s, const uint8_t *bits, const float *x,
                                     const float *bias, const float *residual, float *y,
                                     int stream)
{
    const __m512 sv = _mm512_set1_ps(s);
    size_t k = 0;
    if (stream && kernels_stream_ok(y, sizeof *y)) {
        /* streaming stores from the first 64-byte boundary of y */
        for (size_t head = kernels_stream_head(y, 64, sizeof *y); k < head && k < n; k++)
            family_bias_residual_one(bits, k, s, x, bias, residual, y);
        for (; k + 16 <= n; k += 16) {
            __mmask16 keep = (__mmask16)(kernels_bits8_at(bits, k) | kernels_bits8_at(bits, k + 8) << 8);
            __m512 t = _mm512_add_ps(_mm512_loadu_ps(x + k), _mm512_loadu_ps(bias + k));
            __m512 u = _mm512_maskz_mul_ps(keep, t, sv);
            __m512 r = _mm512_loadu_ps(residual + k);
            _mm512_stream_ps(y + k, nan_canonical_avx512(_mm512_add_ps(r, u)));
        }
        _mm_sfence();
    }
    for (; k + 16 <= n; k += 16) {
        __m512 t = _mm512_add_ps(_mm512_loadu_ps(x + k), _mm512_loadu_ps(bias + k));
        __m512 u = _mm512_maskz_mul_ps(keep16(bits, k), t, sv);
        __m512 r = _mm512_loadu_ps(residual + k);
        _mm512_storeu_ps(y + k, nan_canonical_avx512(_mm512_add_ps(r, u)));
    }
    for (; k < n; k++)
        family_bias_residual_one(bits, k, s, x, bias, residual, y);
}

/* Column sums 16 columns at a time, two vectors of 8 doubles held in
 * registers down the rows, then stored once: the same additions in the same
 * order as the scalar loop. */
static void add_rows_f32_avx512(size_t width, size_t rows, size_t stride, const float *x,
                                double *sum)
{
    size_t j = 0;
    for (; j + 16 <= width; j += 16) {
        __m512d low = _mm512_loadu_pd(sum + j), high = _mm512_loadu_pd(sum + j + 8);
        for (size_t r = 0; r < rows; r++) {
            const float *row = x + r * stride + j;
            low = _mm512_add_pd(low, _mm512_cvtps_pd(_mm256_loadu_ps(row)));
            high = _mm512_add_pd(high, _mm512_cvtps_pd(_mm256_loadu_ps(row + 8)));
        }
        _mm512_storeu_pd(sum + j, low);
        _mm512_storeu_pd(sum + j + 8, high);
    }
    family_column_sums(j, width, rows, stride, x, sum); /* the last columns */
}

const family_apply family_apply_avx512 = {
    .isa = "avx512",
    .scale_bf16 = scale_bf16_avx512,
    .scale_f16 = scale_f16_avx512,
    .bias_residual_f32 = bias_residual_f32_avx512,
    .add_rows_f32 = add_rows_f32_avx512,
};
#else
typedef int family_apply_avx512_unused; /* ISO C wants a declaration */
#endif
