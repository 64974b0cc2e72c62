/*
 * mask.h — mask stream v1 (docs/SPEC.md section 2): the keep decision of
 * element i from (seed, stream, i, p).
 *
 *   T    = (uint64_t)((1.0 - p) * 2^32 + 0.5)       keep probability T / 2^32
 *   t0   = T >> 24, tlow = T & 0xFFFFFF
 *   r    = byte i % 16 of philox(counter {lo(i/16), hi(i/16), lo(stream),
 *          hi(stream)}, key {lo(seed), hi(seed)}), words little-endian
 *   keep = r < t0, or r == t0 and tlow != 0 and tie_draw(i) < tlow
 *
 * Everything here is internal; kernels of every ISA share these helpers for
 * the rare tie draw and the degenerate thresholds.
 */
#ifndef DROPOUT_MASK_H
#define DROPOUT_MASK_H

#include <stddef.h>
#include <stdint.h>

#include "philox.h"

#define MASK_THRESHOLD_ALL ((uint64_t)1 << 32) /* keep all, no draws */
#define MASK_TIE_KEY_XOR 0x243F6A88u            /* pi, for the tie draw */
#define MASK_BLOCK_ELEMENTS 16                  /* one byte per element  */

/* Everything a kernel needs to decide keep bits of one (seed, stream, p). */
typedef struct mask_stream {
    uint32_t key[2];        /* {lo(seed), hi(seed)}                       */
    uint32_t tie_key[2];    /* {lo(seed) ^ MASK_TIE_KEY_XOR, hi(seed)}    */
    uint32_t stream_lo;     /* counter words 2 and 3                      */
    uint32_t stream_hi;
    uint64_t threshold;     /* T, 0 ... 2^32                              */
    uint32_t t0;            /* T >> 24: bytes below it keep (0 ... 256)   */
    uint32_t tlow;          /* T & 0xFFFFFF: the tie draw's threshold     */
} mask_stream;

/* T for a valid p (0 <= p <= 1), computed in double exactly as specified. */
static inline uint64_t mask_keep_threshold(double p)
{
    return (uint64_t)((1.0 - p) * 4294967296.0 + 0.5);
}

static inline mask_stream mask_stream_make(uint64_t seed, uint64_t stream, double p)
{
    mask_stream ms;
    ms.key[0] = (uint32_t)seed;
    ms.key[1] = (uint32_t)(seed >> 32);
    ms.tie_key[0] = (uint32_t)seed ^ MASK_TIE_KEY_XOR;
    ms.tie_key[1] = (uint32_t)(seed >> 32);
    ms.stream_lo = (uint32_t)stream;
    ms.stream_hi = (uint32_t)(stream >> 32);
    ms.threshold = mask_keep_threshold(p);
    ms.t0 = (uint32_t)(ms.threshold >> 24);
    ms.tlow = (uint32_t)(ms.threshold & 0xFFFFFFu);
    return ms;
}

/* The 16 random bytes of block j (elements 16j ... 16j + 15) as 4 words;
 * byte k of the block is (words[k / 4] >> (8 * (k % 4))) & 0xFF. */
static inline void mask_block_words(const mask_stream *ms, uint64_t block_index,
                                    uint32_t words[4])
{
    const uint32_t counter[4] = {(uint32_t)block_index, (uint32_t)(block_index >> 32),
                                 ms->stream_lo, ms->stream_hi};
    philox4x32_10(counter, ms->key, words);
}

/* The tie draw of element i (used only when its byte equals t0):
 * keep iff (philox({lo(i), hi(i), stream}, tie_key)[0] & 0xFFFFFF) < tlow. */
static inline int mask_tie_keep(const mask_stream *ms, uint64_t index)
{
    if (ms->tlow == 0)
        return 0;
    const uint32_t counter[4] = {(uint32_t)index, (uint32_t)(index >> 32),
                                 ms->stream_lo, ms->stream_hi};
    uint32_t words[4];
    philox4x32_10(counter, ms->tie_key, words);
    return (words[0] & 0xFFFFFFu) < ms->tlow;
}

/* Keep decision of element i whose random byte is r. */
static inline int mask_byte_keep(const mask_stream *ms, uint32_t r, uint64_t index)
{
    if (r != ms->t0)
        return r < ms->t0;
    return mask_tie_keep(ms, index);
}

/* Keep decision of one element, from scratch (slow; for tests and tools). */
static inline int mask_keep_one(const mask_stream *ms, uint64_t index)
{
    if (ms->threshold == MASK_THRESHOLD_ALL)
        return 1;
    if (ms->threshold == 0)
        return 0;
    uint32_t words[4];
    mask_block_words(ms, index / MASK_BLOCK_ELEMENTS, words);
    unsigned k = (unsigned)(index % MASK_BLOCK_ELEMENTS);
    uint32_t r = (words[k / 4] >> (8 * (k % 4))) & 0xFFu;
    return mask_byte_keep(ms, r, index);
}

#endif /* DROPOUT_MASK_H */
