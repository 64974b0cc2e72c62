/*
 * avx512.c — the kernel table for x86-64 AVX-512 (F + BW + VL).  Same bits
 * as scalar.c.
 *
 * Work goes tile by tile (TILE elements):
 *   1. Philox for 16 blocks at once (16 counters per vector, 256 elements),
 *      transposed so the 256 random bytes come out in element order; one
 *      unsigned byte compare per 64 elements gives 64 keep bits (r < t0) and
 *      another the 64 tie bits (r == t0, 1 in 256).
 *   2. The ties of the tile are resolved in one pass afterwards with the
 *      scalar tie draw (mask.h): a few per tile, not a branch per element.
 *   3. The keep bits are shifted so bit k belongs to element first + k, and
 *      the operation uses them directly as lane masks: y = maskz_mul(x, s)
 *      writes +0.0 in the dropped lanes.  Tails use masked loads and stores.
 */
#include <immintrin.h>
#include <string.h>

#include "kernels.h"

#define TILE 2048  /* elements per tile; a multiple of 64 */
#define GROUP 256  /* elements per Philox vector: 16 blocks of 16 bytes */
#define RAW_WORDS ((TILE + GROUP) / 64 + 1)

typedef struct philox_avx512 {
    __m512i round_key0[PHILOX_ROUNDS]; /* key[0] + r * W0, broadcast */
    __m512i round_key1[PHILOX_ROUNDS]; /* key[1] + r * W1, broadcast */
    __m512i first_hi1, first_lo1;      /* M1 * lo(stream): round 1's second product */
    __m512i first_c2_xor;              /* hi(stream) ^ key[1] (round 1's c3 ^ k1)   */
} philox_avx512;

static void philox_avx512_init(philox_avx512 *px, const mask_stream *ms)
{
    uint32_t k0 = ms->key[0], k1 = ms->key[1];
    for (int r = 0; r < PHILOX_ROUNDS; r++) {
        px->round_key0[r] = _mm512_set1_epi32((int)k0);
        px->round_key1[r] = _mm512_set1_epi32((int)k1);
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    uint64_t product1 = (uint64_t)PHILOX_M1 * ms->stream_lo;
    px->first_hi1 = _mm512_set1_epi32((int)(uint32_t)(product1 >> 32));
    px->first_lo1 = _mm512_set1_epi32((int)(uint32_t)product1);
    px->first_c2_xor = _mm512_set1_epi32((int)(ms->stream_hi ^ ms->key[1]));
}

/* (hi, lo) = 32x32->64 products of every lane of c by m: _mm512_mul_epu32
 * takes the even lanes, a second multiply the odd ones, blends recombine. */
static inline void mul_hi_lo_avx512(__m512i c, __m512i m, __m512i *hi, __m512i *lo)
{
    /* even = c[2i] * m, odd = c[2i+1] * m, as 64-bit lanes */
    __m512i even = _mm512_mul_epu32(c, m);
    __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(c, 32), m);
    /* hi[2i] = even >> 32, hi[2i+1] = odd >> 32 (already in the odd dword) */
    *hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
    /* lo[2i] = (u32)even, lo[2i+1] = (u32)odd */
    *lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
}

/* Philox4x32-10 of 16 blocks from `block`; lane 4h + m counts block 4m + h,
 * so that the transpose below gives out[v] = the 64 random bytes of blocks
 * block + 4v ... block + 4v + 3, in element order. */
static inline void philox16_avx512(const philox_avx512 *px, uint64_t block, __m512i out[4])
{
    const __m512i m0 = _mm512_set1_epi32((int)PHILOX_M0);
    const __m512i m1 = _mm512_set1_epi32((int)PHILOX_M1);
    const __m512i offsets = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);

    /* counter = {lo(j), hi(j), lo(stream), hi(stream)}, j = block + offset;
     * hi(j) gains 1 where lo(j) wrapped (lo < offset, unsigned) */
    __m512i lo = _mm512_add_epi32(_mm512_set1_epi32((int)(uint32_t)block), offsets);
    __mmask16 wrapped = _mm512_cmplt_epu32_mask(lo, offsets);
    __m512i hi = _mm512_mask_add_epi32(_mm512_set1_epi32((int)(uint32_t)(block >> 32)), wrapped,
                                       _mm512_set1_epi32((int)(uint32_t)(block >> 32)),
                                       _mm512_set1_epi32(1));

    /* Round 1: c2 = lo(stream) is the same in every lane (precomputed). */
    __m512i hi0, lo0;
    mul_hi_lo_avx512(lo, m0, &hi0, &lo0);
    __m512i c0 = _mm512_ternarylogic_epi32(px->first_hi1, hi, px->round_key0[0], 0x96);
    __m512i c1 = px->first_lo1;
    __m512i c2 = _mm512_xor_si512(hi0, px->first_c2_xor);
    __m512i c3 = lo0;

    /* Rounds 2 ... 10: c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
     * (0x96 is the truth table of a ^ b ^ c) */
    for (int r = 1; r < PHILOX_ROUNDS; r++) {
        __m512i hi1, lo1;
        mul_hi_lo_avx512(c0, m0, &hi0, &lo0);
        mul_hi_lo_avx512(c2, m1, &hi1, &lo1);
        c0 = _mm512_ternarylogic_epi32(hi1, c1, px->round_key0[r], 0x96);
        c1 = lo1;
        c2 = _mm512_ternarylogic_epi32(hi0, c3, px->round_key1[r], 0x96);
        c3 = lo0;
    }

    /* 4x4 transpose of 32-bit words inside each 128-bit quarter: lane 4h + m
     * of word vector w -> word w of block 4m + h */
    __m512i u0 = _mm512_unpacklo_epi32(c0, c1);
    __m512i u1 = _mm512_unpackhi_epi32(c0, c1);
    __m512i u2 = _mm512_unpacklo_epi32(c2, c3);
    __m512i u3 = _mm512_unpackhi_epi32(c2, c3);
    out[0] = _mm512_unpacklo_epi64(u0, u2);
    out[1] = _mm512_unpackhi_epi64(u0, u2);
    out[2] = _mm512_unpacklo_epi64(u1, u3);
    out[3] = _mm512_unpackhi_epi64(u1, u3);
}

/* Keep bits of elements first ... first + len - 1 (len <= TILE), ties
 * resolved: bit k % 64 of bits[k / 64] is element first + k; bits past len
 * are zero. */
static void tile_keep_avx512(const mask_stream *ms, const philox_avx512 *px, uint64_t first,
                             size_t len, uint64_t bits[TILE / 64])
{
    const unsigned o = (unsigned)(first % MASK_BLOCK_ELEMENTS);
    const uint64_t block = first / MASK_BLOCK_ELEMENTS;
    const size_t groups = (o + len + GROUP - 1) / GROUP;
    uint64_t raw[RAW_WORDS], ties[RAW_WORDS - 1];

    const __m512i t0 = _mm512_set1_epi8((char)ms->t0);
    for (size_t g = 0; g < groups; g++) {
        __m512i r[4];
        philox16_avx512(px, block + 16 * g, r);
        for (int v = 0; v < 4; v++) {
            /* keep = r < t0 (unsigned bytes), tie = r == t0 */
            raw[4 * g + (size_t)v] = _mm512_cmplt_epu8_mask(r[v], t0);
            ties[4 * g + (size_t)v] = _mm512_cmpeq_epi8_mask(r[v], t0);
        }
    }
    raw[4 * groups] = 0;

    /* The ties of the tile, in one pass; ties before o or past o + len belong
     * to other tiles. */
    for (size_t w = 0; w < 4 * groups; w++) {
        for (uint64_t t = ties[w]; t != 0; t &= t - 1) {
            size_t pos = 64 * w + (size_t)__builtin_ctzll(t);
            if (pos >= o && pos < o + len && mask_tie_keep(ms, block * MASK_BLOCK_ELEMENTS + pos))
                raw[w] |= (uint64_t)1 << (pos % 64);
        }
    }

    /* bits = raw >> o, as one long bit string */
    const size_t words = (len + 63) / 64;
    for (size_t w = 0; w < words; w++)
        bits[w] = o == 0 ? raw[w] : (raw[w] >> o) | (raw[w + 1] << (64 - o));
    if (len % 64)
        bits[words - 1] &= ((uint64_t)1 << (len % 64)) - 1;
}

/* mask bytes 0 ... ceil(len/8) - 1 from tile bits (little-endian words) */
static void store_bits(uint8_t *mask, const uint64_t *bits, size_t len)
{
    memcpy(mask, bits, (len + 7) / 8);
}

static void mask_avx512(const mask_stream *ms, uint64_t first, size_t n, uint8_t *mask)
{
    philox_avx512 px;
    philox_avx512_init(&px, ms);
    uint64_t bits[TILE / 64];
    for (size_t done = 0; done < n; done += TILE) {
        size_t len = n - done < TILE ? n - done : TILE;
        tile_keep_avx512(ms, &px, first + done, len, bits);
        store_bits(mask + done / 8, bits, len);
    }
}

static void forward_f32_avx512(const mask_stream *ms, uint64_t first, size_t n, float s,
                               const float *x, float *y, uint8_t *mask)
{
    philox_avx512 px;
    philox_avx512_init(&px, ms);
    uint64_t bits[TILE / 64];
    const __m512 scale = _mm512_set1_ps(s);
    for (size_t done = 0; done < n; done += TILE) {
        size_t len = n - done < TILE ? n - done : TILE;
        tile_keep_avx512(ms, &px, first + done, len, bits);
        const float *xt = x + done;
        float *yt = y + done;
        size_t k = 0;
        for (; k + 16 <= len; k += 16) {
            /* y[k..k+15] = keep ? x * s : +0.0 */
            __mmask16 keep = (__mmask16)(bits[k / 64] >> (k % 64));
            _mm512_storeu_ps(yt + k, _mm512_maskz_mul_ps(keep, _mm512_loadu_ps(xt + k), scale));
        }
        if (k < len) {
            /* the same on the last len - k < 16 elements, masked */
            __mmask16 valid = (__mmask16)((1u << (len - k)) - 1u);
            __mmask16 keep = (__mmask16)(bits[k / 64] >> (k % 64));
            __m512 v = _mm512_maskz_loadu_ps(valid, xt + k);
            _mm512_mask_storeu_ps(yt + k, valid, _mm512_maskz_mul_ps(keep, v, scale));
        }
        if (mask)
            store_bits(mask + done / 8, bits, len);
    }
}

static void forward_f64_avx512(const mask_stream *ms, uint64_t first, size_t n, double s,
                               const double *x, double *y, uint8_t *mask)
{
    philox_avx512 px;
    philox_avx512_init(&px, ms);
    uint64_t bits[TILE / 64];
    const __m512d scale = _mm512_set1_pd(s);
    for (size_t done = 0; done < n; done += TILE) {
        size_t len = n - done < TILE ? n - done : TILE;
        tile_keep_avx512(ms, &px, first + done, len, bits);
        const double *xt = x + done;
        double *yt = y + done;
        size_t k = 0;
        for (; k + 8 <= len; k += 8) {
            /* y[k..k+7] = keep ? x * s : +0.0 */
            __mmask8 keep = (__mmask8)(bits[k / 64] >> (k % 64));
            _mm512_storeu_pd(yt + k, _mm512_maskz_mul_pd(keep, _mm512_loadu_pd(xt + k), scale));
        }
        if (k < len) {
            __mmask8 valid = (__mmask8)((1u << (len - k)) - 1u);
            __mmask8 keep = (__mmask8)(bits[k / 64] >> (k % 64));
            __m512d v = _mm512_maskz_loadu_pd(valid, xt + k);
            _mm512_mask_storeu_pd(yt + k, valid, _mm512_maskz_mul_pd(keep, v, scale));
        }
        if (mask)
            store_bits(mask + done / 8, bits, len);
    }
}

static void apply_mask_f32_avx512(size_t n, float s, const uint8_t *mask, const float *dy,
                                  float *dx)
{
    const __m512 scale = _mm512_set1_ps(s);
    size_t k = 0;
    for (; k + 16 <= n; k += 16) {
        /* dx[k..k+15] = keep ? dy * s : +0.0, keep = mask bytes k/8, k/8 + 1 */
        __mmask16 keep = (__mmask16)(mask[k / 8] | (unsigned)mask[k / 8 + 1] << 8);
        _mm512_storeu_ps(dx + k, _mm512_maskz_mul_ps(keep, _mm512_loadu_ps(dy + k), scale));
    }
    if (k < n) {
        /* the last n - k < 16 elements: mask bytes that exist only */
        unsigned rest = (unsigned)(n - k);
        unsigned bits = mask[k / 8];
        if (rest > 8)
            bits |= (unsigned)mask[k / 8 + 1] << 8;
        __mmask16 valid = (__mmask16)((1u << rest) - 1u);
        __m512 v = _mm512_maskz_loadu_ps(valid, dy + k);
        _mm512_mask_storeu_ps(dx + k, valid, _mm512_maskz_mul_ps((__mmask16)bits, v, scale));
    }
}

static void apply_mask_f64_avx512(size_t n, double s, const uint8_t *mask, const double *dy,
                                  double *dx)
{
    const __m512d scale = _mm512_set1_pd(s);
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        /* dx[k..k+7] = keep ? dy * s : +0.0, keep = mask byte k/8 */
        _mm512_storeu_pd(dx + k, _mm512_maskz_mul_pd(mask[k / 8], _mm512_loadu_pd(dy + k), scale));
    }
    if (k < n) {
        __mmask8 valid = (__mmask8)((1u << (n - k)) - 1u);
        __m512d v = _mm512_maskz_loadu_pd(valid, dy + k);
        _mm512_mask_storeu_pd(dx + k, valid, _mm512_maskz_mul_pd(mask[k / 8], v, scale));
    }
}

const dropout_kernels dropout_kernels_avx512 = {
    .isa = "avx512",
    .mask = mask_avx512,
    .forward_f32 = forward_f32_avx512,
    .forward_f64 = forward_f64_avx512,
    .apply_mask_f32 = apply_mask_f32_avx512,
    .apply_mask_f64 = apply_mask_f64_avx512,
};
