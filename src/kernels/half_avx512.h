/*
 * half_avx512.h — bf16 rounding for f32 lanes with AVX-512 (avx512.c).  The
 * recipe is half.h's, so the bits are those of the scalar reference.  (The
 * avx512_bf16.c build rounds with vcvtne2ps2bf16 instead where that gives
 * the same bits: avx512.c, scale32_bf16_avx512.)
 */
#ifndef DROPOUT_HALF_AVX512_H
#define DROPOUT_HALF_AVX512_H

#include <immintrin.h>
#include <stdint.h>

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

/* 32 bf16 elements in order from the two products of the unpack trick (lo:
 * elements 8q + 0 ... 3 of each 128-bit quarter q, hi: 8q + 4 ... 7), known
 * to hold no NaN, the lanes not in `keep` +0 (0x0000):
 * t = b + 0x7FFF + ((b >> 16) & 1), whose high half is the bf16; one
 * two-source word permute takes the high halves back to element order and
 * zeroes the dropped lanes.  The same bits as half_round_bf16_avx512_finite
 * on each half and a packus, in fewer operations. */
static inline __m512i half_round_bf16_pair_avx512_finite(__m512 lo, __m512 hi, __mmask32 keep)
{
    /* output word e = 8q + j: high word of lo lane 4q + j (j < 4), or of hi
     * lane 4q + j - 4 (index + 32: the second source) */
    static const uint16_t order[32] = {1,  3,  5,  7,  33, 35, 37, 39, 9,  11, 13,
                                       15, 41, 43, 45, 47, 17, 19, 21, 23, 49, 51,
                                       53, 55, 25, 27, 29, 31, 57, 59, 61, 63};
    const __m512i bias = _mm512_set1_epi32(0x7FFF), one = _mm512_set1_epi32(1);
    const __m512i lsb_bit = _mm512_set1_epi32(0x10000);
    const __m512i b0 = _mm512_castps_si512(lo), b1 = _mm512_castps_si512(hi);
    __m512i t0 = _mm512_add_epi32(b0, bias), t1 = _mm512_add_epi32(b1, bias);
    t0 = _mm512_mask_add_epi32(t0, _mm512_test_epi32_mask(b0, lsb_bit), t0, one);
    t1 = _mm512_mask_add_epi32(t1, _mm512_test_epi32_mask(b1, lsb_bit), t1, one);
    return _mm512_maskz_permutex2var_epi16(keep, t0, _mm512_loadu_si512(order), t1);
}

#endif /* DROPOUT_HALF_AVX512_H */
