/*
 * avx2.c — the kernel table for x86-64 AVX2 (with F16C, which every AVX2 CPU
 * has and dispatch.c checks).  Same bits as scalar.c.
 *
 * Work goes tile by tile (TILE elements, small enough that the keep bytes
 * stay in L1 beside x and y):
 *   1. Philox in the dense layout (one block per 32-bit lane: 8 blocks per
 *      vector, SETS sets interleaved, GROUP elements per call), transposed
 *      so the random bytes come out in element order; keep byte = 0xFF if
 *      r < t0 else 0x00; the positions where r == t0 (a tie, 1 in 256) are
 *      collected as bits.
 *   2. The ties of the tile are resolved in one batch afterwards, their tie
 *      draws (another Philox, SPEC section 2) computed 8 at a time.
 *   3. The operation reads the keep bytes: sign-extended to lane masks for
 *      y = (x * s) & mask, or movemask'ed into packed mask bits.
 * Steps 1-2 of tile t + 1 run interleaved with step 3 of tile t
 * (run_tiles_avx2), so compute and memory traffic overlap.  A tile starts
 * at any element: Philox works on whole blocks from first / 16, and the
 * operation reads the keep bytes from first % 16 on.
 */
#include <immintrin.h>
#include <string.h>

#include "kernels.h"
#include "half_avx2.h"

#define TILE 2048 /* elements per tile; a multiple of 8 so masks stay byte-aligned */
#ifndef TILE_TIES      /* (overridable for experiments) */
#define TILE_TIES TILE /* the same where ties are drawn (tile_loop.h) */
#endif
#define TILE_LAST TILE /* the most elements of a call's last tile */
#define SETS 4 /* interleaved sets of 8 blocks in the dense Philox */
#define GROUP (SETS * 128) /* elements per Philox call: 8 SETS blocks of 16 bytes */
#define GROUP_WORDS (GROUP / 32) /* 32-element keep words per group */
#define FILL_ALIGN 32 /* elements per part of the filler (the widest loop's step) */
#define KEEP_BYTES (TILE_TIES + GROUP + 32) /* + a block offset, + slack for 32-byte reads */

/* Everything Philox needs that does not change within a call. */
typedef struct philox_avx2 {
    __m256i round_key0[PHILOX_ROUNDS]; /* key[0] + r * W0, broadcast */
    __m256i round_key1[PHILOX_ROUNDS]; /* key[1] + r * W1, broadcast */
    __m256i second_c1_xor;             /* lo(M1 * lo(stream)) ^ key[0] + W0: round 2 */
    __m256i first_c2_xor;              /* hi(stream) ^ key[1]: round 1            */
    uint32_t first_c0_word;            /* hi(M1 * lo(stream)) ^ key[0]: round 1   */
    uint32_t round2_key1;              /* key[1] + W1 */
    __m256i tie_key0[PHILOX_ROUNDS];   /* the same for the tie draws' key         */
    __m256i tie_key1[PHILOX_ROUNDS];
    __m256i stream_lo, stream_hi;      /* counter words 2 and 3                   */
    __m256i tlow;                      /* tie threshold, in 64-bit lanes          */
    __m256i t0, t0_flipped, flip;      /* t0 in bytes; t0 ^ 0x80; 0x80            */
} philox_avx2;

static void philox_init(philox_avx2 *px, const mask_stream *ms)
{
    uint32_t k0 = ms->key[0], k1 = ms->key[1];
    uint32_t tk0 = ms->tie_key[0], tk1 = ms->tie_key[1];
    for (int r = 0; r < PHILOX_ROUNDS; r++) {
        px->round_key0[r] = _mm256_set1_epi32((int)k0);
        px->round_key1[r] = _mm256_set1_epi32((int)k1);
        px->tie_key0[r] = _mm256_set1_epi32((int)tk0);
        px->tie_key1[r] = _mm256_set1_epi32((int)tk1);
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
        tk0 += PHILOX_W0;
        tk1 += PHILOX_W1;
    }
    px->stream_lo = _mm256_set1_epi32((int)ms->stream_lo);
    px->stream_hi = _mm256_set1_epi32((int)ms->stream_hi);
    px->tlow = _mm256_set1_epi64x(ms->tlow);
    px->t0 = _mm256_set1_epi8((char)ms->t0);
    px->t0_flipped = _mm256_set1_epi8((char)(ms->t0 ^ 0x80u));
    px->flip = _mm256_set1_epi8((char)0x80);
    uint64_t product1 = (uint64_t)PHILOX_M1 * ms->stream_lo;
    px->second_c1_xor = _mm256_set1_epi32((int)((uint32_t)product1 ^ (ms->key[0] + PHILOX_W0)));
    px->first_c2_xor = _mm256_set1_epi32((int)(ms->stream_hi ^ ms->key[1]));
    px->first_c0_word = (uint32_t)(product1 >> 32) ^ ms->key[0];
    px->round2_key1 = ms->key[1] + PHILOX_W1;
}

/* Philox4x32-10 in the "dense" layout: one block per 32-bit lane, 8 blocks
 * per vector, each of the four words in a vector of its own.  The 32 x 32 ->
 * 64-bit product of every lane takes two vpmuludq (the even lanes, then the
 * odd lanes shifted down), whose high halves are merged with a shift and a
 * blend, and one vpmulld for the low halves: no multiplier lane is spent on
 * don't-care bits, as in the wide layout (one block per 64-bit lane) this
 * file used before.  SETS independent sets of 8 blocks run interleaved, so
 * one set's multiply latency hides behind the others' (measured on Zen 4,
 * a Philox-only loop at n = 2^16: 0.153 ns per element with one set, 0.125
 * with two, 0.108 with four, even though four spill registers). */

static inline void mulhilo_avx2(__m256i a, __m256i m, __m256i *hi, __m256i *lo)
{
    const __m256i even = _mm256_mul_epu32(a, m);                       /* lanes 0, 2, 4, 6 */
    const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m); /* lanes 1, 3, 5, 7 */
    *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
    *lo = _mm256_mullo_epi32(a, m);
}

/* ---- the operations: keep bytes -> elements ---------------------------------- */

/* 16 bf16 elements: y = keep ? round_bf16((float)x * s) : +0.0, keep as
 * 16-bit lanes (all ones: kept).  unpacklo /
 * unpackhi with zero widen elements 0-3, 8-11 and 4-7, 12-15 to f32 (bf16
 * is the high half); packus of the two rounded halves restores the order
 * within each 128-bit half, and the keep bytes, widened to 16-bit lanes,
 * zero the dropped elements after the rounding (the scalar code rounds
 * only kept ones; a kept element's bits do not depend on its neighbours). */
/* y[0 ... 15] = v: a streaming store when nt (y 32-byte aligned then). */
static inline void store16_avx2(uint16_t *y, __m256i v, int nt)
{
    if (nt)
        _mm256_stream_si256((__m256i *)y, v);
    else
        _mm256_storeu_si256((__m256i *)y, v);
}

static inline void scale16_bf16_avx2(const uint16_t *x, uint16_t *y, __m256i lanes, __m256 s,
                                     int s_finite, int nt)
{
    const __m256i raw = _mm256_loadu_si256((const __m256i *)x);
    const __m256i zero = _mm256_setzero_si256();
    const __m256 lo = _mm256_mul_ps(_mm256_castsi256_ps(_mm256_unpacklo_epi16(zero, raw)), s);
    const __m256 hi = _mm256_mul_ps(_mm256_castsi256_ps(_mm256_unpackhi_epi16(zero, raw)), s);
    /* a NaN product needs half.h's quieting; with s finite only a NaN x
     * gives one, and the common case has none in these 16 */
    const __m256i nan = _mm256_cmpgt_epi16(_mm256_and_si256(raw, _mm256_set1_epi16(0x7FFF)),
                                           _mm256_set1_epi16(0x7F80));
    __m256i packed;
    if (s_finite && _mm256_testz_si256(nan, nan))
        packed = _mm256_packus_epi32(half_round_bf16_avx2_finite(lo), half_round_bf16_avx2_finite(hi));
    else
        packed = _mm256_packus_epi32(half_round_bf16_avx2(lo), half_round_bf16_avx2(hi));
    store16_avx2(y, _mm256_and_si256(packed, lanes), nt);
}

/* The same for f16, with F16C (vcvtps2ph rounds to nearest-even and quiets
 * NaN exactly as half.h does).  The rounding control must be an 8-bit
 * immediate: a macro, not a const variable (that builds only when the
 * optimizer folds it). */
#define F16_ROUND (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
static inline void scale16_f16_avx2(const uint16_t *x, uint16_t *y, const uint8_t *keep, __m256 s,
                                    int nt)
{
    __m256 lo = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)x)), s);
    __m256 hi = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + 8))), s);
    const __m256i packed = _mm256_set_m128i(_mm256_cvtps_ph(hi, F16_ROUND), _mm256_cvtps_ph(lo, F16_ROUND));
    const __m256i lanes = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)keep));
    store16_avx2(y, _mm256_and_si256(packed, lanes), nt);
}

enum { OUT_NONE, OUT_F32, OUT_F64, OUT_BF16, OUT_F16 };

/* What one call writes besides the mask: y = keep ? x * s : +0.0 in one
 * element type. */
typedef struct out_avx2 {
    int kind;       /* OUT_* */
    const void *x;
    void *y;
    float s;
    double s64;
    int stream;     /* streaming stores (y element-aligned) */
    size_t head;    /* streaming: elements before y's first 32-byte boundary, per tile */
    int s_finite;   /* bf16: s is not +Inf (then only a NaN x makes a NaN product) */
} out_avx2;

typedef out_avx2 out_t;  /* for tile_filler.h and tile_loop.h */
typedef uint8_t keep_t;  /* a finished tile: one keep byte per element */

/* Tile elements [k, end) of the tile at element `done` of the call, from
 * keep bytes kb (kb[k]: element k of the tile). */
KERNELS_INLINE void out_range_in(int kind, int plain, const out_avx2 *out, const uint8_t *kb, size_t len,
                                 size_t done, size_t k, size_t end)
{
    /* plain (a constant): a whole part of a group, tile_filler.h's common case */
    const int stream = !plain && out->stream;
    if (plain && k % FILL_ALIGN != 0)
        __builtin_unreachable();
    (void)len;
    switch (kind) {
    case OUT_F32: {
        const float *x = (const float *)out->x + done;
        float *y = (float *)out->y + done;
        const float s = out->s;
        const __m256 scale = _mm256_set1_ps(s);
        if (stream) {
            for (; k < out->head && k < end; k++)
                kernels_store_f32(y, k, kb[k] ? kernels_load_f32(x, k) * s : 0.0f);
            for (; k + 8 <= end; k += 8) {
                /* y[k..k+7] = keep ? x * s : +0.0 (keep bytes sign-extended to lanes) */
                __m256i lanes = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(kb + k)));
                __m256 product = _mm256_mul_ps(_mm256_loadu_ps(x + k), scale);
                _mm256_stream_ps(y + k, _mm256_and_ps(product, _mm256_castsi256_ps(lanes)));
            }
        } else {
            for (; k + 8 <= end; k += 8) {
                __m256i lanes = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(kb + k)));
                __m256 product = _mm256_mul_ps(_mm256_loadu_ps(x + k), scale);
                _mm256_storeu_ps(y + k, _mm256_and_ps(product, _mm256_castsi256_ps(lanes)));
            }
        }
        for (; k < end; k++)
            kernels_store_f32(y, k, kb[k] ? kernels_load_f32(x, k) * s : 0.0f);
        break;
    }
    case OUT_F64: {
        const double *x = (const double *)out->x + done;
        double *y = (double *)out->y + done;
        const double s = out->s64;
        const __m256d scale = _mm256_set1_pd(s);
        if (stream) {
            for (; k < out->head && k < end; k++)
                kernels_store_f64(y, k, kb[k] ? kernels_load_f64(x, k) * s : 0.0);
            for (; k + 4 <= end; k += 4) {
                __m256i lanes = _mm256_cvtepi8_epi64(_mm_loadu_si32(kb + k));
                __m256d product = _mm256_mul_pd(_mm256_loadu_pd(x + k), scale);
                _mm256_stream_pd(y + k, _mm256_and_pd(product, _mm256_castsi256_pd(lanes)));
            }
        } else {
            for (; k + 4 <= end; k += 4) {
                __m256i lanes = _mm256_cvtepi8_epi64(_mm_loadu_si32(kb + k));
                __m256d product = _mm256_mul_pd(_mm256_loadu_pd(x + k), scale);
                _mm256_storeu_pd(y + k, _mm256_and_pd(product, _mm256_castsi256_pd(lanes)));
            }
        }
        for (; k < end; k++)
            kernels_store_f64(y, k, kb[k] ? kernels_load_f64(x, k) * s : 0.0);
        break;
    }
    case OUT_BF16:
    case OUT_F16: {
        const int bf16 = kind == OUT_BF16;
        const uint16_t *x = (const uint16_t *)out->x + done;
        uint16_t *y = (uint16_t *)out->y + done;
        const __m256 scale = _mm256_set1_ps(out->s);
        const int nt = stream;
        for (; nt && k < out->head && k < end; k++) /* before y's first 32-byte boundary */
            kernels_store_u16(y, k, half_dropout_one(bf16, kb[k] != 0, kernels_load_u16(x, k), out->s));
        if (bf16) {
            for (; k + 16 <= end; k += 16)
                scale16_bf16_avx2(x + k, y + k,
                                  _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(kb + k))),
                                  scale, out->s_finite, nt);
        } else {
            for (; k + 16 <= end; k += 16)
                scale16_f16_avx2(x + k, y + k, kb + k, scale, nt);
        }
        for (; k < end; k++) /* the last len % 16 elements of the call */
            kernels_store_u16(y, k, half_dropout_one(bf16, kb[k] != 0, kernels_load_u16(x, k), out->s));
        break;
    }
    default:
        break;
    }
}

KERNELS_INLINE void out_range(int kind, const out_avx2 *out, const uint8_t *kb, size_t len, size_t done,
                              size_t k, size_t end)
{
    out_range_in(kind, 0, out, kb, len, done, k, end);
}

#include "tile_filler.h"


/* 8 SETS blocks from `block`: out[v] = the 32 random bytes of blocks
 * block + 2v and block + 2v + 1, in element order.  Set t, lane l holds
 * block 8t + (l < 4 ? 2l : 2(l - 4) + 1): the 4 x 4 transpose of 32-bit
 * words inside each 128-bit half at the end then puts lane l's block in the
 * low half of out[4t + l % 4] and lane l + 4's in its high half.  Rounds 3
 * ... 10 are each followed by an eighth of the filler's elements: their
 * loads, multiplies and stores run while the rounds' multiplies wait on
 * each other (interleaved in the source, so the core's window always holds
 * both kinds of work). */
KERNELS_INLINE void philox_dense_avx2(const philox_avx2 *px, uint64_t block, __m256i out[4 * SETS],
                                      const filler *fill, int kind)
{
    const __m256i m0 = _mm256_set1_epi32((int)PHILOX_M0);
    const __m256i m1 = _mm256_set1_epi32((int)PHILOX_M1);
    const __m256i sign = _mm256_set1_epi32((int)0x80000000u);
    const __m256i lane_block = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    __m256i c0[SETS], c1[SETS], c2[SETS], c3[SETS];
    if ((block >> 32) == ((block + 8 * SETS - 1) >> 32)) {
        /* hi(j) is the same for every block of the call (all but one call
         * in 2^27): c0 after round 1 is the same in every lane, so round 2's
         * product M0 c0 is one scalar multiply and c3 after round 2 a
         * constant (as in avx512.c: no carries, one product less) */
        const uint64_t product0 = (uint64_t)PHILOX_M0 * ((uint32_t)(block >> 32) ^ px->first_c0_word);
        const __m256i c2_xor = _mm256_set1_epi32((int)((uint32_t)(product0 >> 32) ^ px->round2_key1));
        const __m256i c3_round2 = _mm256_set1_epi32((int)(uint32_t)product0);
        for (int t = 0; t < SETS; t++) {
            const uint32_t base = (uint32_t)(block + 8 * (uint64_t)t);
            __m256i hi0, lo0;
            mulhilo_avx2(_mm256_add_epi32(_mm256_set1_epi32((int)base), lane_block), m0, &hi0, &lo0);
            c2[t] = _mm256_xor_si256(hi0, px->first_c2_xor);
            c3[t] = lo0;
        }
        for (int t = 0; t < SETS; t++) {
            __m256i hi1, lo1;
            mulhilo_avx2(c2[t], m1, &hi1, &lo1);
            c0[t] = _mm256_xor_si256(hi1, px->second_c1_xor);
            c1[t] = lo1;
            c2[t] = _mm256_xor_si256(c3[t], c2_xor);
            c3[t] = c3_round2;
        }
    } else {
        for (int t = 0; t < SETS; t++) {
            /* j = block + 8t + lane_block: lo(j) by a 32-bit add, hi(j) plus the
             * carry (lo(j) < offset, unsigned: compare with the sign bits flipped) */
            const uint64_t base = block + 8 * (uint64_t)t;
            const __m256i offset = lane_block;
            const __m256i lo = _mm256_add_epi32(_mm256_set1_epi32((int)(uint32_t)base), offset);
            const __m256i carry = _mm256_cmpgt_epi32(_mm256_xor_si256(offset, sign),
                                                     _mm256_xor_si256(lo, sign));
            const __m256i hi = _mm256_sub_epi32(_mm256_set1_epi32((int)(uint32_t)(base >> 32)), carry);
            /* Round 1, with c2 = lo(stream) the same everywhere (precomputed):
             * c0, c1, c2, c3 = hi(M1 c2) ^ hi(j) ^ k0, lo(M1 c2), hi(M0 lo(j)) ^ c3 ^ k1, lo(M0 lo(j));
             * c1 is the constant lo(M1 c2), folded into round 2's key */
            __m256i hi0, lo0;
            mulhilo_avx2(lo, m0, &hi0, &lo0);
            c0[t] = _mm256_xor_si256(hi, _mm256_set1_epi32((int)px->first_c0_word));
            c2[t] = _mm256_xor_si256(hi0, px->first_c2_xor);
            c3[t] = lo0;
        }
        /* Round 2: c1 ^ k0 is the constant second_c1_xor */
        for (int t = 0; t < SETS; t++) {
            __m256i hi0, lo0, hi1, lo1;
            mulhilo_avx2(c0[t], m0, &hi0, &lo0);
            mulhilo_avx2(c2[t], m1, &hi1, &lo1);
            c0[t] = _mm256_xor_si256(hi1, px->second_c1_xor);
            c1[t] = lo1;
            c2[t] = _mm256_xor_si256(_mm256_xor_si256(hi0, c3[t]), px->round_key1[1]);
            c3[t] = lo0;
        }
    }
    /* Rounds 3 ... 10: c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
     * with (hi0, lo0) = M0 * c0 and (hi1, lo1) = M1 * c2 */
    for (int r = 2; r < PHILOX_ROUNDS; r++) {
        fill_step(fill, kind, (size_t)(r - 2), PHILOX_ROUNDS - 2);
        for (int t = 0; t < SETS; t++) {
            __m256i hi0, lo0, hi1, lo1;
            mulhilo_avx2(c0[t], m0, &hi0, &lo0);
            mulhilo_avx2(c2[t], m1, &hi1, &lo1);
            c0[t] = _mm256_xor_si256(_mm256_xor_si256(hi1, c1[t]), px->round_key0[r]);
            c1[t] = lo1;
            c2[t] = _mm256_xor_si256(_mm256_xor_si256(hi0, c3[t]), px->round_key1[r]);
            c3[t] = lo0;
        }
    }

    /* Words to blocks: a 4 x 4 transpose of 32-bit words inside each
     * 128-bit half puts the 16 bytes of each block together, in order. */
    for (int t = 0; t < SETS; t++) {
        const __m256i u0 = _mm256_unpacklo_epi32(c0[t], c1[t]);
        const __m256i u1 = _mm256_unpackhi_epi32(c0[t], c1[t]);
        const __m256i u2 = _mm256_unpacklo_epi32(c2[t], c3[t]);
        const __m256i u3 = _mm256_unpackhi_epi32(c2[t], c3[t]);
        out[4 * t + 0] = _mm256_unpacklo_epi64(u0, u2);
        out[4 * t + 1] = _mm256_unpackhi_epi64(u0, u2);
        out[4 * t + 2] = _mm256_unpacklo_epi64(u1, u3);
        out[4 * t + 3] = _mm256_unpackhi_epi64(u1, u3);
    }
}

/* Tie draws of the 4 * sets4 elements base + pos[0 ... 4 sets4 - 1], one
 * per 64-bit lane: bit i of the result is set if (philox({lo(e), hi(e),
 * lo(stream), hi(stream)}, tie_key)[0] & 0xFFFFFF) < tlow.  The 16-bit
 * positions are widened to indices in a register. */
KERNELS_INLINE unsigned tie_draws_avx2_sets(const philox_avx2 *px, __m256i base,
                                            const uint16_t *pos, int sets4)
{
    const __m256i m0 = _mm256_set1_epi64x(PHILOX_M0);
    const __m256i m1 = _mm256_set1_epi64x(PHILOX_M1);
    const __m256i low24 = _mm256_set1_epi64x(0xFFFFFF);
    __m256i c0[2], c1[2], c2[2], c3[2];
    for (int t = 0; t < sets4; t++) {
        const __m256i e = _mm256_add_epi64(
            base, _mm256_cvtepu16_epi64(_mm_loadl_epi64((const __m128i *)(pos + 4 * t))));
        c0[t] = e;                        /* lo(e) in the low 32 bits */
        c1[t] = _mm256_srli_epi64(e, 32); /* hi(e) */
        c2[t] = px->stream_lo;
        c3[t] = px->stream_hi;
    }
    /* 10 rounds: c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0 */
    for (int r = 0; r < PHILOX_ROUNDS; r++) {
        for (int t = 0; t < sets4; t++) {
            __m256i product0 = _mm256_mul_epu32(c0[t], m0);
            __m256i product1 = _mm256_mul_epu32(c2[t], m1);
            __m256i c1_key = _mm256_xor_si256(c1[t], px->tie_key0[r]);
            __m256i c3_key = _mm256_xor_si256(c3[t], px->tie_key1[r]);
            c0[t] = _mm256_xor_si256(_mm256_srli_epi64(product1, 32), c1_key);
            c1[t] = product1;
            c2[t] = _mm256_xor_si256(_mm256_shuffle_epi32(product0, 0xB1), c3_key);
            c3[t] = product0;
        }
    }
    unsigned bits = 0;
    for (int t = 0; t < sets4; t++) { /* keep = (word 0 & 0xFFFFFF) < tlow */
        __m256i kept = _mm256_cmpgt_epi64(px->tlow, _mm256_and_si256(c0[t], low24));
        bits |= (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(kept)) << (4 * t);
    }
    return bits;
}

/* The tie draws of `count` elements base + pos[i]: 8 at a time, or 4 when
 * no more than 4 are left.  pos[] must be readable, zero or not, up to 8
 * entries past count (the lanes past count are drawn and ignored).
 * keep[pos[i]] = 0xFF if element base + pos[i] is kept, else 0x00.
 * Requires tlow != 0. */
static void tie_draws_avx2(const philox_avx2 *px, uint64_t base, const uint16_t *pos,
                           size_t count, uint8_t *keep)
{
    const __m256i basev = _mm256_set1_epi64x((long long)base);
    for (size_t b = 0; b < count; b += 8) {
        const unsigned bits = count - b > 4 ? tie_draws_avx2_sets(px, basev, pos + b, 2)
                                            : tie_draws_avx2_sets(px, basev, pos + b, 1);
        for (size_t i = 0; i < 8 && b + i < count; i++)
            keep[pos[b + i]] = (bits >> i) & 1u ? 0xFF : 0x00;
    }
}

/* One tile's keep bytes: keep[o + k] is 0xFF or 0x00 for element first + k
 * (o = first % 16: Philox works on whole blocks), ties resolved once all
 * its groups are done.  keep[] beyond the tile reads as defined bytes. */
typedef struct tile_avx2 {
    _Alignas(32) uint8_t keep[KEEP_BYTES];
    uint64_t first;
    size_t len, o, groups;
    /* the 32-element words that hold a tie: their tie bits and word index */
    size_t tie_words;
    uint32_t tie_bits[(TILE_TIES + GROUP) / 32];
    uint16_t tie_word[(TILE_TIES + GROUP) / 32];
} tile_avx2;

static inline void tile_begin(tile_avx2 *t, uint64_t first, size_t len)
{
    t->first = first;
    t->len = len;
    t->o = (size_t)(first % MASK_BLOCK_ELEMENTS);
    t->groups = (t->o + len + GROUP - 1) / GROUP;
    t->tie_words = 0;
}

/* Group g of a tile: Philox of its 8 SETS blocks, keep = r < t0 as bytes,
 * and, when ties matter, the positions where r == t0 (a tie, 1 in 256) as
 * bits. */
KERNELS_INLINE void tile_group(tile_avx2 *t, const philox_avx2 *px, size_t g, const filler *fill,
                               int kind, int ties)
{
    __m256i r[4 * SETS];
    philox_dense_avx2(px, t->first / MASK_BLOCK_ELEMENTS + 8 * SETS * g, r, fill, kind);
    /* a local count: the vector stores below may alias anything, and a
     * count in *t would go through memory after each of them */
    size_t tie_words = t->tie_words;
    for (int v = 0; v < 4 * SETS; v++) {
        /* keep = r < t0, unsigned: flip the sign bits and compare signed */
        __m256i kept = _mm256_cmpgt_epi8(px->t0_flipped, _mm256_xor_si256(r[v], px->flip));
        _mm256_store_si256((__m256i *)(t->keep + GROUP * g + 32 * v), kept);
        if (!ties)
            continue;
        /* tie bits, kept only for words that have one (no branch: always
         * store, count if nonzero) */
        uint32_t tie = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(r[v], px->t0));
        t->tie_bits[tie_words] = tie;
        t->tie_word[tie_words] = (uint16_t)(GROUP_WORDS * g + (size_t)v);
        tie_words += tie != 0;
    }
    t->tie_words = tie_words;
}

/* After every group: the ties of the tile in one batch, their positions
 * first, then the tie draws (8 or 4 at a time).  Ties before o or past
 * o + len belong to other tiles; with tlow == 0 every tie drops, as its
 * keep byte already says. */
static void tile_finish(tile_avx2 *t, const mask_stream *ms, const philox_avx2 *px)
{
    memset(t->keep + GROUP * t->groups, 0, 32);
    if (ms->tlow == 0 || t->tie_words == 0)
        return;
    uint16_t tie_pos[TILE_TIES + GROUP + 8];
    size_t tie_count = 0;
    for (size_t i = 0; i < t->tie_words; i++) {
        for (uint32_t b = t->tie_bits[i]; b != 0; b &= b - 1) {
            size_t pos = 32 * (size_t)t->tie_word[i] + (size_t)__builtin_ctz(b);
            tie_pos[tie_count] = (uint16_t)pos;
            tie_count += (pos >= t->o) & (pos < t->o + t->len);
        }
    }
    if (tie_count) {
        memset(tie_pos + tie_count, 0, 8 * sizeof tie_pos[0]); /* lanes past the last tie */
        tie_draws_avx2(px, t->first - t->o, tie_pos, tie_count, t->keep);
    }
}

/* Packed mask bits of keep[0 ... len - 1] into mask[0 ... ceil(len/8) - 1]:
 * 32 bits (the sign bits of 32 keep bytes) per 4-byte store. */
static void pack_keep_avx2(const uint8_t *keep, size_t len, uint8_t *mask)
{
    size_t k = 0;
    for (; k + 32 <= len; k += 32) {
        const uint32_t bits =
            (uint32_t)_mm256_movemask_epi8(_mm256_loadu_si256((const __m256i *)(keep + k)));
        memcpy(mask + k / 8, &bits, 4); /* little-endian: bit k % 8 of byte k / 8 */
    }
    if (k < len) {
        uint32_t bits = (uint32_t)_mm256_movemask_epi8(_mm256_loadu_si256((const __m256i *)(keep + k)));
        for (size_t b = 0; b < (len - k + 7) / 8; b++)
            mask[k / 8 + b] = (uint8_t)(bits >> (8 * b));
        if ((len - k) % 8)
            mask[(len - 1) / 8] &= (uint8_t)((1u << (len % 8)) - 1u);
    }
}

typedef philox_avx2 philox_t; /* for tile_loop.h */
typedef tile_avx2 tile_t;

/* The finished tile's keep bytes, element 0 first. */
static inline const keep_t *tile_keep(const tile_t *t)
{
    return t->keep + t->o;
}

static inline void tile_store_mask(const tile_t *t, uint8_t *mask)
{
    pack_keep_avx2(t->keep + t->o, t->len, mask);
}

static inline void stream_fence(void)
{
    _mm_sfence();
}

#define VECTOR_BYTES 32 /* streaming stores start at y's first such boundary */
#include "tile_loop.h"

static void mask_avx2(const mask_stream *ms, uint64_t first, size_t n, uint8_t *mask)
{
    const out_avx2 out = {.kind = OUT_NONE};
    run_tiles(ms, first, n, &out, mask);
}

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

static void apply_f32_avx2(size_t n, const kernel_consts *c, const uint8_t *mask,
                           const void *dy_, void *dx_, int stream)
{
    const float *dy = dy_, s = c->s32;
    float *dx = dx_;
    const __m256 scale = _mm256_set1_ps(s);
    size_t k = 0;
    if (stream && kernels_nontemporal_ok(dx, sizeof *dx)) {
        /* streaming stores need 32-byte-aligned dx: the first few go one by one */
        for (size_t head = kernels_nontemporal_head(dx, 32, sizeof *dx); k < head && k < n; k++)
            kernels_store_f32(dx, k, ((mask[k / 8] >> (k % 8)) & 1u) ? kernels_load_f32(dy, k) * s : 0.0f);
        for (; k + 8 <= n; k += 8) {
            __m256i lanes = keep_lanes32(bits8_at(mask, k));
            __m256 product = _mm256_mul_ps(_mm256_loadu_ps(dy + k), scale);
            _mm256_stream_ps(dx + k, _mm256_and_ps(product, _mm256_castsi256_ps(lanes)));
        }
        _mm_sfence(); /* streaming stores are weakly ordered: done before we return */
    }
    for (; k + 8 <= n; k += 8) {
        /* lane j keeps iff bit j of mask byte k / 8 is set */
        __m256i lanes = keep_lanes32(mask[k / 8]);
        /* dx = keep ? dy * s : +0.0 */
        __m256 product = _mm256_mul_ps(_mm256_loadu_ps(dy + k), scale);
        _mm256_storeu_ps(dx + k, _mm256_and_ps(product, _mm256_castsi256_ps(lanes)));
    }
    for (; k < n; k++)
        kernels_store_f32(dx, k, ((mask[k / 8] >> (k % 8)) & 1u) ? kernels_load_f32(dy, k) * s : 0.0f);
}

static void apply_f64_avx2(size_t n, const kernel_consts *c, const uint8_t *mask,
                           const void *dy_, void *dx_, int stream)
{
    const double *dy = dy_, s = c->s;
    double *dx = dx_;
    const __m256d scale = _mm256_set1_pd(s);
    const __m256i bit_low = _mm256_setr_epi64x(1, 2, 4, 8);
    const __m256i bit_high = _mm256_setr_epi64x(16, 32, 64, 128);
    size_t k = 0;
    if (stream && kernels_nontemporal_ok(dx, sizeof *dx)) {
        for (size_t head = kernels_nontemporal_head(dx, 32, sizeof *dx); k < head && k < n; k++)
            kernels_store_f64(dx, k, ((mask[k / 8] >> (k % 8)) & 1u) ? kernels_load_f64(dy, k) * s : 0.0);
        for (; k + 8 <= n; k += 8) {
            __m256i byte = _mm256_set1_epi64x(bits8_at(mask, k));
            __m256i low = _mm256_cmpeq_epi64(_mm256_and_si256(byte, bit_low), bit_low);
            __m256i high = _mm256_cmpeq_epi64(_mm256_and_si256(byte, bit_high), bit_high);
            __m256d p0 = _mm256_mul_pd(_mm256_loadu_pd(dy + k), scale);
            __m256d p1 = _mm256_mul_pd(_mm256_loadu_pd(dy + k + 4), scale);
            _mm256_stream_pd(dx + k, _mm256_and_pd(p0, _mm256_castsi256_pd(low)));
            _mm256_stream_pd(dx + k + 4, _mm256_and_pd(p1, _mm256_castsi256_pd(high)));
        }
        _mm_sfence();
    }
    for (; k + 8 <= n; k += 8) {
        /* lanes of elements k..k+3 and k+4..k+7 from bits 0-3 and 4-7 of one byte */
        __m256i byte = _mm256_set1_epi64x(mask[k / 8]);
        __m256i low = _mm256_cmpeq_epi64(_mm256_and_si256(byte, bit_low), bit_low);
        __m256i high = _mm256_cmpeq_epi64(_mm256_and_si256(byte, bit_high), bit_high);
        /* dx = keep ? dy * s : +0.0 */
        __m256d p0 = _mm256_mul_pd(_mm256_loadu_pd(dy + k), scale);
        __m256d p1 = _mm256_mul_pd(_mm256_loadu_pd(dy + k + 4), scale);
        _mm256_storeu_pd(dx + k, _mm256_and_pd(p0, _mm256_castsi256_pd(low)));
        _mm256_storeu_pd(dx + k + 4, _mm256_and_pd(p1, _mm256_castsi256_pd(high)));
    }
    for (; k < n; k++)
        kernels_store_f64(dx, k, ((mask[k / 8] >> (k % 8)) & 1u) ? kernels_load_f64(dy, k) * s : 0.0);
}

/* ---- from bits: bf16/f16, the fused residual and its column sums ------------ */

static void apply_bf16_avx2(size_t n, const kernel_consts *c, const uint8_t *bits,
                            const void *x_, void *y_, int nontemporal)
{
    (void)nontemporal; /* plain stores (from bits: the broadcast and backward paths) */
    const uint16_t *x = x_;
    uint16_t *y = y_;
    const float s = c->s32;
    const __m256 sv = _mm256_set1_ps(s);
    const int s_finite = s <= 3.4028234663852886e38f;
    const __m256i lane_bit = _mm256_setr_epi16(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048,
                                               4096, 8192, 16384, (short)0x8000);
    size_t k = 0;
    for (; k + 16 <= n; k += 16) {
        /* lane i keeps iff bit i of the 16 bits */
        const __m256i b16 = _mm256_set1_epi16((short)(bits[k / 8] | bits[k / 8 + 1] << 8));
        const __m256i lanes = _mm256_cmpeq_epi16(_mm256_and_si256(b16, lane_bit), lane_bit);
        scale16_bf16_avx2(x + k, y + k, lanes, sv, s_finite, 0);
    }
    for (; k < n; k++)
        kernels_store_u16(y, k, half_dropout_one(1, (int)bits_at(bits, k), kernels_load_u16(x, k), s));
}

static void apply_f16_avx2(size_t n, const kernel_consts *c, const uint8_t *bits,
                           const void *x_, void *y_, int nontemporal)
{
    (void)nontemporal;
    const uint16_t *x = x_;
    uint16_t *y = y_;
    const float s = c->s32;
    const __m256 sv = _mm256_set1_ps(s);
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        __m256 v = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + k))), sv);
        __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm_storeu_si128((__m128i *)(y + k), _mm_and_si128(h, keep_lanes16(bits[k / 8])));
    }
    if (k < n)
        for (; k < n; k++)
            kernels_store_u16(y, k, half_dropout_one(0, (int)bits_at(bits, k), kernels_load_u16(x, k), s));
}

/* y = residual + ((x + bias) * s & keep); streaming stores from the first
 * 32-byte boundary of y when asked (the elements before it one by one) */
/* y, with any NaN lane the canonical NaN (kernels_nan_canonical_f32) */
static inline __m256 nan_canonical_avx2(__m256 y)
{
    return _mm256_blendv_ps(y, _mm256_castsi256_ps(_mm256_set1_epi32((int)KERNELS_NAN_F32)),
                            _mm256_cmp_ps(y, y, _CMP_UNORD_Q));
}

static void bias_residual_f32_avx2(size_t n, const kernel_consts *c, const uint8_t *bits,
                                   const void *x_, const void *bias_, const void *residual_,
                                   void *y_, int stream)
{
    const float *x = x_, *bias = bias_, *residual = residual_, s = c->s32;
    float *y = y_;
    const __m256 sv = _mm256_set1_ps(s);
    size_t k = 0;
    if (stream && kernels_nontemporal_ok(y, sizeof *y)) {
        for (size_t head = kernels_nontemporal_head(y, 32, sizeof *y); k < head && k < n; k++)
            kernels_bias_residual_one_f32(bits, k, s, x, bias, residual, y);
        for (; k + 8 <= n; k += 8) {
            __m256 t = _mm256_add_ps(_mm256_loadu_ps(x + k), _mm256_loadu_ps(bias + k));
            __m256 u = _mm256_and_ps(_mm256_mul_ps(t, sv),
                                     _mm256_castsi256_ps(keep_lanes32(bits8_at(bits, k))));
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
        kernels_bias_residual_one_f32(bits, k, s, x, bias, residual, y);
}

/* Column sums 16 columns at a time, four vectors of 4 doubles held in
 * registers down the rows (independent chains, so the adds overlap), then
 * stored once: the same additions in the same order as the scalar loop. */
static void column_sums_f32_avx2(size_t width, size_t rows, size_t stride, const void *x_,
                                 double *sum)
{
    const float *x = x_;
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
    kernels_column_sums_f32(j, width, rows, stride, x, sum); /* the last columns */
}

const dropout_kernels dropout_kernels_avx2 = {
    .isa = "avx2",
    .mask = mask_avx2,
    .forward = TILE_FORWARD_SLOTS,
    .apply = {[DROPOUT_DTYPE_F32] = apply_f32_avx2, [DROPOUT_DTYPE_F64] = apply_f64_avx2,
              [DROPOUT_DTYPE_BF16] = apply_bf16_avx2, [DROPOUT_DTYPE_F16] = apply_f16_avx2},
    .bias_residual = {[DROPOUT_DTYPE_F32] = bias_residual_f32_avx2},
    .column_sums = {[DROPOUT_DTYPE_F32] = column_sums_f32_avx2},
};
