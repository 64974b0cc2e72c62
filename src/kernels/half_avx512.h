/*
 * half_avx512.h — bf16 rounding for 16 f32 lanes with AVX-512F, shared by
 * the kernel table (avx512.c) and the family's apply loops
 * (family/apply_avx512.c).  The recipe is half.h's, so the bits are those of
 * the scalar reference.  Not vcvtne2ps2bf16: it flushes f32 subnormals to
 * zero, which the scalar rounding does not.
 */
#ifndef DROPOUT_HALF_AVX512_H
#define DROPOUT_HALF_AVX512_H

#include <immintrin.h>

/* bf16 bits in the low half of each 32-bit lane:
 *   nan ? (b >> 16) | 0x40 : (b + 0x7FFF + ((b >> 16) & 1)) >> 16 */
static inline __m512i half_round_bf16_avx512(__m512 v)
{
    const __m512i b = _mm512_castps_si512(v);
    const __m512i high = _mm512_srli_epi32(b, 16);
    __m512i rounded = _mm512_srli_epi32(
        _mm512_add_epi32(b, _mm512_add_epi32(_mm512_set1_epi32(0x7FFF),
                                             _mm512_and_si512(high, _mm512_set1_epi32(1)))),
        16);
    __mmask16 nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(b, _mm512_set1_epi32(0x7FFFFFFF)),
                                            _mm512_set1_epi32(0x7F800000));
    return _mm512_mask_or_epi32(rounded, nan, high, _mm512_set1_epi32(0x40));
}

/* The same for lanes known to hold no NaN: (b + 0x7FFF + ((b >> 16) & 1)) >> 16. */
static inline __m512i half_round_bf16_avx512_finite(__m512 v)
{
    const __m512i b = _mm512_castps_si512(v);
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(b, 16), _mm512_set1_epi32(1));
    return _mm512_srli_epi32(_mm512_add_epi32(b, _mm512_add_epi32(_mm512_set1_epi32(0x7FFF), lsb)), 16);
}

#endif /* DROPOUT_HALF_AVX512_H */
