/*
 * half_avx2.h — bf16 rounding for 8 f32 lanes with AVX2, shared by the
 * kernel table (avx2.c) and the family's apply loops (family/apply_avx2.c).
 * Only for files built with -mavx2.  The recipe is half.h's, so the bits are
 * those of the scalar reference.
 */
#ifndef DROPOUT_HALF_AVX2_H
#define DROPOUT_HALF_AVX2_H

#include <immintrin.h>

/* f32 bits -> bf16 in the low half of each lane, round to nearest-even:
 *   nan ? (b >> 16) | 0x40 : (b + 0x7FFF + ((b >> 16) & 1)) >> 16 */
static inline __m256i half_round_bf16_avx2(__m256 v)
{
    const __m256i b = _mm256_castps_si256(v);
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(b, 16), _mm256_set1_epi32(1));
    __m256i rounded = _mm256_add_epi32(b, _mm256_add_epi32(_mm256_set1_epi32(0x7FFF), lsb));
    rounded = _mm256_srli_epi32(rounded, 16);
    __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(b, _mm256_set1_epi32(0x7FFFFFFF)),
                                     _mm256_set1_epi32(0x7F800000));
    if (_mm256_testz_si256(nan, nan)) /* the common case: no NaN in these 8 */
        return rounded;
    __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(b, 16), _mm256_set1_epi32(0x40));
    return _mm256_blendv_epi8(rounded, quiet, nan);
}

/* The same for lanes known to hold no NaN: (b + 0x7FFF + ((b >> 16) & 1)) >> 16. */
static inline __m256i half_round_bf16_avx2_finite(__m256 v)
{
    const __m256i b = _mm256_castps_si256(v);
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(b, 16), _mm256_set1_epi32(1));
    return _mm256_srli_epi32(_mm256_add_epi32(b, _mm256_add_epi32(_mm256_set1_epi32(0x7FFF), lsb)), 16);
}

#endif /* DROPOUT_HALF_AVX2_H */
