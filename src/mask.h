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
 * The definition is include/dropout_mask_v1.h (portable: C, C++, CUDA,
 * OpenCL C); these are the CPU library's pointer-taking names for it, which
 * kernels of every ISA share for the rare tie draw and the degenerate
 * thresholds.
 */
#ifndef DROPOUT_MASK_H
#define DROPOUT_MASK_H

#include <stddef.h>
#include <stdint.h>

#include "philox.h" /* and include/dropout_mask_v1.h, the one definition */

#define MASK_THRESHOLD_ALL DROPOUT_MASK_V1_THRESHOLD_ALL /* keep all, no draws */
#define MASK_TIE_KEY_XOR DROPOUT_MASK_V1_TIE_KEY_XOR     /* pi, for the tie draw */
#define MASK_BLOCK_ELEMENTS DROPOUT_MASK_V1_BLOCK_ELEMENTS /* one byte per element */

/* Everything a kernel needs to decide keep bits of one (seed, stream, p):
 * key, tie_key, stream_lo/hi, threshold T, t0 = T >> 24, tlow = T & 0xFFFFFF
 * (the portable header's struct; the kernels read its fields directly). */
typedef dropout_mask_v1_stream mask_stream;

/* T for a valid p (0 <= p <= 1), computed in double exactly as specified. */
static inline uint64_t mask_keep_threshold(double p)
{
    return dropout_mask_v1_threshold(p);
}

static inline mask_stream mask_stream_make(uint64_t seed, uint64_t stream, double p)
{
    return dropout_mask_v1_stream_make(seed, stream, mask_keep_threshold(p));
}

/* The 16 random bytes of block j (elements 16j ... 16j + 15) as 4 words;
 * byte k of the block is (words[k / 4] >> (8 * (k % 4))) & 0xFF. */
static inline void mask_block_words(const mask_stream *ms, uint64_t block_index,
                                    uint32_t words[4])
{
    dropout_mask_v1_words block = dropout_mask_v1_block(*ms, block_index);
    for (int k = 0; k < 4; k++)
        words[k] = block.w[k];
}

/* The tie draw of element i (used only when its byte equals t0). */
static inline int mask_tie_keep(const mask_stream *ms, uint64_t index)
{
    return dropout_mask_v1_tie_keep(*ms, index);
}

/* Keep decision of element i whose random byte is r. */
static inline int mask_byte_keep(const mask_stream *ms, uint32_t r, uint64_t index)
{
    return dropout_mask_v1_byte_keep(*ms, r, index);
}

/* Keep decision of one element, from scratch (slow; for tests and tools). */
static inline int mask_keep_one(const mask_stream *ms, uint64_t index)
{
    return dropout_mask_v1_keep(*ms, index);
}

#endif /* DROPOUT_MASK_H */
