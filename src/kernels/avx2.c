/*
 * avx2.c — the kernel table for x86-64 AVX2 (with F16C, which every AVX2 CPU
 * has and dispatch.c checks).  Same bits as scalar.c.
 *
 * Work goes tile by tile (TILE elements, small enough that the keep bytes
 * stay in L1 beside x and y):
 *   1. Philox for 16 blocks at once (two vectors of 8 counters, 256 elements),
 *      transposed so the 128 random bytes come out in element order;
 *      keep byte = 0xFF if r < t0 else 0x00; the positions where r == t0 (a
 *      tie, 1 in 256) are collected as bits.
 *   2. The ties of the tile are resolved in one batch afterwards, their tie
 *      draws (another Philox, SPEC section 2) computed 8 at a time.
 *   3. The operation reads the keep bytes: sign-extended to lane masks for
 *      y = (x * s) & mask, or movemask'ed into packed mask bits.
 * A tile starts at any element: Philox works on whole blocks from
 * first / 16, and the operation reads the keep bytes from first % 16 on.
 */
#include <immintrin.h>
#include <string.h>

#include "kernels.h"
#include "half_avx2.h"
#include "../family/half.h"

#define TILE 2048 /* elements per tile; a multiple of 8 so masks stay byte-aligned */
#define GROUP 256 /* elements per Philox call: 16 blocks of 16 bytes */
#define KEEP_BYTES (TILE + GROUP + 32) /* + a block offset, + slack for 32-byte reads */

/* Everything Philox needs that does not change within a call. */
typedef struct philox_avx2 {
    __m256i round_key0[PHILOX_ROUNDS]; /* key[0] + r * W0, broadcast */
    __m256i round_key1[PHILOX_ROUNDS]; /* key[1] + r * W1, broadcast */
    __m256i first_c0_xor;              /* hi(M1 * lo(stream)) ^ key[0]: round 1   */
    __m256i first_c1;                  /* lo(M1 * lo(stream)): round 1's c1       */
    __m256i first_c2_xor;              /* hi(stream) ^ key[1]: round 1            */
    __m256i tie_key0[PHILOX_ROUNDS];   /* the same for the tie draws' key         */
    __m256i tie_key1[PHILOX_ROUNDS];
    __m256i stream_lo, stream_hi;      /* counter words 2 and 3                   */
    __m256i tlow;                      /* tie threshold, in 64-bit lanes          */
} philox_avx2;

static void philox_avx2_init(philox_avx2 *px, const mask_stream *ms)
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
    uint64_t product1 = (uint64_t)PHILOX_M1 * ms->stream_lo;
    px->first_c0_xor = _mm256_set1_epi32((int)((uint32_t)(product1 >> 32) ^ ms->key[0]));
    px->first_c1 = _mm256_set1_epi32((int)(uint32_t)product1);
    px->first_c2_xor = _mm256_set1_epi32((int)(ms->stream_hi ^ ms->key[1]));
}

/* Philox4x32-10 of 4 blocks, one per 64-bit lane ("wide" layout): each word
 * lives in the low 32 bits of its lane, so _mm256_mul_epu32 gives the whole
 * 64-bit product of every lane, its low half is already in place and its
 * high half is one shift away.  The high 32 bits of a lane are don't-care.
 * Two such sets run interleaved (one chain alone would wait on the
 * multiply's latency; more would not fit in the 16 registers). */
#define SETS 2

/* 2 x 4 blocks from `block`: set a holds blocks block + {0, 4, 1, 5}, set b
 * block + {2, 6, 3, 7}, the order in which the merge and transpose below
 * produce blocks 0 ... 7 in order.  out[v] = the 32 random bytes of blocks
 * block + 2v and block + 2v + 1, in element order (v = 0 ... 3). */
static inline void philox8_avx2(const philox_avx2 *px, uint64_t block, __m256i out[4])
{
    const __m256i m0 = _mm256_set1_epi64x(PHILOX_M0);
    const __m256i m1 = _mm256_set1_epi64x(PHILOX_M1);
    const __m256i base = _mm256_set1_epi64x((long long)block);
    const __m256i offsets[SETS] = {_mm256_setr_epi64x(0, 4, 1, 5), _mm256_setr_epi64x(2, 6, 3, 7)};
    __m256i c0[SETS], c1[SETS], c2[SETS], c3[SETS];

    for (int t = 0; t < SETS; t++) {
        /* j = block + offset (64-bit add: the carry into hi(j) is free);
         * counter = {lo(j), hi(j), lo(stream), hi(stream)} */
        __m256i j = _mm256_add_epi64(base, offsets[t]);
        /* Round 1, with c2 = lo(stream) the same everywhere (precomputed):
         * c0, c1, c2, c3 = hi(M1 c2) ^ hi(j) ^ k0, lo(M1 c2), hi(M0 lo(j)) ^ c3 ^ k1, lo(M0 lo(j)) */
        __m256i product0 = _mm256_mul_epu32(j, m0);
        c0[t] = _mm256_xor_si256(_mm256_srli_epi64(j, 32), px->first_c0_xor);
        c1[t] = px->first_c1;
        c2[t] = _mm256_xor_si256(_mm256_srli_epi64(product0, 32), px->first_c2_xor);
        c3[t] = product0;
    }
    /* Rounds 2 ... 10: c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
     * with (hi0, lo0) = M0 * c0 and (hi1, lo1) = M1 * c2 */
    for (int r = 1; r < PHILOX_ROUNDS; r++) {
        for (int t = 0; t < SETS; t++) {
            __m256i product0 = _mm256_mul_epu32(c0[t], m0);
            __m256i product1 = _mm256_mul_epu32(c2[t], m1);
            __m256i c1_key = _mm256_xor_si256(c1[t], px->round_key0[r]);
            __m256i c3_key = _mm256_xor_si256(c3[t], px->round_key1[r]);
            c0[t] = _mm256_xor_si256(_mm256_shuffle_epi32(product1, 0xB1), c1_key);
            c1[t] = product1;
            c2[t] = _mm256_xor_si256(_mm256_shuffle_epi32(product0, 0xB1), c3_key);
            c3[t] = product0;
        }
    }

    /* The two wide sets -> one dense vector per word: dword 2l from set a,
     * 2l + 1 from set b; then a 4x4 transpose of 32-bit words inside each
     * 128-bit half puts the 16 bytes of each block together, in order. */
    __m256i w0 = _mm256_blend_epi32(c0[0], _mm256_slli_epi64(c0[1], 32), 0xAA);
    __m256i w1 = _mm256_blend_epi32(c1[0], _mm256_slli_epi64(c1[1], 32), 0xAA);
    __m256i w2 = _mm256_blend_epi32(c2[0], _mm256_slli_epi64(c2[1], 32), 0xAA);
    __m256i w3 = _mm256_blend_epi32(c3[0], _mm256_slli_epi64(c3[1], 32), 0xAA);
    __m256i u0 = _mm256_unpacklo_epi32(w0, w1);
    __m256i u1 = _mm256_unpackhi_epi32(w0, w1);
    __m256i u2 = _mm256_unpacklo_epi32(w2, w3);
    __m256i u3 = _mm256_unpackhi_epi32(w2, w3);
    out[0] = _mm256_unpacklo_epi64(u0, u2);
    out[1] = _mm256_unpackhi_epi64(u0, u2);
    out[2] = _mm256_unpacklo_epi64(u1, u3);
    out[3] = _mm256_unpackhi_epi64(u1, u3);
}

/* 16 blocks from `block`: out[v] = blocks block + 2v, block + 2v + 1. */
static inline void philox16_avx2(const philox_avx2 *px, uint64_t block, __m256i out[8])
{
    philox8_avx2(px, block, out);
    philox8_avx2(px, block + 8, out + 4);
}

/* The tie draws of `count` elements base + pos[i], 8 at a time (two wide
 * sets of 4):  keep[pos[i]] = (philox({lo(e), hi(e), lo(stream), hi(stream)},
 * tie_key)[0] & 0xFFFFFF) < tlow ? 0xFF : 0x00.  Requires tlow != 0. */
static void tie_draws_avx2(const philox_avx2 *px, uint64_t base, const uint16_t *pos,
                           size_t count, uint8_t *keep)
{
    const __m256i m0 = _mm256_set1_epi64x(PHILOX_M0);
    const __m256i m1 = _mm256_set1_epi64x(PHILOX_M1);
    const __m256i low24 = _mm256_set1_epi64x(0xFFFFFF);
    for (size_t b = 0; b < count; b += 8) {
        /* e = base + pos, the last one repeated to fill 8 lanes */
        uint64_t index[8];
        for (size_t i = 0; i < 8; i++)
            index[i] = base + pos[b + i < count ? b + i : count - 1];
        __m256i c0[2], c1[2], c2[2], c3[2];
        for (int t = 0; t < 2; t++) {
            __m256i e = _mm256_loadu_si256((const __m256i *)(index + 4 * t));
            c0[t] = e;                        /* lo(e) in the low 32 bits */
            c1[t] = _mm256_srli_epi64(e, 32); /* hi(e) */
            c2[t] = px->stream_lo;
            c3[t] = px->stream_hi;
        }
        /* 10 rounds: c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0 */
        for (int r = 0; r < PHILOX_ROUNDS; r++) {
            for (int t = 0; t < 2; t++) {
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
        /* keep = (word 0 & 0xFFFFFF) < tlow, one bit per lane */
        unsigned bits = 0;
        for (int t = 0; t < 2; t++) {
            __m256i v = _mm256_and_si256(c0[t], low24);
            __m256i kept = _mm256_cmpgt_epi64(px->tlow, v);
            bits |= (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(kept)) << (4 * t);
        }
        for (size_t i = 0; i < 8 && b + i < count; i++)
            keep[pos[b + i]] = (bits >> i) & 1u ? 0xFF : 0x00;
    }
}

typedef kernels_ahead ahead; /* kernels.h */

/* Keep bytes of elements first ... first + len - 1 (len <= TILE), ties
 * resolved: keep[o + k] is 0xFF or 0x00 for element first + k, where
 * o = first % 16 is returned.  keep[] beyond the tile reads as defined bytes. */
static size_t tile_keep_avx2(const mask_stream *ms, const philox_avx2 *px, uint64_t first,
                             size_t len, uint8_t keep[KEEP_BYTES], ahead next)
{
    const size_t o = (size_t)(first % MASK_BLOCK_ELEMENTS);
    const uint64_t block = first / MASK_BLOCK_ELEMENTS;
    const size_t groups = (o + len + GROUP - 1) / GROUP;
    /* the 32-element words that hold a tie: their tie bits and word index */
    uint32_t tie_bits[(TILE + GROUP) / 32];
    uint16_t tie_word[(TILE + GROUP) / 32];
    size_t tie_words = 0;

    const __m256i flip = _mm256_set1_epi8((char)0x80);
    const __m256i t0_flipped = _mm256_set1_epi8((char)(ms->t0 ^ 0x80u));
    const __m256i t0 = _mm256_set1_epi8((char)ms->t0);
    const size_t lines = (next.bytes + 63) / 64, lines_per_group = (lines + groups - 1) / groups;
    for (size_t g = 0; g < groups; g++) {
        for (size_t l = g * lines_per_group; l < (g + 1) * lines_per_group && l < lines; l++) {
            __builtin_prefetch(next.x + 64 * l, 0, 3);
            if (next.y)
                __builtin_prefetch(next.y + 64 * l, 1, 3);
        }
        __m256i r[8];
        philox16_avx2(px, block + 16 * g, r);
        for (int v = 0; v < 8; v++) {
            /* keep = r < t0, unsigned: flip the sign bits and compare signed */
            __m256i kept = _mm256_cmpgt_epi8(t0_flipped, _mm256_xor_si256(r[v], flip));
            _mm256_storeu_si256((__m256i *)(keep + GROUP * g + 32 * v), kept);
            /* tie = r == t0, one bit per element; kept only for words that
             * have one (no branch: always store, count if nonzero) */
            uint32_t tie = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(r[v], t0));
            tie_bits[tie_words] = tie;
            tie_word[tie_words] = (uint16_t)(8 * g + (size_t)v);
            tie_words += tie != 0;
        }
    }
    memset(keep + GROUP * groups, 0, 32);

    /* The ties of the tile, in one batch: their positions first, then the
     * tie draws 8 at a time.  Ties before o or past o + len belong to other
     * tiles; with tlow == 0 every tie drops, as its keep byte already says. */
    if (ms->tlow == 0)
        return o;
    uint16_t tie_pos[TILE + GROUP];
    size_t tie_count = 0;
    for (size_t i = 0; i < tie_words; i++) {
        for (uint32_t t = tie_bits[i]; t != 0; t &= t - 1) {
            size_t pos = 32 * (size_t)tie_word[i] + (size_t)__builtin_ctz(t);
            tie_pos[tie_count] = (uint16_t)pos;
            tie_count += (pos >= o) & (pos < o + len);
        }
    }
    if (tie_count)
        tie_draws_avx2(px, block * MASK_BLOCK_ELEMENTS, tie_pos, tie_count, keep);
    return o;
}

/* Packed mask bits of keep[0 ... len - 1] into mask[0 ... ceil(len/8) - 1]. */
static void pack_keep_avx2(const uint8_t *keep, size_t len, uint8_t *mask)
{
    for (size_t k = 0; k < len; k += 32) {
        /* bits = sign bit of each of 32 keep bytes */
        uint32_t bits = (uint32_t)_mm256_movemask_epi8(_mm256_loadu_si256((const __m256i *)(keep + k)));
        size_t count = len - k < 32 ? len - k : 32;
        if (count < 32)
            bits &= (1u << count) - 1u;
        uint8_t bytes[4] = {(uint8_t)bits, (uint8_t)(bits >> 8), (uint8_t)(bits >> 16),
                            (uint8_t)(bits >> 24)};
        memcpy(mask + k / 8, bytes, (count + 7) / 8);
    }
}

static void mask_avx2(const mask_stream *ms, uint64_t first, size_t n, uint8_t *mask)
{
    philox_avx2 px;
    philox_avx2_init(&px, ms);
    _Alignas(32) uint8_t keep[KEEP_BYTES];
    for (size_t done = 0; done < n; done += TILE) {
        size_t len = n - done < TILE ? n - done : TILE;
        size_t o = tile_keep_avx2(ms, &px, first + done, len, keep, (ahead){NULL, NULL, 0});
        pack_keep_avx2(keep + o, len, mask + done / 8);
    }
}

static void forward_f32_avx2(const mask_stream *ms, uint64_t first, size_t n, float s,
                             const float *x, float *y, uint8_t *mask,
                             int stream_hint)
{
    philox_avx2 px;
    philox_avx2_init(&px, ms);
    _Alignas(32) uint8_t keep[KEEP_BYTES];
    const __m256 scale = _mm256_set1_ps(s);
    const int stream = stream_hint && kernels_stream_ok(y, sizeof *y);
    for (size_t done = 0; done < n; done += TILE) {
        size_t len = n - done < TILE ? n - done : TILE;
        const float *xt = x + done;
        float *yt = y + done;
        /* the tile after this one: prefetched while this one's Philox runs */
        ahead next = kernels_next_tile(x, y, sizeof *x, n, done, len, TILE, stream_hint, stream);
        const uint8_t *kb = keep + tile_keep_avx2(ms, &px, first + done, len, keep, next);
        size_t k = 0;
        if (stream) {
            /* streaming stores need 32-byte-aligned y: the first few go one by one */
            size_t head = kernels_stream_head(yt, 32, sizeof *yt);
            for (; k < head && k < len; k++)
                yt[k] = kb[k] ? xt[k] * s : 0.0f;
            for (; k + 8 <= len; k += 8) {
                /* y[k..k+7] = keep ? x * s : +0.0 (keep bytes sign-extended to lanes) */
                __m256i lanes = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(kb + k)));
                __m256 product = _mm256_mul_ps(_mm256_loadu_ps(xt + k), scale);
                _mm256_stream_ps(yt + k, _mm256_and_ps(product, _mm256_castsi256_ps(lanes)));
            }
        } else {
            for (; k + 8 <= len; k += 8) {
                /* y[k..k+7] = keep ? x * s : +0.0 (keep bytes sign-extended to lanes) */
                __m256i lanes = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(kb + k)));
                __m256 product = _mm256_mul_ps(_mm256_loadu_ps(xt + k), scale);
                _mm256_storeu_ps(yt + k, _mm256_and_ps(product, _mm256_castsi256_ps(lanes)));
            }
        }
        for (; k < len; k++)
            yt[k] = kb[k] ? xt[k] * s : 0.0f;
        if (mask)
            pack_keep_avx2(kb, len, mask + done / 8);
    }
    if (stream)
        _mm_sfence(); /* streaming stores are weakly ordered: done before we return */
}

static void forward_f64_avx2(const mask_stream *ms, uint64_t first, size_t n, double s,
                             const double *x, double *y, uint8_t *mask,
                             int stream_hint)
{
    philox_avx2 px;
    philox_avx2_init(&px, ms);
    _Alignas(32) uint8_t keep[KEEP_BYTES];
    const __m256d scale = _mm256_set1_pd(s);
    const int stream = stream_hint && kernels_stream_ok(y, sizeof *y);
    for (size_t done = 0; done < n; done += TILE) {
        size_t len = n - done < TILE ? n - done : TILE;
        const double *xt = x + done;
        double *yt = y + done;
        /* the tile after this one: prefetched while this one's Philox runs */
        ahead next = kernels_next_tile(x, y, sizeof *x, n, done, len, TILE, stream_hint, stream);
        const uint8_t *kb = keep + tile_keep_avx2(ms, &px, first + done, len, keep, next);
        size_t k = 0;
        if (stream) {
            /* streaming stores need 32-byte-aligned y: the first few go one by one */
            size_t head = kernels_stream_head(yt, 32, sizeof *yt);
            for (; k < head && k < len; k++)
                yt[k] = kb[k] ? xt[k] * s : 0.0;
            for (; k + 4 <= len; k += 4) {
                /* y[k..k+3] = keep ? x * s : +0.0 (keep bytes sign-extended to lanes) */
                __m256i lanes = _mm256_cvtepi8_epi64(_mm_loadu_si32(kb + k));
                __m256d product = _mm256_mul_pd(_mm256_loadu_pd(xt + k), scale);
                _mm256_stream_pd(yt + k, _mm256_and_pd(product, _mm256_castsi256_pd(lanes)));
            }
        } else {
            for (; k + 4 <= len; k += 4) {
                /* y[k..k+3] = keep ? x * s : +0.0 (keep bytes sign-extended to lanes) */
                __m256i lanes = _mm256_cvtepi8_epi64(_mm_loadu_si32(kb + k));
                __m256d product = _mm256_mul_pd(_mm256_loadu_pd(xt + k), scale);
                _mm256_storeu_pd(yt + k, _mm256_and_pd(product, _mm256_castsi256_pd(lanes)));
            }
        }
        for (; k < len; k++)
            yt[k] = kb[k] ? xt[k] * s : 0.0;
        if (mask)
            pack_keep_avx2(kb, len, mask + done / 8);
    }
    if (stream)
        _mm_sfence(); /* streaming stores are weakly ordered: done before we return */
}

/* 16 bf16 elements: y = keep ? round_bf16((float)x * s) : +0.0.  The keep
 * bytes (0xFF / 0x00) become lane masks; dropped lanes are zeroed before the
 * rounding (+0.0 rounds to 0x0000). */
static inline void scale16_bf16_avx2(const uint16_t *x, uint16_t *y, __m128i keep, __m256 s)
{
    __m256 lo = _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)x)), 16));
    __m256 hi = _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(x + 8))), 16));
    lo = _mm256_and_ps(_mm256_mul_ps(lo, s), _mm256_castsi256_ps(_mm256_cvtepi8_epi32(keep)));
    hi = _mm256_and_ps(_mm256_mul_ps(hi, s),
                       _mm256_castsi256_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(keep, 8))));
    /* packus interleaves the 128-bit halves: 0-3, 8-11, 4-7, 12-15; the
     * permute puts them back in order */
    __m256i packed = _mm256_packus_epi32(half_round_bf16_avx2(lo), half_round_bf16_avx2(hi));
    _mm256_storeu_si256((__m256i *)y, _mm256_permute4x64_epi64(packed, 0xD8));
}

/* The same for f16, with F16C (vcvtps2ph rounds to nearest-even and quiets
 * NaN exactly as half.h does).  The rounding control must be an 8-bit
 * immediate: a macro, not a const variable (that builds only when the
 * optimizer folds it). */
#define F16_ROUND (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
static inline void scale16_f16_avx2(const uint16_t *x, uint16_t *y, __m128i keep, __m256 s)
{
    __m256 lo = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)x)), s);
    __m256 hi = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + 8))), s);
    __m128i keep_lo = _mm_cvtepi8_epi16(keep), keep_hi = _mm_cvtepi8_epi16(_mm_srli_si128(keep, 8));
    _mm_storeu_si128((__m128i *)y, _mm_and_si128(_mm256_cvtps_ph(lo, F16_ROUND), keep_lo));
    _mm_storeu_si128((__m128i *)(y + 8), _mm_and_si128(_mm256_cvtps_ph(hi, F16_ROUND), keep_hi));
}

static void forward_half_avx2(const mask_stream *ms, uint64_t first, size_t n, float s,
                              int bf16, const uint16_t *x, uint16_t *y, uint8_t *mask,
                              int stream_hint)
{
    philox_avx2 px;
    philox_avx2_init(&px, ms);
    _Alignas(32) uint8_t keep[KEEP_BYTES];
    const __m256 scale = _mm256_set1_ps(s);
    for (size_t done = 0; done < n; done += TILE) {
        size_t len = n - done < TILE ? n - done : TILE;
        const uint16_t *xt = x + done;
        uint16_t *yt = y + done;
        /* the tile after this one: prefetched while this one's Philox runs */
        ahead next = kernels_next_tile(x, y, sizeof *x, n, done, len, TILE, stream_hint, 0);
        const uint8_t *kb = keep + tile_keep_avx2(ms, &px, first + done, len, keep, next);
        size_t k = 0;
        if (bf16) {
            for (; k + 16 <= len; k += 16)
                scale16_bf16_avx2(xt + k, yt + k, _mm_loadu_si128((const __m128i *)(kb + k)), scale);
        } else {
            for (; k + 16 <= len; k += 16)
                scale16_f16_avx2(xt + k, yt + k, _mm_loadu_si128((const __m128i *)(kb + k)), scale);
        }
        for (; k < len; k++) /* the last len % 16 elements of the call */
            yt[k] = half_dropout_one(bf16, kb[k] != 0, xt[k], s);
        if (mask)
            pack_keep_avx2(kb, len, mask + done / 8);
    }
}

static void apply_mask_f32_avx2(size_t n, float s, const uint8_t *mask, const float *dy,
                                float *dx, int stream)
{
    const __m256 scale = _mm256_set1_ps(s);
    const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    size_t k = 0;
    if (stream && kernels_stream_ok(dx, sizeof *dx)) {
        /* streaming stores need 32-byte-aligned dx: the first few go one by one */
        for (size_t head = kernels_stream_head(dx, 32, sizeof *dx); k < head && k < n; k++)
            dx[k] = ((mask[k / 8] >> (k % 8)) & 1u) ? dy[k] * s : 0.0f;
        for (; k + 8 <= n; k += 8) {
            __m256i byte = _mm256_set1_epi32((int)kernels_bits8_at(mask, k));
            __m256i lanes = _mm256_cmpeq_epi32(_mm256_and_si256(byte, bit), bit);
            __m256 product = _mm256_mul_ps(_mm256_loadu_ps(dy + k), scale);
            _mm256_stream_ps(dx + k, _mm256_and_ps(product, _mm256_castsi256_ps(lanes)));
        }
        _mm_sfence(); /* streaming stores are weakly ordered: done before we return */
    }
    for (; k + 8 <= n; k += 8) {
        /* lane j keeps iff bit j of mask byte k / 8 is set */
        __m256i byte = _mm256_set1_epi32(mask[k / 8]);
        __m256i lanes = _mm256_cmpeq_epi32(_mm256_and_si256(byte, bit), bit);
        /* dx = keep ? dy * s : +0.0 */
        __m256 product = _mm256_mul_ps(_mm256_loadu_ps(dy + k), scale);
        _mm256_storeu_ps(dx + k, _mm256_and_ps(product, _mm256_castsi256_ps(lanes)));
    }
    for (; k < n; k++)
        dx[k] = ((mask[k / 8] >> (k % 8)) & 1u) ? dy[k] * s : 0.0f;
}

static void apply_mask_f64_avx2(size_t n, double s, const uint8_t *mask, const double *dy,
                                double *dx, int stream)
{
    const __m256d scale = _mm256_set1_pd(s);
    const __m256i bit_low = _mm256_setr_epi64x(1, 2, 4, 8);
    const __m256i bit_high = _mm256_setr_epi64x(16, 32, 64, 128);
    size_t k = 0;
    if (stream && kernels_stream_ok(dx, sizeof *dx)) {
        for (size_t head = kernels_stream_head(dx, 32, sizeof *dx); k < head && k < n; k++)
            dx[k] = ((mask[k / 8] >> (k % 8)) & 1u) ? dy[k] * s : 0.0;
        for (; k + 8 <= n; k += 8) {
            __m256i byte = _mm256_set1_epi64x(kernels_bits8_at(mask, k));
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
        dx[k] = ((mask[k / 8] >> (k % 8)) & 1u) ? dy[k] * s : 0.0;
}

const dropout_kernels dropout_kernels_avx2 = {
    .isa = "avx2",
    .mask = mask_avx2,
    .forward_f32 = forward_f32_avx2,
    .forward_f64 = forward_f64_avx2,
    .apply_mask_f32 = apply_mask_f32_avx2,
    .apply_mask_f64 = apply_mask_f64_avx2,
    .forward_half = forward_half_avx2,
};
