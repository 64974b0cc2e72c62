/*
 * dropout_mask_v1.h — mask stream v1 (docs/SPEC.md sections 2 and 4) as
 * portable inline functions: the one definition of the keep decision, shared
 * by the CPU library, its device backends, and your own kernels.
 *
 * The same file compiles unchanged as
 *   - C99 / C11 and C++ (host code),
 *   - CUDA (every function is __host__ __device__; __umulhi on the device),
 *   - OpenCL C 1.2 and later (mul_hi; no double, so the threshold T is
 *     computed on the host with dropout_mask_v1_threshold and passed in).
 * It has no state, allocates nothing and includes only <stdint.h> (not even
 * that in OpenCL C).  Include it in a kernel of your own (a fused attention
 * kernel, a Triton/Metal port, a custom CUDA op) and you get exactly the masks
 * the dropout library computes for the same (seed, stream, index, p): bit for
 * bit, on every device, for any grid, block size or alignment.
 *
 *   T     = dropout_mask_v1_threshold(p)                keep probability T/2^32
 *   ms    = dropout_mask_v1_stream_make(seed, stream, T)
 *   bits  = dropout_mask_v1_keep_bits16(ms, j)          keep bits of elements
 *                                                        16j ... 16j + 15
 *   keep  = dropout_mask_v1_keep(ms, i)                  one element
 *
 * Portability knobs (define before including):
 *   DROPOUT_MASK_V1_QUALIFIER   the qualifiers of every function (default:
 *                               `static inline`, plus `__host__ __device__
 *                               __forceinline__` under CUDA; define it
 *                               for OpenCL C 1.0/1.1, which lack `static`)
 *   DROPOUT_MASK_V1_TYPES       define it and typedef dropout_mask_v1_u32 /
 *                               dropout_mask_v1_u64 yourself (unsigned 32-
 *                               and 64-bit) for a dialect without <stdint.h>
 *
 * Philox4x32-10 is Random123's generator: Salmon, Moraes, Dror, Shaw,
 * "Parallel random numbers: as easy as 1, 2, 3" (SC 2011).
 */
#ifndef DROPOUT_MASK_V1_H
#define DROPOUT_MASK_V1_H

#if defined(__OPENCL_C_VERSION__) || defined(__OPENCL_VERSION__)
#define DROPOUT_MASK_V1_OPENCL 1
#endif

/* ---- fixed-width types ---------------------------------------------------- */
#ifndef DROPOUT_MASK_V1_TYPES
#define DROPOUT_MASK_V1_TYPES
#if defined(DROPOUT_MASK_V1_OPENCL)
typedef uint dropout_mask_v1_u32;
typedef ulong dropout_mask_v1_u64;
#else
#include <stdint.h>
typedef uint32_t dropout_mask_v1_u32;
typedef uint64_t dropout_mask_v1_u64;
#endif
#endif

/* ---- the qualifier of every function -------------------------------------- */
#ifndef DROPOUT_MASK_V1_QUALIFIER
#if defined(__CUDACC__)
#define DROPOUT_MASK_V1_QUALIFIER static __host__ __device__ __forceinline__
#else
#define DROPOUT_MASK_V1_QUALIFIER static inline
#endif
#endif

/* ---- constants -------------------------------------------------------------- */
#define DROPOUT_MASK_V1_PHILOX_M0 0xD2511F53u /* round multipliers          */
#define DROPOUT_MASK_V1_PHILOX_M1 0xCD9E8D57u
#define DROPOUT_MASK_V1_PHILOX_W0 0x9E3779B9u /* key bumps: golden ratio    */
#define DROPOUT_MASK_V1_PHILOX_W1 0xBB67AE85u /*            sqrt(3) - 1     */
#define DROPOUT_MASK_V1_PHILOX_ROUNDS 10
#define DROPOUT_MASK_V1_TIE_KEY_XOR 0x243F6A88u /* pi: key of the tie draw   */
#define DROPOUT_MASK_V1_BLOCK_ELEMENTS 16       /* one byte per element      */
/* T == 2^32 keeps everything, T == 0 drops everything; neither draws. */
#define DROPOUT_MASK_V1_THRESHOLD_ALL ((dropout_mask_v1_u64)1 << 32)

/* The four 32-bit words of one Philox4x32-10 output (w[0] first). */
typedef struct dropout_mask_v1_words {
    dropout_mask_v1_u32 w[4];
} dropout_mask_v1_words;

/* Everything needed to decide the keep bits of one (seed, stream, p). Plain
 * data: pass it to a kernel by value. */
typedef struct dropout_mask_v1_stream {
    dropout_mask_v1_u32 key[2];     /* {lo(seed), hi(seed)}                    */
    dropout_mask_v1_u32 tie_key[2]; /* {lo(seed) ^ TIE_KEY_XOR, hi(seed)}      */
    dropout_mask_v1_u32 stream_lo;  /* counter words 2 and 3                   */
    dropout_mask_v1_u32 stream_hi;
    dropout_mask_v1_u64 threshold;  /* T, 0 ... 2^32                           */
    dropout_mask_v1_u32 t0;         /* T >> 24: bytes below it keep (0 ... 256) */
    dropout_mask_v1_u32 tlow;       /* T & 0xFFFFFF: the tie draw's threshold  */
} dropout_mask_v1_stream;

/* High 32 bits of the 64-bit product a * b: one instruction on every device. */
DROPOUT_MASK_V1_QUALIFIER dropout_mask_v1_u32 dropout_mask_v1_mulhi(dropout_mask_v1_u32 a,
                                                                    dropout_mask_v1_u32 b)
{
#if defined(DROPOUT_MASK_V1_OPENCL)
    return mul_hi(a, b);
#elif defined(__CUDA_ARCH__)
    return __umulhi(a, b);
#else
    return (dropout_mask_v1_u32)(((dropout_mask_v1_u64)a * b) >> 32);
#endif
}

/* Philox4x32-10: counter {c0, c1, c2, c3}, key {k0, k1} -> 4 words.  Each of
 * the 10 rounds multiplies words 0 and 2 by fixed constants, swaps and xors
 * the halves with the key; the key is bumped by the Weyl constants between
 * rounds.  Random123's KAT: counter 0 and key 0 give 6627e8d5 e169c58d
 * bc57ac4c 9b00dbd8. */
DROPOUT_MASK_V1_QUALIFIER dropout_mask_v1_words dropout_mask_v1_philox4x32_10(
    dropout_mask_v1_u32 c0, dropout_mask_v1_u32 c1, dropout_mask_v1_u32 c2,
    dropout_mask_v1_u32 c3, dropout_mask_v1_u32 k0, dropout_mask_v1_u32 k1)
{
    int r; /* not `round`: a built-in function of OpenCL C and CUDA */
    for (r = 0; r < DROPOUT_MASK_V1_PHILOX_ROUNDS; r++) {
        dropout_mask_v1_u32 hi0 = dropout_mask_v1_mulhi(DROPOUT_MASK_V1_PHILOX_M0, c0);
        dropout_mask_v1_u32 lo0 = DROPOUT_MASK_V1_PHILOX_M0 * c0;
        dropout_mask_v1_u32 hi1 = dropout_mask_v1_mulhi(DROPOUT_MASK_V1_PHILOX_M1, c2);
        dropout_mask_v1_u32 lo1 = DROPOUT_MASK_V1_PHILOX_M1 * c2;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += DROPOUT_MASK_V1_PHILOX_W0;
        k1 += DROPOUT_MASK_V1_PHILOX_W1;
    }
    {
        dropout_mask_v1_words out;
        out.w[0] = c0;
        out.w[1] = c1;
        out.w[2] = c2;
        out.w[3] = c3;
        return out;
    }
}

#if !defined(DROPOUT_MASK_V1_OPENCL)
/* T for a valid p (0 <= p <= 1), in IEEE double exactly as SPEC section 2
 * writes it.  (Not in OpenCL C, whose devices may lack double: compute T on
 * the host and pass it in.) */
DROPOUT_MASK_V1_QUALIFIER dropout_mask_v1_u64 dropout_mask_v1_threshold(double p)
{
    return (dropout_mask_v1_u64)((1.0 - p) * 4294967296.0 + 0.5);
}
#endif

/* The decision's inputs for (seed, stream) and a threshold T (0 ... 2^32). */
DROPOUT_MASK_V1_QUALIFIER dropout_mask_v1_stream dropout_mask_v1_stream_make(
    dropout_mask_v1_u64 seed, dropout_mask_v1_u64 stream, dropout_mask_v1_u64 threshold)
{
    dropout_mask_v1_stream ms;
    ms.key[0] = (dropout_mask_v1_u32)seed;
    ms.key[1] = (dropout_mask_v1_u32)(seed >> 32);
    ms.tie_key[0] = (dropout_mask_v1_u32)seed ^ DROPOUT_MASK_V1_TIE_KEY_XOR;
    ms.tie_key[1] = (dropout_mask_v1_u32)(seed >> 32);
    ms.stream_lo = (dropout_mask_v1_u32)stream;
    ms.stream_hi = (dropout_mask_v1_u32)(stream >> 32);
    ms.threshold = threshold;
    ms.t0 = (dropout_mask_v1_u32)(threshold >> 24);
    ms.tlow = (dropout_mask_v1_u32)(threshold & 0xFFFFFFu);
    return ms;
}

/* The 16 random bytes of block j (elements 16j ... 16j + 15) as 4 words:
 * philox(counter {lo(j), hi(j), lo(stream), hi(stream)}, key {lo, hi(seed)}). */
DROPOUT_MASK_V1_QUALIFIER dropout_mask_v1_words dropout_mask_v1_block(
    dropout_mask_v1_stream ms, dropout_mask_v1_u64 block_index)
{
    return dropout_mask_v1_philox4x32_10((dropout_mask_v1_u32)block_index,
                                         (dropout_mask_v1_u32)(block_index >> 32),
                                         ms.stream_lo, ms.stream_hi, ms.key[0], ms.key[1]);
}

/* Byte k (0 ... 15) of a block: the little-endian bytes of w[0], ..., w[3]. */
DROPOUT_MASK_V1_QUALIFIER dropout_mask_v1_u32 dropout_mask_v1_byte(dropout_mask_v1_words words,
                                                                   unsigned k)
{
    return (words.w[k / 4] >> (8 * (k % 4))) & 0xFFu;
}

/* The tie draw of element i (needed only when its byte equals t0): keep iff
 * (philox({lo(i), hi(i), lo(stream), hi(stream)}, tie_key)[0] & 0xFFFFFF) < tlow. */
DROPOUT_MASK_V1_QUALIFIER int dropout_mask_v1_tie_keep(dropout_mask_v1_stream ms,
                                                       dropout_mask_v1_u64 index)
{
    if (ms.tlow == 0)
        return 0;
    return (dropout_mask_v1_philox4x32_10((dropout_mask_v1_u32)index,
                                          (dropout_mask_v1_u32)(index >> 32), ms.stream_lo,
                                          ms.stream_hi, ms.tie_key[0], ms.tie_key[1])
                .w[0] &
            0xFFFFFFu) < ms.tlow;
}

/* Keep decision of element i whose random byte is r: r < t0 keeps, r > t0
 * drops, r == t0 asks the tie draw.  (Only for 0 < T < 2^32.) */
DROPOUT_MASK_V1_QUALIFIER int dropout_mask_v1_byte_keep(dropout_mask_v1_stream ms,
                                                        dropout_mask_v1_u32 r,
                                                        dropout_mask_v1_u64 index)
{
    if (r != ms.t0)
        return r < ms.t0;
    return dropout_mask_v1_tie_keep(ms, index);
}

/* Keep bits of the 16 elements of block j: bit k is the keep bit of element
 * 16j + k.  One Philox call, then the 16 byte compares as straight-line
 * code (compilers unroll and vectorize it), then a tie draw for each byte
 * equal to t0 (1 in 256). */
DROPOUT_MASK_V1_QUALIFIER dropout_mask_v1_u32 dropout_mask_v1_keep_bits16(
    dropout_mask_v1_stream ms, dropout_mask_v1_u64 block_index)
{
    dropout_mask_v1_words words;
    dropout_mask_v1_u32 bits = 0, ties = 0;
    unsigned k;
    if (ms.threshold >= DROPOUT_MASK_V1_THRESHOLD_ALL)
        return 0xFFFFu;
    if (ms.threshold == 0)
        return 0;
    words = dropout_mask_v1_block(ms, block_index);
    for (k = 0; k < DROPOUT_MASK_V1_BLOCK_ELEMENTS; k++) {
        dropout_mask_v1_u32 r = dropout_mask_v1_byte(words, k);
        bits |= (dropout_mask_v1_u32)(r < ms.t0) << k;
        ties |= (dropout_mask_v1_u32)(r == ms.t0) << k;
    }
    if (ties != 0) {
        for (k = 0; k < DROPOUT_MASK_V1_BLOCK_ELEMENTS; k++)
            if (((ties >> k) & 1u) &&
                dropout_mask_v1_tie_keep(ms, block_index * DROPOUT_MASK_V1_BLOCK_ELEMENTS + k))
                bits |= 1u << k;
    }
    return bits;
}

/* Keep decision of one element from scratch (one Philox call). */
DROPOUT_MASK_V1_QUALIFIER int dropout_mask_v1_keep(dropout_mask_v1_stream ms,
                                                   dropout_mask_v1_u64 index)
{
    if (ms.threshold >= DROPOUT_MASK_V1_THRESHOLD_ALL)
        return 1;
    if (ms.threshold == 0)
        return 0;
    return dropout_mask_v1_byte_keep(
        ms,
        dropout_mask_v1_byte(dropout_mask_v1_block(ms, index / DROPOUT_MASK_V1_BLOCK_ELEMENTS),
                             (unsigned)(index % DROPOUT_MASK_V1_BLOCK_ELEMENTS)),
        index);
}

#endif /* DROPOUT_MASK_V1_H */
