/*
 * apply_avx2.c — the apply loops (apply.h) with AVX2 + F16C, 8 or 16
 * elements per step.  Built with -mavx2 -mf16c on this file only; reached only
 * when the CPU has both.  Bit-identical to apply_scalar.c: bf16 rounding is
 * the same integer recipe, f16 rounding is vcvtps2ph (round to nearest-even,
 * NaN quieted), which is what half.h spells out.
 */
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include "apply.h"
#include "kernels/half_avx2.h"

/* All-ones 32-bit lanes where bit k of `byte` is set, lane k. */
static inline __m256i keep_lanes32(unsigned byte)
{
    const __m256i lane_bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    __m256i b = _mm256_set1_epi32((int)byte);
    return _mm256_cmpeq_epi32(_mm256_and_si256(b, lane_bit), lane_bit);
}

/* Same for 16-bit lanes of a 128-bit vector. */
static inline __m128i keep_lanes16(unsigned byte)
{
    const __m128i lane_bit = _mm_setr_epi16(1, 2, 4, 8, 16, 32, 64, 128);
    __m128i b = _mm_set1_epi16((short)byte);
    return _mm_cmpeq_epi16(_mm_and_si128(b, lane_bit), lane_bit);
}

/* bf16 lanes of a 16-element step, in unpack order: unpacklo_epi16(0, x) puts
 * elements 0-3 and 8-11 in the high halves of 32-bit lanes (an exact bf16 ->
 * f32), unpackhi_epi16 elements 4-7 and 12-15; packus_epi32 of the two
 * results restores 0 ... 15 within each 128-bit half, so no permute is needed.
 * `keep16` holds the step's 16 keep bits; `lane_bits` the bit of each lane. */
static inline __m256i scale_half_step_bf16(__m256i wide, __m256 s, __m256i keep16,
                                           __m256i lane_bits)
{
    __m256i keep = _mm256_cmpeq_epi32(_mm256_and_si256(keep16, lane_bits), lane_bits);
    __m256 v = _mm256_and_ps(_mm256_mul_ps(_mm256_castsi256_ps(wide), s),
                             _mm256_castsi256_ps(keep)); /* dropped: +0.0 -> 0x0000 */
    __m256i rounded = half_round_bf16_avx2(v);
    return rounded;
}

static void scale_bf16_avx2(size_t n, float s, const uint8_t *bits, const uint16_t *x,
                            uint16_t *y)
{
    const __m256 sv = _mm256_set1_ps(s);
    const __m256i zero = _mm256_setzero_si256();
    /* lane i of the lo/hi half-steps holds element lo_of[i] / hi_of[i] */
    const __m256i lo_bits = _mm256_setr_epi32(1 << 0, 1 << 1, 1 << 2, 1 << 3,
                                              1 << 8, 1 << 9, 1 << 10, 1 << 11);
    const __m256i hi_bits = _mm256_setr_epi32(1 << 4, 1 << 5, 1 << 6, 1 << 7,
                                              1 << 12, 1 << 13, 1 << 14, 1 << 15);
    size_t k = 0;
    for (; k + 16 <= n; k += 16) {
        __m256i raw = _mm256_loadu_si256((const __m256i *)(x + k));
        __m256i keep16 = _mm256_set1_epi32(bits[k / 8] | (bits[k / 8 + 1] << 8));
        __m256i lo = scale_half_step_bf16(_mm256_unpacklo_epi16(zero, raw), sv, keep16, lo_bits);
        __m256i hi = scale_half_step_bf16(_mm256_unpackhi_epi16(zero, raw), sv, keep16, hi_bits);
        _mm256_storeu_si256((__m256i *)(y + k), _mm256_packus_epi32(lo, hi));
    }
    if (k < n)
        family_apply_scalar.scale_bf16(n - k, s, bits + k / 8, x + k, y + k);
}

static void scale_f16_avx2(size_t n, float s, const uint8_t *bits, const uint16_t *x,
                           uint16_t *y)
{
    const __m256 sv = _mm256_set1_ps(s);
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        __m256 v = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + k))), sv);
        __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm_storeu_si128((__m128i *)(y + k), _mm_and_si128(h, keep_lanes16(bits[k / 8])));
    }
    if (k < n)
        family_apply_scalar.scale_f16(n - k, s, bits + k / 8, x + k, y + k);
}

/* y = residual + ((x + bias) * s & keep); streaming stores from the first
 * 32-byte boundary of y when asked (the elements before it one by one) */
/* y, with any NaN lane the canonical NaN (family_nan_canonical_f32) */
static inline __m256 nan_canonical_avx2(__m256 y)
{
    return _mm256_blendv_ps(y, _mm256_castsi256_ps(_mm256_set1_epi32((int)FAMILY_NAN_F32)),
                            _mm256_cmp_ps(y, y, _CMP_UNORD_Q));
}

static void bias_residual_f32_avx2(size_t n, float s, const uint8_t *bits, const float *x,
                                   const float *bias, const float *residual, float *y,
                                   int stream)
{
    const __m256 sv = _mm256_set1_ps(s);
    size_t k = 0;
    if (stream && kernels_stream_ok(y, sizeof *y)) {
        for (size_t head = kernels_stream_head(y, 32, sizeof *y); k < head && k < n; k++)
            family_bias_residual_one(bits, k, s, x, bias, residual, y);
        for (; k + 8 <= n; k += 8) {
            __m256 t = _mm256_add_ps(_mm256_loadu_ps(x + k), _mm256_loadu_ps(bias + k));
            __m256 u = _mm256_and_ps(_mm256_mul_ps(t, sv),
                                     _mm256_castsi256_ps(keep_lanes32(kernels_bits8_at(bits, k))));
            __m256 r = _mm256_loadu_ps(residual + k);
            _mm256_stream_ps(y + k, nan_canonical_avx2(_mm256_add_ps(r, u)));
        }
        _mm_sfence(); /* streaming stores are weakly ordered: done before we return */
    }
    for (; k + 8 <= n; k += 8) {
        __m256 t = _mm256_add_ps(_mm256_loadu_ps(x + k), _mm256_loadu_ps(bias + k));
        __m256 u = _mm256_and_ps(_mm256_mul_ps(t, sv),
                                 _mm256_castsi256_ps(keep_lanes32(bits[k / 8])));
        __m256 r = _mm256_loadu_ps(residual + k);
        _mm256_storeu_ps(y + k, nan_canonical_avx2(_mm256_add_ps(r, u)));
    }
    for (; k < n; k++)
        family_bias_residual_one(bits, k, s, x, bias, residual, y);
}

/* Column sums 16 columns at a time, four vectors of 4 doubles held in
 * registers down the rows (independent chains, so the adds overlap), then
 * stored once: the same additions in the same order as the scalar loop. */
static void add_rows_f32_avx2(size_t width, size_t rows, size_t stride, const float *x,
                              double *sum)
{
    size_t j = 0;
    for (; j + 16 <= width; j += 16) {
        __m256d a0 = _mm256_loadu_pd(sum + j), a1 = _mm256_loadu_pd(sum + j + 4);
        __m256d a2 = _mm256_loadu_pd(sum + j + 8), a3 = _mm256_loadu_pd(sum + j + 12);
        for (size_t r = 0; r < rows; r++) {
            const float *row = x + r * stride + j;
            __m256 v = _mm256_loadu_ps(row), u = _mm256_loadu_ps(row + 8);
            a0 = _mm256_add_pd(a0, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
            a1 = _mm256_add_pd(a1, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
            a2 = _mm256_add_pd(a2, _mm256_cvtps_pd(_mm256_castps256_ps128(u)));
            a3 = _mm256_add_pd(a3, _mm256_cvtps_pd(_mm256_extractf128_ps(u, 1)));
        }
        _mm256_storeu_pd(sum + j, a0);
        _mm256_storeu_pd(sum + j + 4, a1);
        _mm256_storeu_pd(sum + j + 8, a2);
        _mm256_storeu_pd(sum + j + 12, a3);
    }
    family_column_sums(j, width, rows, stride, x, sum); /* the last columns */
}

const family_apply family_apply_avx2 = {
    .isa = "avx2",
    .scale_bf16 = scale_bf16_avx2,
    .scale_f16 = scale_f16_avx2,
    .bias_residual_f32 = bias_residual_f32_avx2,
    .add_rows_f32 = add_rows_f32_avx2,
};
#else
typedef int family_apply_avx2_unused; /* ISO C wants a declaration */
#endif
