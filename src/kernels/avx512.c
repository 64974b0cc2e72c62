/*
 * avx512.c — the kernel table for x86-64 AVX-512 (F + BW + VL).  Same bits
 * as scalar.c.
 *
 * Work goes tile by tile (TILE elements):
 *   1. Philox for 16 blocks at once (16 counters per vector, 256 elements),
 *      transposed so the 256 random bytes come out in element order; one
 *      unsigned byte compare per 64 elements gives 64 keep bits (r < t0) and
 *      another the 64 tie bits (r == t0, 1 in 256).
 *   2. The ties of the tile are resolved in one batch afterwards, their tie
 *      draws (another Philox, SPEC section 2) computed 16 at a time.
 *   3. The keep bits are shifted so bit k belongs to element first + k, and
 *      the operation uses them directly as lane masks: y = maskz_mul(x, s)
 *      writes +0.0 in the dropped lanes.  Tails use masked loads and stores.
 */
#include <immintrin.h>
#include <string.h>

#include "kernels.h"
#include "half_avx512.h"
#include "../family/half.h"

#define TILE 2048  /* elements per tile; a multiple of 64 */
#define GROUP 256  /* elements per Philox vector: 16 blocks of 16 bytes */
#define RAW_WORDS ((TILE + GROUP) / 64 + 1)

typedef struct philox_avx512 {
    __m512i round_key0[PHILOX_ROUNDS]; /* key[0] + r * W0, broadcast */
    __m512i round_key1[PHILOX_ROUNDS]; /* key[1] + r * W1, broadcast */
    __m512i first_c0_xor;              /* hi(M1 * lo(stream)) ^ key[0]: round 1   */
    __m512i first_c1;                  /* lo(M1 * lo(stream)): round 1's c1       */
    __m512i first_c2_xor;              /* hi(stream) ^ key[1]: round 1            */
    __m512i tie_key0[PHILOX_ROUNDS];   /* the same for the tie draws' key         */
    __m512i tie_key1[PHILOX_ROUNDS];
    __m512i stream_lo, stream_hi;      /* counter words 2 and 3                   */
    __m512i tlow;                      /* tie threshold, in 64-bit lanes          */
} philox_avx512;

static void philox_avx512_init(philox_avx512 *px, const mask_stream *ms)
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
    px->first_c0_xor = _mm512_set1_epi32((int)((uint32_t)(product1 >> 32) ^ ms->key[0]));
    px->first_c1 = _mm512_set1_epi32((int)(uint32_t)product1);
    px->first_c2_xor = _mm512_set1_epi32((int)(ms->stream_hi ^ ms->key[1]));
    px->stream_lo = _mm512_set1_epi32((int)ms->stream_lo);
    px->stream_hi = _mm512_set1_epi32((int)ms->stream_hi);
    px->tlow = _mm512_set1_epi64(ms->tlow);
}

/* Philox runs in the "wide" layout: one block per 64-bit lane, each word in
 * the low 32 bits, so _mm512_mul_epu32 gives the whole 64-bit product of
 * every lane: its low half is in place, its high half one dword swap away
 * (the high 32 bits of a lane are don't-care).  0x96 is the truth table of
 * a ^ b ^ c for vpternlogd.  Two sets of 8 blocks run interleaved. */
#define SETS 2

/* One Philox round on a wide set:
 * c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
 * with (hi0, lo0) = M0 * c0 and (hi1, lo1) = M1 * c2. */
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

/* Philox4x32-10 of 16 blocks from `block`.  Set a, lane l holds block
 * 8 (l % 2) + l / 2, set b block 8 (l % 2) + 4 + l / 2: the order in which
 * the merge and transpose below give out[v] = the 64 random bytes of blocks
 * block + 4v ... block + 4v + 3, in element order. */
static inline void philox16_avx512(const philox_avx512 *px, uint64_t block, __m512i out[4])
{
    const __m512i base = _mm512_set1_epi64((long long)block);
    const __m512i offsets[SETS] = {_mm512_setr_epi64(0, 8, 1, 9, 2, 10, 3, 11),
                                   _mm512_setr_epi64(4, 12, 5, 13, 6, 14, 7, 15)};
    const __m512i m0 = _mm512_set1_epi64(PHILOX_M0);
    __m512i c0[SETS], c1[SETS], c2[SETS], c3[SETS];
    for (int t = 0; t < SETS; t++) {
        /* j = block + offset (64-bit add: the carry into hi(j) is free);
         * counter = {lo(j), hi(j), lo(stream), hi(stream)}.  Round 1, with
         * c2 = lo(stream) the same everywhere (precomputed):
         * c0, c1, c2, c3 = hi(M1 c2) ^ hi(j) ^ k0, lo(M1 c2), hi(M0 lo(j)) ^ c3 ^ k1, lo(M0 lo(j)) */
        __m512i j = _mm512_add_epi64(base, offsets[t]);
        __m512i product0 = _mm512_mul_epu32(j, m0);
        c0[t] = _mm512_xor_si512(_mm512_srli_epi64(j, 32), px->first_c0_xor);
        c1[t] = px->first_c1;
        c2[t] = _mm512_xor_si512(_mm512_shuffle_epi32(product0, _MM_PERM_CDAB), px->first_c2_xor);
        c3[t] = product0;
    }
    /* Rounds 2 ... 10 */
    for (int r = 1; r < PHILOX_ROUNDS; r++)
        for (int t = 0; t < SETS; t++)
            philox_round_avx512(&c0[t], &c1[t], &c2[t], &c3[t], px->round_key0[r],
                                px->round_key1[r]);

    /* The two wide sets -> one dense vector per word (dword 2l from set a,
     * 2l + 1 from set b), then a 4x4 transpose of 32-bit words inside each
     * 128-bit quarter: lane 4h + m of word vector w -> word w of block 4m + h */
    __m512i w0 = _mm512_mask_blend_epi32(0xAAAA, c0[0], _mm512_slli_epi64(c0[1], 32));
    __m512i w1 = _mm512_mask_blend_epi32(0xAAAA, c1[0], _mm512_slli_epi64(c1[1], 32));
    __m512i w2 = _mm512_mask_blend_epi32(0xAAAA, c2[0], _mm512_slli_epi64(c2[1], 32));
    __m512i w3 = _mm512_mask_blend_epi32(0xAAAA, c3[0], _mm512_slli_epi64(c3[1], 32));
    __m512i u0 = _mm512_unpacklo_epi32(w0, w1);
    __m512i u1 = _mm512_unpackhi_epi32(w0, w1);
    __m512i u2 = _mm512_unpacklo_epi32(w2, w3);
    __m512i u3 = _mm512_unpackhi_epi32(w2, w3);
    out[0] = _mm512_unpacklo_epi64(u0, u2);
    out[1] = _mm512_unpackhi_epi64(u0, u2);
    out[2] = _mm512_unpacklo_epi64(u1, u3);
    out[3] = _mm512_unpackhi_epi64(u1, u3);
}

/* The tie draws of `count` elements base + pos[i], 16 at a time (two wide
 * sets of 8): bit pos[i] of raw is set if (philox({lo(e), hi(e), lo(stream),
 * hi(stream)}, tie_key)[0] & 0xFFFFFF) < tlow.  Requires tlow != 0. */
static void tie_draws_avx512(const philox_avx512 *px, uint64_t base, const uint16_t *pos,
                             size_t count, uint64_t *raw)
{
    const __m512i low24 = _mm512_set1_epi64(0xFFFFFF);
    for (size_t b = 0; b < count; b += 16) {
        /* e = base + pos, the last one repeated to fill 16 lanes */
        uint64_t index[16];
        for (size_t i = 0; i < 16; i++)
            index[i] = base + pos[b + i < count ? b + i : count - 1];
        __m512i c0[SETS], c1[SETS], c2[SETS], c3[SETS];
        for (int t = 0; t < SETS; t++) {
            __m512i e = _mm512_loadu_si512(index + 8 * t);
            c0[t] = e;                        /* lo(e) in the low 32 bits */
            c1[t] = _mm512_srli_epi64(e, 32); /* hi(e) */
            c2[t] = px->stream_lo;
            c3[t] = px->stream_hi;
        }
        for (int r = 0; r < PHILOX_ROUNDS; r++)
            for (int t = 0; t < SETS; t++)
                philox_round_avx512(&c0[t], &c1[t], &c2[t], &c3[t], px->tie_key0[r],
                                    px->tie_key1[r]);
        /* keep = (word 0 & 0xFFFFFF) < tlow */
        unsigned bits = _mm512_cmplt_epu64_mask(_mm512_and_si512(c0[0], low24), px->tlow) |
                        (unsigned)_mm512_cmplt_epu64_mask(_mm512_and_si512(c0[1], low24), px->tlow)
                            << 8;
        for (size_t i = 0; i < 16 && b + i < count; i++)
            raw[pos[b + i] / 64] |= (uint64_t)((bits >> i) & 1u) << (pos[b + i] % 64);
    }
}

typedef kernels_ahead ahead; /* kernels.h */

/* Keep bits of elements first ... first + len - 1 (len <= TILE), ties
 * resolved: bit k % 64 of bits[k / 64] is element first + k; bits past len
 * are zero. */
static void tile_keep_avx512(const mask_stream *ms, const philox_avx512 *px, uint64_t first,
                             size_t len, uint64_t bits[TILE / 64], ahead next)
{
    const unsigned o = (unsigned)(first % MASK_BLOCK_ELEMENTS);
    const uint64_t block = first / MASK_BLOCK_ELEMENTS;
    const size_t groups = (o + len + GROUP - 1) / GROUP;
    uint64_t raw[RAW_WORDS];
    /* the 64-element words that hold a tie: their tie bits and word index */
    uint64_t tie_bits[RAW_WORDS - 1];
    uint16_t tie_word[RAW_WORDS - 1];
    size_t tie_words = 0;

    const __m512i t0 = _mm512_set1_epi8((char)ms->t0);
    const size_t lines = (next.bytes + 63) / 64, lines_per_group = (lines + groups - 1) / groups;
    for (size_t g = 0; g < groups; g++) {
        for (size_t l = g * lines_per_group; l < (g + 1) * lines_per_group && l < lines; l++) {
            __builtin_prefetch(next.x + 64 * l, 0, 3);
            if (next.y)
                __builtin_prefetch(next.y + 64 * l, 1, 3);
        }
        __m512i r[4];
        philox16_avx512(px, block + 16 * g, r);
        for (int v = 0; v < 4; v++) {
            /* keep = r < t0 (unsigned bytes), tie = r == t0 */
            raw[4 * g + (size_t)v] = _mm512_cmplt_epu8_mask(r[v], t0);
            /* words with a tie are listed without a branch: always store,
             * count if nonzero */
            uint64_t tie = _mm512_cmpeq_epi8_mask(r[v], t0);
            tie_bits[tie_words] = tie;
            tie_word[tie_words] = (uint16_t)(4 * g + (size_t)v);
            tie_words += tie != 0;
        }
    }
    raw[4 * groups] = 0;

    /* The ties of the tile, in one batch: their positions first, then the
     * tie draws 16 at a time.  Ties before o or past o + len belong to other
     * tiles; with tlow == 0 every tie drops (its keep bit is already 0). */
    if (ms->tlow != 0) {
        uint16_t tie_pos[TILE + GROUP];
        size_t tie_count = 0;
        for (size_t i = 0; i < tie_words; i++) {
            for (uint64_t t = tie_bits[i]; t != 0; t &= t - 1) {
                size_t pos = 64 * (size_t)tie_word[i] + (size_t)__builtin_ctzll(t);
                tie_pos[tie_count] = (uint16_t)pos;
                tie_count += (pos >= o) & (pos < o + len);
            }
        }
        if (tie_count)
            tie_draws_avx512(px, block * MASK_BLOCK_ELEMENTS, tie_pos, tie_count, raw);
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

/* The keep bits of tile elements k ... k + 63 (fewer at the end of the
 * tile), for any k: a streaming head can leave k off a multiple of 16. */
static inline uint64_t bits_at(const uint64_t *bits, size_t k, size_t len)
{
    size_t w = k / 64, b = k % 64;
    uint64_t v = bits[w] >> b;
    if (b != 0 && 64 * (w + 1) < len)
        v |= bits[w + 1] << (64 - b);
    return v;
}

static void mask_avx512(const mask_stream *ms, uint64_t first, size_t n, uint8_t *mask)
{
    philox_avx512 px;
    philox_avx512_init(&px, ms);
    uint64_t bits[TILE / 64];
    for (size_t done = 0; done < n; done += TILE) {
        size_t len = n - done < TILE ? n - done : TILE;
        tile_keep_avx512(ms, &px, first + done, len, bits, (ahead){NULL, NULL, 0});
        store_bits(mask + done / 8, bits, len);
    }
}

static void forward_f32_avx512(const mask_stream *ms, uint64_t first, size_t n, float s,
                               const float *x, float *y, uint8_t *mask,
                               int stream_hint)
{
    philox_avx512 px;
    philox_avx512_init(&px, ms);
    uint64_t bits[TILE / 64];
    const __m512 scale = _mm512_set1_ps(s);
    const int stream = stream_hint && kernels_stream_ok(y, sizeof *y);
    for (size_t done = 0; done < n; done += TILE) {
        size_t len = n - done < TILE ? n - done : TILE;
        const float *xt = x + done;
        float *yt = y + done;
        /* the tile after this one: prefetched while this one's Philox runs */
        ahead next = kernels_next_tile(x, y, sizeof *x, n, done, len, TILE, stream_hint, stream);
        tile_keep_avx512(ms, &px, first + done, len, bits, next);
        size_t k = 0;
        if (stream) {
            /* streaming stores need 64-byte-aligned y: the first few are masked */
            size_t head = kernels_stream_head(yt, 64, sizeof *yt);
            head = head < len ? head : len;
            if (head) {
                __mmask16 valid = (__mmask16)((1u << head) - 1u);
                __m512 v = _mm512_maskz_loadu_ps(valid, xt);
                _mm512_mask_storeu_ps(yt, valid, _mm512_maskz_mul_ps((__mmask16)bits[0], v, scale));
                k = head;
            }
            for (; k + 16 <= len; k += 16) {
                /* y[k..k+15] = keep ? x * s : +0.0 */
                __mmask16 keep = (__mmask16)bits_at(bits, k, len);
                _mm512_stream_ps(yt + k, _mm512_maskz_mul_ps(keep, _mm512_loadu_ps(xt + k), scale));
            }
        } else {
            for (; k + 16 <= len; k += 16) {
                /* y[k..k+15] = keep ? x * s : +0.0 */
                __mmask16 keep = (__mmask16)(bits[k / 64] >> (k % 64));
                _mm512_storeu_ps(yt + k, _mm512_maskz_mul_ps(keep, _mm512_loadu_ps(xt + k), scale));
            }
        }
        if (k < len) {
            /* the same on the last len - k < 16 elements, masked */
            __mmask16 valid = (__mmask16)((1u << (len - k)) - 1u);
            __mmask16 keep = (__mmask16)bits_at(bits, k, len);
            __m512 v = _mm512_maskz_loadu_ps(valid, xt + k);
            _mm512_mask_storeu_ps(yt + k, valid, _mm512_maskz_mul_ps(keep, v, scale));
        }
        if (mask)
            store_bits(mask + done / 8, bits, len);
    }
    if (stream)
        _mm_sfence(); /* streaming stores are weakly ordered: done before we return */
}

static void forward_f64_avx512(const mask_stream *ms, uint64_t first, size_t n, double s,
                               const double *x, double *y, uint8_t *mask,
                               int stream_hint)
{
    philox_avx512 px;
    philox_avx512_init(&px, ms);
    uint64_t bits[TILE / 64];
    const __m512d scale = _mm512_set1_pd(s);
    const int stream = stream_hint && kernels_stream_ok(y, sizeof *y);
    for (size_t done = 0; done < n; done += TILE) {
        size_t len = n - done < TILE ? n - done : TILE;
        const double *xt = x + done;
        double *yt = y + done;
        /* the tile after this one: prefetched while this one's Philox runs */
        ahead next = kernels_next_tile(x, y, sizeof *x, n, done, len, TILE, stream_hint, stream);
        tile_keep_avx512(ms, &px, first + done, len, bits, next);
        size_t k = 0;
        if (stream) {
            /* streaming stores need 64-byte-aligned y: the first few are masked */
            size_t head = kernels_stream_head(yt, 64, sizeof *yt);
            head = head < len ? head : len;
            if (head) {
                __mmask8 valid = (__mmask8)((1u << head) - 1u);
                __m512d v = _mm512_maskz_loadu_pd(valid, xt);
                _mm512_mask_storeu_pd(yt, valid, _mm512_maskz_mul_pd((__mmask8)bits[0], v, scale));
                k = head;
            }
            for (; k + 8 <= len; k += 8) {
                /* y[k..k+7] = keep ? x * s : +0.0 */
                __mmask8 keep = (__mmask8)bits_at(bits, k, len);
                _mm512_stream_pd(yt + k, _mm512_maskz_mul_pd(keep, _mm512_loadu_pd(xt + k), scale));
            }
        } else {
            for (; k + 8 <= len; k += 8) {
                /* y[k..k+7] = keep ? x * s : +0.0 */
                __mmask8 keep = (__mmask8)(bits[k / 64] >> (k % 64));
                _mm512_storeu_pd(yt + k, _mm512_maskz_mul_pd(keep, _mm512_loadu_pd(xt + k), scale));
            }
        }
        if (k < len) {
            /* the same on the last len - k < 8 elements, masked */
            __mmask8 valid = (__mmask8)((1u << (len - k)) - 1u);
            __mmask8 keep = (__mmask8)bits_at(bits, k, len);
            __m512d v = _mm512_maskz_loadu_pd(valid, xt + k);
            _mm512_mask_storeu_pd(yt + k, valid, _mm512_maskz_mul_pd(keep, v, scale));
        }
        if (mask)
            store_bits(mask + done / 8, bits, len);
    }
    if (stream)
        _mm_sfence(); /* streaming stores are weakly ordered: done before we return */
}

static void forward_half_avx512(const mask_stream *ms, uint64_t first, size_t n, float s,
                                int bf16, const uint16_t *x, uint16_t *y, uint8_t *mask,
                                int stream_hint)
{
    philox_avx512 px;
    philox_avx512_init(&px, ms);
    uint64_t bits[TILE / 64];
    const __m512 scale = _mm512_set1_ps(s);
    for (size_t done = 0; done < n; done += TILE) {
        size_t len = n - done < TILE ? n - done : TILE;
        const uint16_t *xt = x + done;
        uint16_t *yt = y + done;
        /* the tile after this one: prefetched while this one's Philox runs */
        ahead next = kernels_next_tile(x, y, sizeof *x, n, done, len, TILE, stream_hint, 0);
        tile_keep_avx512(ms, &px, first + done, len, bits, next);
        size_t k = 0;
        for (; k + 16 <= len; k += 16) {
            /* y[k..k+15] = keep ? round((float)x * s) : +0 (maskz: dropped
             * lanes are +0.0 before rounding, and +0.0 rounds to 0x0000) */
            __mmask16 keep = (__mmask16)(bits[k / 64] >> (k % 64));
            __m256i raw = _mm256_loadu_si256((const __m256i *)(xt + k));
            __m256i out;
            if (bf16) {
                __m512 v = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(raw), 16));
                out = _mm512_cvtepi32_epi16(half_round_bf16_avx512(_mm512_maskz_mul_ps(keep, v, scale)));
            } else {
                __m512 v = _mm512_maskz_mul_ps(keep, _mm512_cvtph_ps(raw), scale);
                out = _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            }
            _mm256_storeu_si256((__m256i *)(yt + k), out);
        }
        for (; k < len; k++) /* the last len % 16 elements of the call */
            yt[k] = half_dropout_one(bf16, (bits[k / 64] >> (k % 64)) & 1u, xt[k], s);
        if (mask)
            store_bits(mask + done / 8, bits, len);
    }
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

static void apply_mask_f32_avx512(size_t n, float s, const uint8_t *mask, const float *dy,
                                  float *dx, int stream)
{
    const __m512 scale = _mm512_set1_ps(s);
    size_t k = 0;
    if (stream && kernels_stream_ok(dx, sizeof *dx)) {
        /* streaming stores need 64-byte-aligned dx: the first few are masked */
        size_t head = kernels_stream_head(dx, 64, sizeof *dx);
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
        __mmask16 keep = (__mmask16)(mask[k / 8] | (unsigned)mask[k / 8 + 1] << 8);
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

static void apply_mask_f64_avx512(size_t n, double s, const uint8_t *mask, const double *dy,
                                  double *dx, int stream)
{
    const __m512d scale = _mm512_set1_pd(s);
    size_t k = 0;
    if (stream && kernels_stream_ok(dx, sizeof *dx)) {
        size_t head = kernels_stream_head(dx, 64, sizeof *dx);
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
    for (; k + 8 <= n; k += 8) {
        /* dx[k..k+7] = keep ? dy * s : +0.0, keep = mask byte k/8 */
        _mm512_storeu_pd(dx + k, _mm512_maskz_mul_pd(mask[k / 8], _mm512_loadu_pd(dy + k), scale));
    }
    if (k < n) {
        __mmask8 valid = (__mmask8)((1u << (n - k)) - 1u);
        __mmask8 keep = (__mmask8)mask_bits16_at(mask, k, n);
        __m512d v = _mm512_maskz_loadu_pd(valid, dy + k);
        _mm512_mask_storeu_pd(dx + k, valid, _mm512_maskz_mul_pd(keep, v, scale));
    }
}

const dropout_kernels dropout_kernels_avx512 = {
    .isa = "avx512",
    .mask = mask_avx512,
    .forward_f32 = forward_f32_avx512,
    .forward_f64 = forward_f64_avx512,
    .apply_mask_f32 = apply_mask_f32_avx512,
    .apply_mask_f64 = apply_mask_f64_avx512,
    .forward_half = forward_half_avx512,
};
