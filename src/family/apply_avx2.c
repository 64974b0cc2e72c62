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

/* f32 bits -> bf16 in the low half of each lane:
 *   nan ? (b >> 16) | 0x40 : (b + 0x7FFF + ((b >> 16) & 1)) >> 16 */
static inline __m256i round_bf16_lanes(__m256 v)
{
    const __m256i b = _mm256_castps_si256(v);
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(b, 16), _mm256_set1_epi32(1));
    __m256i rounded = _mm256_add_epi32(b, _mm256_add_epi32(_mm256_set1_epi32(0x7FFF), lsb));
    rounded = _mm256_srli_epi32(rounded, 16);
    __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(b, _mm256_set1_epi32(0x7FFFFFFF)),
                                     _mm256_set1_epi32(0x7F800000));
    __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(b, 16), _mm256_set1_epi32(0x40));
    return _mm256_blendv_epi8(rounded, quiet, nan);
}

/* 8 bf16 -> f32 * s -> bf16, dropped lanes +0 (as 32-bit lanes). */
static inline __m256i scale8_bf16(const uint16_t *x, __m256 s, unsigned byte)
{
    __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)x));
    __m256 v = _mm256_mul_ps(_mm256_castsi256_ps(_mm256_slli_epi32(wide, 16)), s);
    return _mm256_and_si256(round_bf16_lanes(v), keep_lanes32(byte));
}

static void scale_bf16_avx2(size_t n, float s, const uint8_t *bits, const uint16_t *x,
                            uint16_t *y)
{
    const __m256 sv = _mm256_set1_ps(s);
    size_t k = 0;
    for (; k + 16 <= n; k += 16) {
        __m256i lo = scale8_bf16(x + k, sv, bits[k / 8]);
        __m256i hi = scale8_bf16(x + k + 8, sv, bits[k / 8 + 1]);
        /* packus works per 128-bit half: lo0-3 hi0-3 lo4-7 hi4-7, reorder */
        __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(lo, hi), 0xD8);
        _mm256_storeu_si256((__m256i *)(y + k), packed);
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

/* y = residual + ((x + bias) * s & keep) */
static void bias_residual_f32_avx2(size_t n, float s, const uint8_t *bits, const float *x,
                                   const float *bias, const float *residual, float *y)
{
    const __m256 sv = _mm256_set1_ps(s);
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        __m256 t = _mm256_add_ps(_mm256_loadu_ps(x + k), _mm256_loadu_ps(bias + k));
        __m256 u = _mm256_and_ps(_mm256_mul_ps(t, sv),
                                 _mm256_castsi256_ps(keep_lanes32(bits[k / 8])));
        _mm256_storeu_ps(y + k, _mm256_add_ps(_mm256_loadu_ps(residual + k), u));
    }
    if (k < n)
        family_apply_scalar.bias_residual_f32(n - k, s, bits + k / 8, x + k, bias + k,
                                              residual + k, y + k);
}

/* sum += (double)x, 4 lanes at a time (each lane its own add: same bits) */
static void add_rows_f32_avx2(size_t n, const float *x, double *sum)
{
    size_t k = 0;
    for (; k + 4 <= n; k += 4)
        _mm256_storeu_pd(sum + k, _mm256_add_pd(_mm256_loadu_pd(sum + k),
                                                _mm256_cvtps_pd(_mm_loadu_ps(x + k))));
    if (k < n)
        family_apply_scalar.add_rows_f32(n - k, x + k, sum + k);
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
