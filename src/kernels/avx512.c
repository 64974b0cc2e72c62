/*
 * avx512.c — the kernel table for x86-64 AVX-512 (F + BW + VL).  Same bits
 * as scalar.c.
 *
 * Work goes tile by tile (TILE elements):
 *   1. Philox in the dense layout (one block per 32-bit lane: 16 blocks per
 *      vector, SETS sets interleaved, GROUP elements per call), transposed
 *      so the random bytes come out in element order; one unsigned byte
 *      compare per 64 elements gives 64 keep bits (r < t0) and another the
 *      64 tie bits (r == t0, 1 in 256).
 *   2. The ties of the tile are resolved in one batch afterwards, their tie
 *      draws (another Philox, SPEC section 2) computed 16 at a time.
 *   3. The keep bits are shifted so bit k belongs to element first + k, and
 *      the operation uses them directly as lane masks: y = maskz_mul(x, s)
 *      writes +0.0 in the dropped lanes.  Tails use masked loads and stores.
 * Steps 1-2 of tile t + 1 run interleaved with step 3 of tile t
 * (run_tiles_avx512), so compute and memory traffic overlap.
 *
 * avx512_bf16.c compiles this file a second time with AVX512_BF16 and DQ
 * (KERNELS_AVX512_BF16): the same table, but bf16 products are rounded by
 * vcvtne2ps2bf16 where that gives half.h's bits; dispatch.c picks that
 * build on CPUs that have both.
 */
#include <immintrin.h>
#include <string.h>

#include "kernels.h"
#include "half_avx512.h"

#define TILE 2048       /* elements per tile; a multiple of 64 */
#ifndef TILE_TIES      /* (overridable for experiments) */
#define TILE_TIES 8192 /* the same where ties are drawn (tile_loop.h) */
#endif
#define TILE_LAST 2048 /* the most elements of a call's last tile */
#define SETS 4     /* interleaved sets of 16 blocks in the dense Philox */
#define GROUP (SETS * 256) /* elements per Philox call: 16 SETS blocks of 16 bytes */
#define GROUP_WORDS (GROUP / 64) /* 64-bit keep words per group */
#define FILL_ALIGN 64 /* elements per part of the filler (the widest loop's step) */
#define RAW_WORDS ((TILE_TIES + GROUP) / 64 + 1)

/* Keep masks loaded from memory straight into a mask register (kmovw /
 * kmovd m): the bits of elements k ... k + 15 (k + 31) of packed bits
 * (LSB first), k a multiple of 8; reads 2 (4) bytes from byte k / 8.  On
 * Zen 4 a kmov from a general register takes about 0.8 cycle of the vector
 * pipes, one from memory 0.15 (measured beside 512-bit adds, which then
 * run at 2 per cycle), and the element loops need one per vector; gcc 12
 * turns _load_mask16 into the former, so the load is spelled out. */
typedef uint16_t u16_alias __attribute__((may_alias));
typedef uint32_t u32_alias __attribute__((may_alias));

static inline __mmask16 keep16_load(const void *bits, size_t k)
{
    __mmask16 m;
#ifdef DROPOUT_AVX512_MODEL_H /* tests/simd/avx512_model: the same bits, in C */
    memcpy(&m, (const char *)bits + k / 8, sizeof m);
#else
    __asm__("kmovw %1, %0" : "=k"(m) : "m"(*(const u16_alias *)((const char *)bits + k / 8)));
#endif
    return m;
}

static inline __mmask32 keep32_load(const void *bits, size_t k)
{
    __mmask32 m;
#ifdef DROPOUT_AVX512_MODEL_H
    memcpy(&m, (const char *)bits + k / 8, sizeof m);
#else
    __asm__("kmovd %1, %0" : "=k"(m) : "m"(*(const u32_alias *)((const char *)bits + k / 8)));
#endif
    return m;
}

typedef struct philox_avx512 {
    __m512i round_key0[PHILOX_ROUNDS]; /* key[0] + r * W0, broadcast */
    __m512i round_key1[PHILOX_ROUNDS]; /* key[1] + r * W1, broadcast */
    __m512i second_c1_xor;             /* lo(M1 * lo(stream)) ^ key[0] + W0: round 2 */
    __m512i first_c2_xor;              /* hi(stream) ^ key[1]: round 1            */
    uint32_t first_c0_word;            /* hi(M1 * lo(stream)) ^ key[0]: round 1   */
    uint32_t round2_key1;              /* key[1] + W1 */
    __m512i tie_key0[PHILOX_ROUNDS];   /* the same for the tie draws' key         */
    __m512i tie_key1[PHILOX_ROUNDS];
    __m512i stream_lo, stream_hi;      /* counter words 2 and 3                   */
    __m512i tlow;                      /* tie threshold, in 64-bit lanes          */
    __m512i t0;                        /* t0 in every byte                        */
} philox_avx512;

static void philox_init(philox_avx512 *px, const mask_stream *ms)
{
    uint32_t k0 = ms->key[0], k1 = ms->key[1];
    uint32_t tk0 = ms->tie_key[0], tk1 = ms->tie_key[1];
    for (int r = 0; r < PHILOX_ROUNDS; r++) {
        px->round_key0[r] = _mm512_set1_epi32((int)k0);
        px->round_key1[r] = _mm512_set1_epi32((int)k1);
        px->tie_key0[r] = _mm512_set1_epi32((int)tk0);
        px->tie_key1[r] = _mm512_set1_epi32((int)tk1);
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
        tk0 += PHILOX_W0;
        tk1 += PHILOX_W1;
    }
    uint64_t product1 = (uint64_t)PHILOX_M1 * ms->stream_lo;
    px->second_c1_xor = _mm512_set1_epi32((int)((uint32_t)product1 ^ (ms->key[0] + PHILOX_W0)));
    px->first_c2_xor = _mm512_set1_epi32((int)(ms->stream_hi ^ ms->key[1]));
    px->first_c0_word = (uint32_t)(product1 >> 32) ^ ms->key[0];
    px->round2_key1 = ms->key[1] + PHILOX_W1;
    px->stream_lo = _mm512_set1_epi32((int)ms->stream_lo);
    px->stream_hi = _mm512_set1_epi32((int)ms->stream_hi);
    px->tlow = _mm512_set1_epi64(ms->tlow);
    px->t0 = _mm512_set1_epi8((char)ms->t0);
}

/* One Philox round on a wide set (the tie draws: one block per 64-bit lane,
 * each word in the low 32 bits, so _mm512_mul_epu32 gives the whole product):
 * c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
 * with (hi0, lo0) = M0 * c0 and (hi1, lo1) = M1 * c2.  0x96 is the truth
 * table of a ^ b ^ c for vpternlogd. */
static inline void philox_round_avx512(__m512i *c0, __m512i *c1, __m512i *c2, __m512i *c3,
                                       __m512i k0, __m512i k1)
{
    const __m512i m0 = _mm512_set1_epi64(PHILOX_M0);
    const __m512i m1 = _mm512_set1_epi64(PHILOX_M1);
    __m512i product0 = _mm512_mul_epu32(*c0, m0);
    __m512i product1 = _mm512_mul_epu32(*c2, m1);
    *c0 = _mm512_ternarylogic_epi32(_mm512_shuffle_epi32(product1, _MM_PERM_CDAB), *c1, k0, 0x96);
    *c1 = product1;
    *c2 = _mm512_ternarylogic_epi32(_mm512_shuffle_epi32(product0, _MM_PERM_CDAB), *c3, k1, 0x96);
    *c3 = product0;
}

/* The bulk of the blocks runs in the "dense" layout: one block per 32-bit
 * lane, 16 per vector, each word in a vector of its own.  The 32 x 32 ->
 * 64-bit products of the even lanes and of the odd lanes (shifted down) take
 * one vpmuludq each; one masked dword swap each merges their high halves and
 * their low halves into dense vectors, so every multiplier lane does useful
 * work.  SETS independent sets of 16 blocks run interleaved, so one set's
 * multiply latency hides behind the others' (measured on Zen 4, a
 * Philox-only loop at n = 2^16: 0.094 ns per element with one set, 0.085
 * with two, 0.076 with four). */

static inline void mulhilo_avx512(__m512i a, __m512i m, __m512i *hi, __m512i *lo)
{
    const __m512i even = _mm512_mul_epu32(a, m);                       /* lanes 0, 2, ... */
    const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), m); /* lanes 1, 3, ... */
    *hi = _mm512_mask_shuffle_epi32(odd, 0x5555, even, _MM_PERM_CDAB);
    *lo = _mm512_mask_shuffle_epi32(even, 0xAAAA, odd, _MM_PERM_CDAB);
}

/* The keep bits of tile elements k ... k + 63 (fewer at the end of the
 * tile), for any k: a streaming head can leave k off a multiple of 16. */
static inline uint64_t tile_bits_at(const uint64_t *bits, size_t k, size_t len)
{
    size_t w = k / 64, b = k % 64;
    uint64_t v = bits[w] >> b;
    if (b != 0 && 64 * (w + 1) < len)
        v |= bits[w + 1] << (64 - b);
    return v;
}

/* 32 bf16 elements: keep ? round((float)x * s) : +0, the rounding on every
 * lane and the dropped ones zeroed after it (a kept lane's bits do not
 * depend on its neighbours). */
#ifdef KERNELS_AVX512_BF16
/* With AVX512_BF16 (avx512_bf16.c): a zeroing word permute puts elements
 * 0-15 into lo and 16-31 into hi as exact f32 (each word the high half of
 * its lane), so vcvtne2ps2bf16 writes the 32 results in order and zeroes
 * the dropped lanes in the same instruction.  It gives half.h's bits for
 * every product, NaN included, but reads f32 subnormals as zero: a vector
 * with a subnormal product takes half.h's recipe. */
KERNELS_INLINE __m512i scale32_bf16_avx512(const uint16_t *x, __m512 scale, __mmask32 keep,
                                           int s_finite)
{
    /* word 2i + 1 of lo (hi) is element i (16 + i); the even words zero */
    static const uint16_t order[2][32] = {
        {0, 0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7,
         0, 8, 0, 9, 0, 10, 0, 11, 0, 12, 0, 13, 0, 14, 0, 15},
        {0, 16, 0, 17, 0, 18, 0, 19, 0, 20, 0, 21, 0, 22, 0, 23,
         0, 24, 0, 25, 0, 26, 0, 27, 0, 28, 0, 29, 0, 30, 0, 31}};
    const __m512i raw = _mm512_loadu_si512(x);
    const __m512i f_lo = _mm512_maskz_permutexvar_epi16(0xAAAAAAAAu, _mm512_loadu_si512(order[0]), raw);
    const __m512i f_hi = _mm512_maskz_permutexvar_epi16(0xAAAAAAAAu, _mm512_loadu_si512(order[1]), raw);
    const __m512 lo = _mm512_mul_ps(_mm512_castsi512_ps(f_lo), scale);
    const __m512 hi = _mm512_mul_ps(_mm512_castsi512_ps(f_hi), scale);
    (void)s_finite; /* a NaN product rounds the same either way */
    if ((_mm512_fpclass_ps_mask(lo, 0x20) | _mm512_fpclass_ps_mask(hi, 0x20)) == 0)
        return (__m512i)_mm512_maskz_cvtne2ps_pbh(keep, hi, lo);
    const __m256i r_lo = _mm512_cvtepi32_epi16(half_round_bf16_avx512(lo));
    const __m256i r_hi = _mm512_cvtepi32_epi16(half_round_bf16_avx512(hi));
    return _mm512_maskz_mov_epi16(keep, _mm512_inserti64x4(_mm512_castsi256_si512(r_lo), r_hi, 1));
}
#else
/* Unpack with zero puts elements 0-3 of each 128-bit quarter's 8 into lo,
 * 4-7 into hi, as exact f32; the rounding puts them back in order.  A NaN
 * product needs half.h's quieting; with s finite only a NaN x makes one,
 * and the common case has none. */
KERNELS_INLINE __m512i scale32_bf16_avx512(const uint16_t *x, __m512 scale, __mmask32 keep,
                                           int s_finite)
{
    const __m512i raw = _mm512_loadu_si512(x);
    const __m512i zero = _mm512_setzero_si512();
    const __m512 lo = _mm512_mul_ps(_mm512_castsi512_ps(_mm512_unpacklo_epi16(zero, raw)), scale);
    const __m512 hi = _mm512_mul_ps(_mm512_castsi512_ps(_mm512_unpackhi_epi16(zero, raw)), scale);
    const __mmask32 nan = _mm512_cmpgt_epi16_mask(_mm512_and_si512(raw, _mm512_set1_epi16(0x7FFF)),
                                                  _mm512_set1_epi16(0x7F80));
    if (s_finite && nan == 0)
        return half_round_bf16_pair_avx512_finite(lo, hi, keep);
    return _mm512_maskz_mov_epi16(
        keep, _mm512_packus_epi32(half_round_bf16_avx512(lo), half_round_bf16_avx512(hi)));
}
#endif

/* ---- the operations: keep bits -> elements ----------------------------------- */

enum { OUT_NONE, OUT_F32, OUT_F64, OUT_BF16, OUT_F16 };

/* What one call writes besides the mask: y = keep ? x * s : +0.0. */
typedef struct out_avx512 {
    int kind;       /* OUT_* */
    const void *x;
    void *y;
    float s;
    double s64;
    int stream;     /* streaming stores (y element-aligned) */
    size_t head;    /* streaming: elements before y's first 64-byte boundary, per tile */
    int s_finite;   /* bf16: s is not +Inf (then only a NaN x makes a NaN product) */
} out_avx512;

typedef out_avx512 out_t; /* for tile_filler.h and tile_loop.h */
typedef uint64_t keep_t;  /* a finished tile: keep bits, 64 per word */

/* Tile elements [k, end) of the tile at element `done` of the call.  Dropped
 * lanes: maskz_mul writes +0.0 whatever x is. */
KERNELS_INLINE void out_range_in(int kind, int plain, const out_avx512 *out, const uint64_t *bits, size_t len,
                                 size_t done, size_t k, size_t end)
{
    /* plain (a constant): a whole part of a group, tile_filler.h's common case */
    const int stream = !plain && out->stream;
    if (plain && k % FILL_ALIGN != 0)
        __builtin_unreachable();
    switch (kind) {
    case OUT_F32: {
        const float *x = (const float *)out->x + done;
        float *y = (float *)out->y + done;
        const __m512 scale = _mm512_set1_ps(out->s);
        if (stream) {
            /* streaming stores need 64-byte-aligned y: the head is masked */
            if (k == 0 && out->head) {
                const size_t head = out->head < end ? out->head : end;
                __mmask16 valid = (__mmask16)((1u << head) - 1u);
                __m512 v = _mm512_maskz_loadu_ps(valid, x);
                _mm512_mask_storeu_ps(y, valid, _mm512_maskz_mul_ps((__mmask16)bits[0], v, scale));
                k = head;
            }
            for (; k + 16 <= end; k += 16) {
                __mmask16 keep = (__mmask16)tile_bits_at(bits, k, len);
                _mm512_stream_ps(y + k, _mm512_maskz_mul_ps(keep, _mm512_loadu_ps(x + k), scale));
            }
        } else if (plain) {
            /* a whole part: one vector per step (inside the Philox rounds
             * this beats the four-vector step below) */
            for (; k < end; k += 16)
                _mm512_storeu_ps(y + k, _mm512_maskz_mul_ps(keep16_load(bits, k),
                                                            _mm512_loadu_ps(x + k), scale));
        } else {
            for (; k + 64 <= end && k % 64 == 0; k += 64) {
                /* four vectors per step, loads first: 7-9 % faster than one
                 * vector per step (Zen 4, n = 2^16, alternating) */
                __m512 v0 = _mm512_loadu_ps(x + k), v1 = _mm512_loadu_ps(x + k + 16);
                __m512 v2 = _mm512_loadu_ps(x + k + 32), v3 = _mm512_loadu_ps(x + k + 48);
                _mm512_storeu_ps(y + k, _mm512_maskz_mul_ps(keep16_load(bits, k), v0, scale));
                _mm512_storeu_ps(y + k + 16,
                                 _mm512_maskz_mul_ps(keep16_load(bits, k + 16), v1, scale));
                _mm512_storeu_ps(y + k + 32,
                                 _mm512_maskz_mul_ps(keep16_load(bits, k + 32), v2, scale));
                _mm512_storeu_ps(y + k + 48,
                                 _mm512_maskz_mul_ps(keep16_load(bits, k + 48), v3, scale));
            }
            for (; k + 16 <= end; k += 16) {
                __mmask16 keep = (__mmask16)(bits[k / 64] >> (k % 64));
                _mm512_storeu_ps(y + k, _mm512_maskz_mul_ps(keep, _mm512_loadu_ps(x + k), scale));
            }
        }
        if (k < end) {
            /* the last end - k < 16 elements, masked */
            __mmask16 valid = (__mmask16)((1u << (end - k)) - 1u);
            __mmask16 keep = (__mmask16)tile_bits_at(bits, k, len);
            __m512 v = _mm512_maskz_loadu_ps(valid, x + k);
            _mm512_mask_storeu_ps(y + k, valid, _mm512_maskz_mul_ps(keep, v, scale));
        }
        break;
    }
    case OUT_F64: {
        const double *x = (const double *)out->x + done;
        double *y = (double *)out->y + done;
        const __m512d scale = _mm512_set1_pd(out->s64);
        if (stream) {
            if (k == 0 && out->head) {
                const size_t head = out->head < end ? out->head : end;
                __mmask8 valid = (__mmask8)((1u << head) - 1u);
                __m512d v = _mm512_maskz_loadu_pd(valid, x);
                _mm512_mask_storeu_pd(y, valid, _mm512_maskz_mul_pd((__mmask8)bits[0], v, scale));
                k = head;
            }
            for (; k + 8 <= end; k += 8) {
                __mmask8 keep = (__mmask8)tile_bits_at(bits, k, len);
                _mm512_stream_pd(y + k, _mm512_maskz_mul_pd(keep, _mm512_loadu_pd(x + k), scale));
            }
        } else {
            for (; k + 32 <= end && k % 32 == 0; k += 32) {
                /* four vectors per step, loads first */
                /* the low 8 of each 16 bits loaded */
                __m512d v0 = _mm512_loadu_pd(x + k), v1 = _mm512_loadu_pd(x + k + 8);
                __m512d v2 = _mm512_loadu_pd(x + k + 16), v3 = _mm512_loadu_pd(x + k + 24);
                _mm512_storeu_pd(y + k, _mm512_maskz_mul_pd((__mmask8)keep16_load(bits, k), v0, scale));
                _mm512_storeu_pd(y + k + 8,
                                 _mm512_maskz_mul_pd((__mmask8)keep16_load(bits, k + 8), v1, scale));
                _mm512_storeu_pd(y + k + 16,
                                 _mm512_maskz_mul_pd((__mmask8)keep16_load(bits, k + 16), v2, scale));
                _mm512_storeu_pd(y + k + 24,
                                 _mm512_maskz_mul_pd((__mmask8)keep16_load(bits, k + 24), v3, scale));
            }
            for (; k + 8 <= end; k += 8) {
                __mmask8 keep = (__mmask8)(bits[k / 64] >> (k % 64));
                _mm512_storeu_pd(y + k, _mm512_maskz_mul_pd(keep, _mm512_loadu_pd(x + k), scale));
            }
        }
        if (k < end) {
            __mmask8 valid = (__mmask8)((1u << (end - k)) - 1u);
            __mmask8 keep = (__mmask8)tile_bits_at(bits, k, len);
            __m512d v = _mm512_maskz_loadu_pd(valid, x + k);
            _mm512_mask_storeu_pd(y + k, valid, _mm512_maskz_mul_pd(keep, v, scale));
        }
        break;
    }
    case OUT_BF16:
    case OUT_F16: {
        const int bf16 = kind == OUT_BF16;
        const uint16_t *x = (const uint16_t *)out->x + done;
        uint16_t *y = (uint16_t *)out->y + done;
        const __m512 scale = _mm512_set1_ps(out->s);
        const int nt = stream; /* streaming stores from y's first 64-byte boundary */
        for (; nt && k < out->head && k < end; k++)
            kernels_store_u16(y, k, half_dropout_one(bf16, (int)(tile_bits_at(bits, k, len) & 1u),
                                                       kernels_load_u16(x, k), out->s));
        for (; bf16 && !nt && k + 64 <= end && k % 64 == 0; k += 64) {
            /* bf16, 64 elements per step */
            const __m512i r0 = scale32_bf16_avx512(x + k, scale, keep32_load(bits, k), out->s_finite);
            const __m512i r1 =
                scale32_bf16_avx512(x + k + 32, scale, keep32_load(bits, k + 32), out->s_finite);
            _mm512_storeu_si512(y + k, r0);
            _mm512_storeu_si512(y + k + 32, r1);
        }
        for (; bf16 && k + 32 <= end; k += 32) {
            /* bf16, 32 elements */
            const __mmask32 keep = (__mmask32)tile_bits_at(bits, k, len);
            const __m512i res = scale32_bf16_avx512(x + k, scale, keep, out->s_finite);
            if (nt)
                _mm512_stream_si512((void *)(y + k), res);
            else
                _mm512_storeu_si512(y + k, res);
        }
        for (; !bf16 && !nt && k + 64 <= end && k % 64 == 0; k += 64) {
            /* f16, 64 elements per step, loads first */
            __m512 v[4];
            for (int i = 0; i < 4; i++)
                v[i] = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(x + k + 16 * i)));
            for (int i = 0; i < 4; i++)
                _mm256_storeu_si256(
                    (__m256i *)(y + k + 16 * i),
                    _mm512_cvtps_ph(_mm512_maskz_mul_ps(keep16_load(bits, k + 16 * i), v[i], scale),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        }
        for (; !bf16 && k + 16 <= end; k += 16) {
            /* f16, 16 elements: maskz_mul zeroes the dropped lanes before
             * vcvtps2ph, and +0.0 converts to 0x0000 */
            const __mmask16 keep = (__mmask16)tile_bits_at(bits, k, len);
            const __m512 v = _mm512_maskz_mul_ps(
                keep, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(x + k))), scale);
            const __m256i h = _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            if (nt)
                _mm256_stream_si256((__m256i *)(y + k), h);
            else
                _mm256_storeu_si256((__m256i *)(y + k), h);
        }
        for (; k < end; k++) /* the last elements of the call */
            kernels_store_u16(y, k, half_dropout_one(bf16, (int)(tile_bits_at(bits, k, len) & 1u),
                                                       kernels_load_u16(x, k), out->s));
        break;
    }
    default:
        break;
    }
}

KERNELS_INLINE void out_range(int kind, const out_avx512 *out, const uint64_t *bits, size_t len, size_t done,
                              size_t k, size_t end)
{
    out_range_in(kind, 0, out, bits, len, done, k, end);
}

/* Philox4x32-10 of 16 SETS blocks from `block`: out[v] = the 64 random
 * bytes of blocks block + 4v ... block + 4v + 3, in element order.
 * Set t, lane l holds block 16t + 4 (l % 4) + l / 4: the 4 x 4 transpose of
 * 32-bit words inside each 128-bit quarter at the end then puts the blocks
 * of lanes v, 4 + v, 8 + v, 12 + v, in order, into out[4t + v]. */
#define FILL_PARTS 4  /* parts of the filler per Philox group: after rounds 3, 5, 7, 9 */
#include "tile_filler.h"


KERNELS_INLINE void philox_dense_avx512(const philox_avx512 *px, uint64_t block,
                                        __m512i out[4 * SETS], const filler *fill, int kind)
{
    const __m512i m0 = _mm512_set1_epi32((int)PHILOX_M0);
    const __m512i m1 = _mm512_set1_epi32((int)PHILOX_M1);
    const __m512i lane_block = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    const __m512i one = _mm512_set1_epi32(1);
    __m512i c0[SETS], c1[SETS], c2[SETS], c3[SETS];
    if ((block >> 32) == ((block + 16 * SETS - 1) >> 32)) {
        /* hi(j) is the same for every block of the call (all but one call
         * in 2^26): after round 1, c0 = hi(M1 lo(stream)) ^ hi(j) ^ k0 is
         * the same in every lane, so round 2's product M0 c0 is one scalar
         * multiply, and c3 after round 2 a constant.  This saves one of the
         * two vector products of round 2 and the carries of round 1. */
        const uint64_t product0 = (uint64_t)PHILOX_M0 * ((uint32_t)(block >> 32) ^ px->first_c0_word);
        const __m512i c2_xor = _mm512_set1_epi32((int)((uint32_t)(product0 >> 32) ^ px->round2_key1));
        const __m512i c3_round2 = _mm512_set1_epi32((int)(uint32_t)product0);
        for (int t = 0; t < SETS; t++) {
            const uint32_t base = (uint32_t)(block + 16 * (uint64_t)t);
            const __m512i lo = _mm512_add_epi32(_mm512_set1_epi32((int)base), lane_block);
            __m512i hi0, lo0;
            mulhilo_avx512(lo, m0, &hi0, &lo0);
            c2[t] = _mm512_xor_si512(hi0, px->first_c2_xor);
            c3[t] = lo0;
        }
        for (int t = 0; t < SETS; t++) {
            __m512i hi1, lo1;
            mulhilo_avx512(c2[t], m1, &hi1, &lo1);
            c0[t] = _mm512_xor_si512(hi1, px->second_c1_xor);
            c1[t] = lo1;
            c2[t] = _mm512_xor_si512(c3[t], c2_xor);
            c3[t] = c3_round2;
        }
    } else {
        for (int t = 0; t < SETS; t++) {
            /* j = block + 16t + lane_block: lo(j) by a 32-bit add, hi(j)
             * plus the carry (lo(j) < offset, unsigned) */
            const uint64_t base = block + 16 * (uint64_t)t;
            const __m512i lo = _mm512_add_epi32(_mm512_set1_epi32((int)(uint32_t)base), lane_block);
            const __mmask16 carry = _mm512_cmplt_epu32_mask(lo, lane_block);
            const __m512i hi_base = _mm512_set1_epi32((int)(uint32_t)(base >> 32));
            const __m512i hi = _mm512_mask_add_epi32(hi_base, carry, hi_base, one);
            /* Round 1, with c2 = lo(stream) the same everywhere (precomputed):
             * c0, c1, c2, c3 = hi(M1 c2) ^ hi(j) ^ k0, lo(M1 c2), hi(M0 lo(j)) ^ c3 ^ k1, lo(M0 lo(j));
             * c1 is the constant lo(M1 c2), folded into round 2's key */
            __m512i hi0, lo0;
            mulhilo_avx512(lo, m0, &hi0, &lo0);
            c0[t] = _mm512_xor_si512(hi, _mm512_set1_epi32((int)px->first_c0_word));
            c2[t] = _mm512_xor_si512(hi0, px->first_c2_xor);
            c3[t] = lo0;
        }
        /* Round 2: c1 ^ k0 is the constant second_c1_xor */
        for (int t = 0; t < SETS; t++) {
            __m512i hi0, lo0, hi1, lo1;
            mulhilo_avx512(c0[t], m0, &hi0, &lo0);
            mulhilo_avx512(c2[t], m1, &hi1, &lo1);
            c0[t] = _mm512_xor_si512(hi1, px->second_c1_xor);
            c1[t] = lo1;
            c2[t] = _mm512_ternarylogic_epi32(hi0, c3[t], px->round_key1[1], 0x96);
            c3[t] = lo0;
        }
    }
    /* Rounds 3 ... 10, every other one followed by a quarter of the
     * filler's elements: their loads, multiplies and stores run while the
     * rounds' multiplies wait on each other (interleaved in the source, so
     * the core's window always holds both kinds of work).  Quarters beat
     * eighths by 2-5 % here (f32 and bf16 forward, n = 2^16, Zen 4); on AVX2
     * eighths stay best. */
    for (int r = 2; r < PHILOX_ROUNDS; r++) {
        if (r % 2 == 0)
            fill_step(fill, kind, (size_t)(r - 2) / 2, FILL_PARTS);
        for (int t = 0; t < SETS; t++) {
            __m512i hi0, lo0, hi1, lo1;
            mulhilo_avx512(c0[t], m0, &hi0, &lo0);
            mulhilo_avx512(c2[t], m1, &hi1, &lo1);
            c0[t] = _mm512_ternarylogic_epi32(hi1, c1[t], px->round_key0[r], 0x96);
            c1[t] = lo1;
            c2[t] = _mm512_ternarylogic_epi32(hi0, c3[t], px->round_key1[r], 0x96);
            c3[t] = lo0;
        }
    }
    /* Words to blocks: a 4 x 4 transpose of 32-bit words inside each
     * 128-bit quarter puts the 16 bytes of each block together. */
    for (int t = 0; t < SETS; t++) {
        const __m512i u0 = _mm512_unpacklo_epi32(c0[t], c1[t]);
        const __m512i u1 = _mm512_unpackhi_epi32(c0[t], c1[t]);
        const __m512i u2 = _mm512_unpacklo_epi32(c2[t], c3[t]);
        const __m512i u3 = _mm512_unpackhi_epi32(c2[t], c3[t]);
        out[4 * t + 0] = _mm512_unpacklo_epi64(u0, u2);
        out[4 * t + 1] = _mm512_unpackhi_epi64(u0, u2);
        out[4 * t + 2] = _mm512_unpacklo_epi64(u1, u3);
        out[4 * t + 3] = _mm512_unpackhi_epi64(u1, u3);
    }
}

/* Tie draws of the 8 * sets8 elements base + pos[0 ... 8 sets8 - 1], one
 * per 64-bit lane: bit i of the result is set if (philox({lo(e), hi(e),
 * lo(stream), hi(stream)}, tie_key)[0] & 0xFFFFFF) < tlow.  The 16-bit
 * positions are widened to indices in a register. */
KERNELS_INLINE unsigned tie_draws_avx512_sets(const philox_avx512 *px, __m512i base,
                                              const uint16_t *pos, int sets8)
{
    const __m512i low24 = _mm512_set1_epi64(0xFFFFFF);
    __m512i c0[2], c1[2], c2[2], c3[2];
    for (int t = 0; t < sets8; t++) {
        const __m512i e = _mm512_add_epi64(
            base, _mm512_cvtepu16_epi64(_mm_loadu_si128((const __m128i *)(pos + 8 * t))));
        c0[t] = e;                        /* lo(e) in the low 32 bits */
        c1[t] = _mm512_srli_epi64(e, 32); /* hi(e) */
        c2[t] = px->stream_lo;
        c3[t] = px->stream_hi;
    }
    for (int r = 0; r < PHILOX_ROUNDS; r++)
        for (int t = 0; t < sets8; t++)
            philox_round_avx512(&c0[t], &c1[t], &c2[t], &c3[t], px->tie_key0[r], px->tie_key1[r]);
    unsigned bits = 0;
    for (int t = 0; t < sets8; t++) /* keep = (word 0 & 0xFFFFFF) < tlow */
        bits |= (unsigned)_mm512_cmplt_epu64_mask(_mm512_and_si512(c0[t], low24), px->tlow)
                << (8 * t);
    return bits;
}

/* The tie draws of `count` elements base + pos[i]: 16 at a time, or 8 when
 * no more than 8 are left (at p = 0.1 a tile holds 8 ties on average, so
 * most tiles need one vector of draws, not two).  pos[] must be readable,
 * zero or not, up to 16 entries past count (the lanes past count are drawn
 * and ignored).  Bit pos[i] of raw is set if element base + pos[i] is
 * kept.  Requires tlow != 0. */
static void tie_draws_avx512(const philox_avx512 *px, uint64_t base, const uint16_t *pos,
                             size_t count, uint64_t *raw)
{
    const __m512i basev = _mm512_set1_epi64((long long)base);
    for (size_t b = 0; b < count; b += 16) {
        const unsigned bits = count - b > 8 ? tie_draws_avx512_sets(px, basev, pos + b, 2)
                                            : tie_draws_avx512_sets(px, basev, pos + b, 1);
        for (size_t i = 0; i < 16 && b + i < count; i++)
            raw[pos[b + i] / 64] |= (uint64_t)((bits >> i) & 1u) << (pos[b + i] % 64);
    }
}

/* One tile's keep bits: bit k % 64 of bits[k / 64] is element first + k,
 * ties resolved, bits past len zero, once every group is done and
 * tile_finish() has run.  raw[] holds them from the tile's first block on
 * (o = first % 16 bits earlier) while the groups run. */
typedef struct tile_avx512 {
    uint64_t raw[RAW_WORDS];
    uint64_t bits[TILE_TIES / 64];
    uint64_t first;
    size_t len, o, groups;
    /* the 64-element words that hold a tie: their tie bits and word index */
    size_t tie_words;
    uint64_t tie_bits[RAW_WORDS - 1];
    uint16_t tie_word[RAW_WORDS - 1];
} tile_avx512;

static inline void tile_begin(tile_avx512 *t, uint64_t first, size_t len)
{
    t->first = first;
    t->len = len;
    t->o = (size_t)(first % MASK_BLOCK_ELEMENTS);
    t->groups = (t->o + len + GROUP - 1) / GROUP;
    t->tie_words = 0;
}

/* Group g: Philox of its 16 SETS blocks; one unsigned byte compare per 64
 * elements gives 64 keep bits (r < t0) and, when ties matter, another the
 * tie bits (r == t0, 1 in 256). */
KERNELS_INLINE void tile_group(tile_avx512 *t, const philox_avx512 *px, size_t g,
                               const filler *fill, int kind, int ties)
{
    __m512i r[4 * SETS];
    philox_dense_avx512(px, t->first / MASK_BLOCK_ELEMENTS + 16 * SETS * g, r, fill, kind);
    size_t tie_words = t->tie_words; /* local: not through memory per store */
    for (int v = 0; v < 4 * SETS; v++) {
        t->raw[GROUP_WORDS * g + (size_t)v] = _mm512_cmplt_epu8_mask(r[v], px->t0);
        if (!ties)
            continue;
        /* words with a tie are listed without a branch: always store,
         * count if nonzero */
        uint64_t tie = _mm512_cmpeq_epi8_mask(r[v], px->t0);
        t->tie_bits[tie_words] = tie;
        t->tie_word[tie_words] = (uint16_t)(GROUP_WORDS * g + (size_t)v);
        tie_words += tie != 0;
    }
    t->tie_words = tie_words;
}

/* After every group: the ties of the tile in one batch (their positions
 * first, then the tie draws 16 at a time; ties before o or past o + len
 * belong to other tiles; with tlow == 0 every tie drops, its keep bit is
 * already 0), then bits = raw >> o. */
static void tile_finish(tile_avx512 *t, const mask_stream *ms, const philox_avx512 *px)
{
    const size_t o = t->o, len = t->len;
    t->raw[GROUP_WORDS * t->groups] = 0;
    if (ms->tlow != 0 && t->tie_words != 0) {
        uint16_t tie_pos[TILE_TIES + GROUP + 16];
        size_t tie_count = 0;
        for (size_t i = 0; i < t->tie_words; i++) {
            for (uint64_t b = t->tie_bits[i]; b != 0; b &= b - 1) {
                size_t pos = 64 * (size_t)t->tie_word[i] + (size_t)__builtin_ctzll(b);
                tie_pos[tie_count] = (uint16_t)pos;
                tie_count += (pos >= o) & (pos < o + len);
            }
        }
        if (tie_count) {
            memset(tie_pos + tie_count, 0, 16 * sizeof tie_pos[0]); /* lanes past the last tie */
            tie_draws_avx512(px, t->first - o, tie_pos, tie_count, t->raw);
        }
    }
    const size_t words = (len + 63) / 64;
    for (size_t w = 0; w < words; w++)
        t->bits[w] = o == 0 ? t->raw[w] : (t->raw[w] >> o) | (t->raw[w + 1] << (64 - o));
    if (len % 64)
        t->bits[words - 1] &= ((uint64_t)1 << (len % 64)) - 1;
}


typedef philox_avx512 philox_t; /* for tile_loop.h */
typedef tile_avx512 tile_t;

/* The finished tile's keep bits, element 0 first. */
static inline const keep_t *tile_keep(const tile_t *t)
{
    return t->bits;
}

/* mask bytes 0 ... ceil(len/8) - 1 (little-endian words: bit k % 8 of byte k / 8) */
static inline void tile_store_mask(const tile_t *t, uint8_t *mask)
{
    memcpy(mask, t->bits, (t->len + 7) / 8);
}

static inline void stream_fence(void)
{
    _mm_sfence();
}

#define VECTOR_BYTES 64 /* streaming stores start at y's first such boundary */
#include "tile_loop.h"

static void mask_avx512(const mask_stream *ms, uint64_t first, size_t n, uint8_t *mask)
{
    const out_avx512 out = {.kind = OUT_NONE};
    run_tiles(ms, first, n, &out, mask);
}

/* Bits k ... k + 15 of a packed mask of n bits, for any k < n; reads only
 * the mask's own bytes (bits past n come out as whatever those bytes hold,
 * and the callers mask them off). */
static inline unsigned mask_bits16_at(const uint8_t *mask, size_t k, size_t n)
{
    const size_t q = k / 8, bytes = (n + 7) / 8;
    uint32_t v = mask[q];
    if (q + 1 < bytes)
        v |= (uint32_t)mask[q + 1] << 8;
    if (k % 8 != 0 && q + 2 < bytes)
        v |= (uint32_t)mask[q + 2] << 16;
    return (unsigned)(v >> (k % 8)) & 0xFFFFu;
}

static void apply_f32_avx512(size_t n, const kernel_consts *c, const uint8_t *mask,
                             const void *dy_, void *dx_, int stream)
{
    const float *dy = dy_, s = c->s32;
    float *dx = dx_;
    const __m512 scale = _mm512_set1_ps(s);
    size_t k = 0;
    if (stream && kernels_nontemporal_ok(dx, sizeof *dx)) {
        /* streaming stores need 64-byte-aligned dx: the first few are masked */
        size_t head = kernels_nontemporal_head(dx, 64, sizeof *dx);
        head = head < n ? head : n;
        if (head) {
            __mmask16 valid = (__mmask16)((1u << head) - 1u);
            __mmask16 keep = (__mmask16)mask_bits16_at(mask, 0, n);
            __m512 v = _mm512_maskz_loadu_ps(valid, dy);
            _mm512_mask_storeu_ps(dx, valid, _mm512_maskz_mul_ps(keep, v, scale));
            k = head;
        }
        for (; k + 16 <= n; k += 16) {
            __mmask16 keep = (__mmask16)mask_bits16_at(mask, k, n);
            _mm512_stream_ps(dx + k, _mm512_maskz_mul_ps(keep, _mm512_loadu_ps(dy + k), scale));
        }
        _mm_sfence(); /* streaming stores are weakly ordered: done before we return */
    }
    for (; k + 16 <= n; k += 16) {
        /* dx[k..k+15] = keep ? dy * s : +0.0, keep = mask bytes k/8, k/8 + 1 */
        __mmask16 keep = keep16_load(mask, k);
        _mm512_storeu_ps(dx + k, _mm512_maskz_mul_ps(keep, _mm512_loadu_ps(dy + k), scale));
    }
    if (k < n) {
        /* the last n - k < 16 elements, masked (k may be off a multiple of 8
         * after a streaming head) */
        __mmask16 valid = (__mmask16)((1u << (n - k)) - 1u);
        __mmask16 keep = (__mmask16)mask_bits16_at(mask, k, n);
        __m512 v = _mm512_maskz_loadu_ps(valid, dy + k);
        _mm512_mask_storeu_ps(dx + k, valid, _mm512_maskz_mul_ps(keep, v, scale));
    }
}

static void apply_f64_avx512(size_t n, const kernel_consts *c, const uint8_t *mask,
                             const void *dy_, void *dx_, int stream)
{
    const double *dy = dy_, s = c->s;
    double *dx = dx_;
    const __m512d scale = _mm512_set1_pd(s);
    size_t k = 0;
    if (stream && kernels_nontemporal_ok(dx, sizeof *dx)) {
        size_t head = kernels_nontemporal_head(dx, 64, sizeof *dx);
        head = head < n ? head : n;
        if (head) {
            __mmask8 valid = (__mmask8)((1u << head) - 1u);
            __mmask8 keep = (__mmask8)mask_bits16_at(mask, 0, n);
            __m512d v = _mm512_maskz_loadu_pd(valid, dy);
            _mm512_mask_storeu_pd(dx, valid, _mm512_maskz_mul_pd(keep, v, scale));
            k = head;
        }
        for (; k + 8 <= n; k += 8) {
            __mmask8 keep = (__mmask8)mask_bits16_at(mask, k, n);
            _mm512_stream_pd(dx + k, _mm512_maskz_mul_pd(keep, _mm512_loadu_pd(dy + k), scale));
        }
        _mm_sfence();
    }
    for (; k + 16 <= n; k += 8) {
        /* dx[k..k+7] = keep ? dy * s : +0.0, keep = mask byte k/8 (the
         * low half of the 16 bits loaded) */
        _mm512_storeu_pd(dx + k, _mm512_maskz_mul_pd((__mmask8)keep16_load(mask, k),
                                                     _mm512_loadu_pd(dy + k), scale));
    }
    for (; k + 8 <= n; k += 8) /* the last byte of the mask */
        _mm512_storeu_pd(dx + k, _mm512_maskz_mul_pd(mask[k / 8], _mm512_loadu_pd(dy + k), scale));
    if (k < n) {
        __mmask8 valid = (__mmask8)((1u << (n - k)) - 1u);
        __mmask8 keep = (__mmask8)mask_bits16_at(mask, k, n);
        __m512d v = _mm512_maskz_loadu_pd(valid, dy + k);
        _mm512_mask_storeu_pd(dx + k, valid, _mm512_maskz_mul_pd(keep, v, scale));
    }
}

/* ---- from bits: bf16/f16, the fused residual and its column sums ------------ */

/* The keep bits of elements k ... k + 31 of a packed mask of n bits, k + 32
 * <= n, for any k (a streaming head can leave k off a multiple of 8). */
static inline __mmask32 keep32_at(const uint8_t *bits, size_t k, size_t n)
{
    if (k % 8 == 0)
        return keep32_load(bits, k);
    return (__mmask32)(mask_bits16_at(bits, k, n) | mask_bits16_at(bits, k + 16, n) << 16);
}

/* The same for elements k ... k + 15, k + 16 <= n. */
static inline __mmask16 keep16_at(const uint8_t *bits, size_t k, size_t n)
{
    return k % 8 == 0 ? keep16_load(bits, k) : (__mmask16)mask_bits16_at(bits, k, n);
}

/* bf16 and f16 from bits: plain stores, or streaming stores when asked
 * (a call whose output leaves the cache anyway: no read-for-ownership of
 * y, the same rule as the fused forward's) from y's first 64-byte boundary
 * on, the elements before it one by one, with x prefetched
 * (KERNELS_PREFETCH_BYTES). */
static void apply_bf16_avx512(size_t n, const kernel_consts *c, const uint8_t *bits,
                              const void *x_, void *y_, int nontemporal)
{
    const uint16_t *x = x_;
    uint16_t *y = y_;
    const float s = c->s32;
    const __m512 sv = _mm512_set1_ps(s);
    const int s_finite = s <= 3.4028234663852886e38f;
    size_t k = 0;
    if (nontemporal && kernels_nontemporal_ok(y, sizeof *y)) {
        for (const size_t head = kernels_nontemporal_head(y, 64, sizeof *y); k < head && k < n; k++)
            kernels_store_u16(y, k, half_dropout_one(1, (int)bits_at(bits, k), kernels_load_u16(x, k), s));
        for (; k + 32 <= n; k += 32) {
            __builtin_prefetch((const char *)(x + k) + KERNELS_PREFETCH_BYTES, 0, 3);
            _mm512_stream_si512((void *)(y + k),
                                scale32_bf16_avx512(x + k, sv, keep32_at(bits, k, n), s_finite));
        }
        _mm_sfence(); /* streaming stores are weakly ordered: done before we return */
    }
    for (; k + 32 <= n; k += 32)
        _mm512_storeu_si512(y + k, scale32_bf16_avx512(x + k, sv, keep32_load(bits, k), s_finite));
    for (; k < n; k++)
        kernels_store_u16(y, k, half_dropout_one(1, (int)bits_at(bits, k), kernels_load_u16(x, k), s));
}

/* 16 f16 elements: keep ? round((float)x * s) : +0 (maskz_mul zeroes the
 * dropped lanes before vcvtps2ph, and +0.0 converts to 0x0000). */
static inline __m256i scale16_f16_avx512(const uint16_t *x, __m512 scale, __mmask16 keep)
{
    const __m512 v = _mm512_maskz_mul_ps(keep, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)x)),
                                         scale);
    return _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

static void apply_f16_avx512(size_t n, const kernel_consts *c, const uint8_t *bits,
                             const void *x_, void *y_, int nontemporal)
{
    const uint16_t *x = x_;
    uint16_t *y = y_;
    const float s = c->s32;
    const __m512 sv = _mm512_set1_ps(s);
    size_t k = 0;
    if (nontemporal && kernels_nontemporal_ok(y, sizeof *y)) {
        for (const size_t head = kernels_nontemporal_head(y, 64, sizeof *y); k < head && k < n; k++)
            kernels_store_u16(y, k, half_dropout_one(0, (int)bits_at(bits, k), kernels_load_u16(x, k), s));
        for (; k + 16 <= n; k += 16) {
            __builtin_prefetch((const char *)(x + k) + KERNELS_PREFETCH_BYTES, 0, 3);
            _mm256_stream_si256((__m256i *)(y + k), scale16_f16_avx512(x + k, sv, keep16_at(bits, k, n)));
        }
        _mm_sfence();
    }
    for (; k + 16 <= n; k += 16)
        _mm256_storeu_si256((__m256i *)(y + k), scale16_f16_avx512(x + k, sv, keep16_load(bits, k)));
    for (; k < n; k++)
        kernels_store_u16(y, k, half_dropout_one(0, (int)bits_at(bits, k), kernels_load_u16(x, k), s));
}

/* y, with any NaN lane the canonical NaN (kernels_nan_canonical_f32) */
static inline __m512 nan_canonical_avx512(__m512 y)
{
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(y, y, _CMP_UNORD_Q), y,
                                _mm512_castsi512_ps(_mm512_set1_epi32((int)KERNELS_NAN_F32)));
}

static void bias_residual_f32_avx512(size_t n, const kernel_consts *c, const uint8_t *bits,
                                     const void *x_, const void *bias_, const void *residual_,
                                     void *y_, int stream)
{
    const float *x = x_, *bias = bias_, *residual = residual_, s = c->s32;
    float *y = y_;
    const __m512 sv = _mm512_set1_ps(s);
    size_t k = 0;
    if (stream && kernels_nontemporal_ok(y, sizeof *y)) {
        /* streaming stores from the first 64-byte boundary of y */
        for (size_t head = kernels_nontemporal_head(y, 64, sizeof *y); k < head && k < n; k++)
            kernels_bias_residual_one_f32(bits, k, s, x, bias, residual, y);
        for (; k + 16 <= n; k += 16) {
            __mmask16 keep = (__mmask16)(bits8_at(bits, k) | bits8_at(bits, k + 8) << 8);
            __m512 t = _mm512_add_ps(_mm512_loadu_ps(x + k), _mm512_loadu_ps(bias + k));
            __m512 u = _mm512_maskz_mul_ps(keep, t, sv);
            __m512 r = _mm512_loadu_ps(residual + k);
            _mm512_stream_ps(y + k, nan_canonical_avx512(_mm512_add_ps(r, u)));
        }
        _mm_sfence();
    }
    for (; k + 16 <= n; k += 16) {
        __m512 t = _mm512_add_ps(_mm512_loadu_ps(x + k), _mm512_loadu_ps(bias + k));
        __m512 u = _mm512_maskz_mul_ps(keep16_load(bits, k), t, sv);
        __m512 r = _mm512_loadu_ps(residual + k);
        _mm512_storeu_ps(y + k, nan_canonical_avx512(_mm512_add_ps(r, u)));
    }
    for (; k < n; k++)
        kernels_bias_residual_one_f32(bits, k, s, x, bias, residual, y);
}

/* Column sums 16 columns at a time, two vectors of 8 doubles held in
 * registers down the rows, then stored once: the same additions in the same
 * order as the scalar loop. */
static void column_sums_f32_avx512(size_t width, size_t rows, size_t stride, const void *x_,
                                   double *sum)
{
    const float *x = x_;
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
    kernels_column_sums_f32(j, width, rows, stride, x, sum); /* the last columns */
}

#ifdef KERNELS_AVX512_BF16
const dropout_kernels dropout_kernels_avx512_bf16 = { /* avx512_bf16.c */
#else
const dropout_kernels dropout_kernels_avx512 = {
#endif
    .isa = "avx512",
    .mask = mask_avx512,
    .forward = TILE_FORWARD_SLOTS,
    .apply = {[DROPOUT_DTYPE_F32] = apply_f32_avx512, [DROPOUT_DTYPE_F64] = apply_f64_avx512,
              [DROPOUT_DTYPE_BF16] = apply_bf16_avx512, [DROPOUT_DTYPE_F16] = apply_f16_avx512},
    .bias_residual = {[DROPOUT_DTYPE_F32] = bias_residual_f32_avx512},
    .column_sums = {[DROPOUT_DTYPE_F32] = column_sums_f32_avx512},
};
