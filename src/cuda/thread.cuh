/*
 * thread.cuh — what one CUDA thread does: the body of every kernel of the
 * CUDA backend, as __host__ __device__ functions.
 *
 * The kernels in dropout_cuda.cu are one line each around cuda_thread();
 * tests/cuda/test_cuda_emulate.cu runs the same cuda_thread() on the CPU for
 * every (block, thread) of a launch and compares the output with libdropout.
 *
 * The work is cut into units of 16 consecutive elements of the mask index
 * space, aligned to mask stream v1's blocks (SPEC section 2: one Philox call
 * gives the bytes of elements 16j ... 16j + 15), so a unit costs one Philox
 * call.  Unit u covers "window" positions 16u ... 16u + 15; window position w
 * is element k = w - head of the call, where head = first % 16 (mask index
 * first + k = 16 * first_block + w).  The first and last unit may be partial.
 * Backward from a packed mask draws nothing, and its units are the call's own
 * elements (head = 0).
 *
 * A thread takes units thread, thread + threads, ... (grid-stride), so any
 * grid, block size, GPU model or alignment gives the same bits: an element's
 * result depends on its mask index only.
 */
#ifndef DROPOUT_CUDA_THREAD_CUH
#define DROPOUT_CUDA_THREAD_CUH

#include <stdint.h>
#include <string.h>

#include "dropout.h"
#include "dropout_mask_v1.h"
#include "half.h" /* the CPU's bf16/f16 conversions, __host__ __device__ */

#if defined(__CUDACC__)
#define CUDA_FN static __host__ __device__ __forceinline__
#else
#define CUDA_FN static inline
#endif
/* Unrolled on the device: a unit's words stay in registers (a run-time index
 * would put them in local memory). */
#if defined(__CUDA_ARCH__)
#define CUDA_UNROLL _Pragma("unroll")
#else
#define CUDA_UNROLL
#endif

/* Where a kernel's keep bits come from. */
enum { CUDA_BITS_REGEN = 0, /* mask stream v1 (forward, regenerating backward, export) */
       CUDA_BITS_MASK = 1 /* the caller's packed mask (backward from a mask)         */ };
/* The element "dtype" of the mask export: bits only. */
#define CUDA_NO_ELEMENTS (-1)

/* One kernel launch's arguments: plain data, passed by value. */
typedef struct cuda_op {
    dropout_mask_v1_stream ms;   /* REGEN: the decision's inputs                     */
    const uint64_t *seed_stream; /* REGEN, graph variant: {seed, stream} on the
                                  * device (ms.threshold still gives T)             */
    uint64_t first_block;        /* REGEN: first / 16                               */
    uint64_t n;                  /* elements of the call                            */
    uint64_t units;              /* ceil((head + n) / 16)                           */
    unsigned head;               /* REGEN: first % 16; MASK: 0                      */
    unsigned last;               /* window positions used in the last unit, 1 ... 16 */
    int identity;                /* kept elements are copied, not scaled (p == 0)   */
    float s32;                   /* s rounded to f32 (f32, bf16, f16)               */
    double s64;                  /* s (f64)                                         */
    const void *x;               /* x or dy; NULL for the mask export               */
    void *y;                     /* y or dx                                         */
    uint8_t *mask_out;           /* REGEN: the packed mask, or NULL                 */
    const uint8_t *mask_in;      /* MASK: the caller's packed mask                  */
} cuda_op;

/* ---- bits and multiplies -------------------------------------------------- */

CUDA_FN uint64_t cuda_bits_f64(double value)
{
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    return bits;
}

CUDA_FN double cuda_f64_bits(uint64_t bits)
{
    double value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

/* x * s, one rounding, never fused.  A NaN x gives x quieted, as x86 and Arm
 * (and so the CPU library) do; a GPU's multiply would give its canonical NaN.
 * s is never NaN (valid p). */
CUDA_FN float cuda_mul_f32(float x, float s)
{
    uint32_t bits = half_bits_f32(x);
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u)
        return half_f32_bits(bits | 0x00400000u);
#if defined(__CUDA_ARCH__)
    return __fmul_rn(x, s);
#else
    return x * s;
#endif
}

CUDA_FN double cuda_mul_f64(double x, double s)
{
    uint64_t bits = cuda_bits_f64(x);
    if ((bits & 0x7FFFFFFFFFFFFFFFull) > 0x7FF0000000000000ull)
        return cuda_f64_bits(bits | 0x0008000000000000ull);
#if defined(__CUDA_ARCH__)
    return __dmul_rn(x, s);
#else
    return x * s;
#endif
}

/* ---- one element, as raw bits --------------------------------------------- */

/* Bytes per element of a kernel's dtype. */
template <int D> struct cuda_elem {
    static constexpr unsigned size = D == DROPOUT_DTYPE_F64 ? 8 : D == DROPOUT_DTYPE_F32 ? 4 : 2;
};

/* SPEC section 1: keep ? x * s : +0.0 (bf16/f16: (float)x * s_f32 rounded to
 * nearest-even once); p == 0 copies x bitwise. */
template <int D> CUDA_FN uint64_t cuda_dropout_one(const cuda_op &op, uint64_t x, uint32_t keep)
{
    if (!keep)
        return 0;
    if (op.identity)
        return x;
    switch (D) {
    case DROPOUT_DTYPE_F32:
        return half_bits_f32(cuda_mul_f32(half_f32_bits((uint32_t)x), op.s32));
    case DROPOUT_DTYPE_F64:
        return cuda_bits_f64(cuda_mul_f64(cuda_f64_bits(x), op.s64));
    case DROPOUT_DTYPE_BF16:
        return half_bf16_from_f32(cuda_mul_f32(half_f32_from_bf16((uint16_t)x), op.s32));
    default:
        return half_f16_from_f32(cuda_mul_f32(half_f32_from_f16((uint16_t)x), op.s32));
    }
}

template <int D> CUDA_FN uint64_t cuda_load_one(const void *p, uint64_t k)
{
    switch (cuda_elem<D>::size) {
    case 8: return ((const uint64_t *)p)[k];
    case 4: return ((const uint32_t *)p)[k];
    default: return ((const uint16_t *)p)[k];
    }
}

template <int D> CUDA_FN void cuda_store_one(void *p, uint64_t k, uint64_t v)
{
    switch (cuda_elem<D>::size) {
    case 8: ((uint64_t *)p)[k] = v; break;
    case 4: ((uint32_t *)p)[k] = (uint32_t)v; break;
    default: ((uint16_t *)p)[k] = (uint16_t)v; break;
    }
}

/* ---- a whole unit in registers: 16 elements as 32-bit words ---------------- */

/* 16 bytes at p (16-byte aligned) into w[0..3], and back. */
CUDA_FN void cuda_load16(const void *p, uint32_t *w)
{
#if defined(__CUDA_ARCH__)
    const uint4 v = *(const uint4 *)p;
    w[0] = v.x, w[1] = v.y, w[2] = v.z, w[3] = v.w;
#else
    memcpy(w, p, 16);
#endif
}

CUDA_FN void cuda_store16(void *p, const uint32_t *w)
{
#if defined(__CUDA_ARCH__)
    *(uint4 *)p = make_uint4(w[0], w[1], w[2], w[3]);
#else
    memcpy(p, w, 16);
#endif
}

/* Element b of a unit held as words (little-endian, as in memory). */
template <int D> CUDA_FN uint64_t cuda_word_get(const uint32_t *w, unsigned b)
{
    switch (cuda_elem<D>::size) {
    case 8: return (uint64_t)w[2 * b] | (uint64_t)w[2 * b + 1] << 32;
    case 4: return w[b];
    default: return (w[b / 2] >> (16 * (b % 2))) & 0xFFFFu;
    }
}

template <int D> CUDA_FN void cuda_word_put(uint32_t *w, unsigned b, uint64_t v)
{
    switch (cuda_elem<D>::size) {
    case 8: w[2 * b] = (uint32_t)v, w[2 * b + 1] = (uint32_t)(v >> 32); break;
    case 4: w[b] = (uint32_t)v; break;
    default: {
        const unsigned shift = 16 * (b % 2);
        w[b / 2] = (w[b / 2] & ~(0xFFFFu << shift)) | (uint32_t)v << shift;
        break;
    }
    }
}

CUDA_FN int cuda_aligned16(const void *p)
{
    return ((uintptr_t)p & 15u) == 0;
}

/* ---- keep bits ------------------------------------------------------------ */

/* Index of the lowest set bit of v (v != 0). */
CUDA_FN unsigned cuda_lowest_bit(uint32_t v)
{
#if defined(__CUDA_ARCH__)
    return (unsigned)__ffs((int)v) - 1;
#else
    return (unsigned)__builtin_ctz(v);
#endif
}

/* Keep bits of block j (bit b: mask index 16j + b): the header's
 * keep_bits16, in two passes so that the block's words stay in registers
 * and the rare tie draw (a byte equal to t0, SPEC section 2) is one call in
 * a loop rather than sixteen inlined copies: first r < t0 for every byte
 * (dropout_mask_v1_byte_keep's common case), then
 * dropout_mask_v1_tie_keep for each byte equal to t0. */
CUDA_FN uint32_t cuda_keep_bits16(const dropout_mask_v1_stream &ms, uint64_t block_index)
{
    if (ms.threshold >= DROPOUT_MASK_V1_THRESHOLD_ALL)
        return 0xFFFFu;
    if (ms.threshold == 0)
        return 0;
    const dropout_mask_v1_words words = dropout_mask_v1_block(ms, block_index);
    uint32_t bits = 0, ties = 0;
    CUDA_UNROLL
    for (unsigned b = 0; b < DROPOUT_MASK_V1_BLOCK_ELEMENTS; b++) {
        const uint32_t r = dropout_mask_v1_byte(words, b);
        bits |= (uint32_t)(r < ms.t0) << b;
        ties |= (uint32_t)(r == ms.t0) << b;
    }
    while (ties != 0) {
        const unsigned b = cuda_lowest_bit(ties);
        ties &= ties - 1;
        bits |= (uint32_t)dropout_mask_v1_tie_keep(ms, block_index * 16 + b) << b;
    }
    return bits;
}

/* Packed-mask bits of the call's elements 16u ... 16u + 15 (head is 0);
 * reads no byte past ceil(n / 8). */
CUDA_FN uint32_t cuda_mask_bits16(const cuda_op &op, uint64_t u)
{
    uint32_t bits = op.mask_in[2 * u];
    if (16 * u + 8 < op.n)
        bits |= (uint32_t)op.mask_in[2 * u + 1] << 8;
    return bits;
}

/* ---- the unit ------------------------------------------------------------- */

/* Elements of unit u whose keep bits (bit b: window position 16u + b) are
 * `bits`: y = dropout(x) for window positions [b_lo, b_hi). */
template <int D>
CUDA_FN void cuda_unit_elements(const cuda_op &op, uint64_t u, uint32_t bits, unsigned b_lo,
                                unsigned b_hi)
{
    constexpr unsigned size = cuda_elem<D>::size, words = 16 * size / 4;
    const uint64_t k0 = 16 * u - op.head; /* element of window position 16u (when b_lo == 0) */
    if (b_lo == 0 && b_hi == 16) {
        const char *x = (const char *)op.x + k0 * size;
        char *y = (char *)op.y + k0 * size;
        uint32_t w[words] = {0};
        if (cuda_aligned16(x)) {
CUDA_UNROLL
            for (unsigned q = 0; q < words / 4; q++)
                cuda_load16(x + 16 * q, w + 4 * q);
        } else {
CUDA_UNROLL
            for (unsigned b = 0; b < 16; b++)
                cuda_word_put<D>(w, b, cuda_load_one<D>(x, b));
        }
CUDA_UNROLL
        for (unsigned b = 0; b < 16; b++)
            cuda_word_put<D>(w, b, cuda_dropout_one<D>(op, cuda_word_get<D>(w, b), (bits >> b) & 1u));
        if (cuda_aligned16(y)) {
CUDA_UNROLL
            for (unsigned q = 0; q < words / 4; q++)
                cuda_store16(y + 16 * q, w + 4 * q);
        } else {
CUDA_UNROLL
            for (unsigned b = 0; b < 16; b++)
                cuda_store_one<D>(y, b, cuda_word_get<D>(w, b));
        }
        return;
    }
    for (unsigned b = b_lo; b < b_hi; b++) { /* the head or tail of the call */
        const uint64_t k = k0 + b;
        cuda_store_one<D>(op.y, k, cuda_dropout_one<D>(op, cuda_load_one<D>(op.x, k), (bits >> b) & 1u));
    }
}

/* The packed-mask bytes that begin in unit u: byte m holds elements
 * 8m ... 8m + 7, written by the unit of element 8m.  When head % 8 != 0 a
 * byte straddles two blocks, and the next block's bits are drawn too. */
CUDA_FN void cuda_unit_mask(const cuda_op &op, const dropout_mask_v1_stream &ms, uint64_t u,
                            uint32_t bits)
{
    const uint64_t w0 = 16 * u; /* window position of the unit's first bit */
    uint64_t k = w0 < op.head ? 0 : (w0 - op.head + 7) / 8 * 8;
    if ((op.head & 7u) && u + 1 < op.units)
        bits |= cuda_keep_bits16(ms, op.first_block + u + 1) << 16;
    for (; k + op.head < w0 + 16 && k < op.n; k += 8) {
        const unsigned shift = (unsigned)(k + op.head - w0); /* 0 ... 15 */
        uint32_t byte = (bits >> shift) & 0xFFu;
        if (op.n - k < 8)
            byte &= (1u << (op.n - k)) - 1u; /* unused high bits of the last byte: 0 */
        op.mask_out[k / 8] = (uint8_t)byte;
    }
}

/* One unit: its keep bits, then its elements and its mask bytes. */
template <int D, int SOURCE>
CUDA_FN void cuda_unit(const cuda_op &op, const dropout_mask_v1_stream &ms, uint64_t u)
{
    const unsigned b_lo = u == 0 ? op.head : 0;
    const unsigned b_hi = u + 1 == op.units ? op.last : 16;
    const uint32_t bits = SOURCE == CUDA_BITS_MASK ? cuda_mask_bits16(op, u)
                                                   : cuda_keep_bits16(ms, op.first_block + u);
    if constexpr (D != CUDA_NO_ELEMENTS)
        cuda_unit_elements<D>(op, u, bits, b_lo, b_hi);
    if (SOURCE == CUDA_BITS_REGEN && op.mask_out != NULL)
        cuda_unit_mask(op, ms, u, bits);
}

/* The whole per-thread body of a kernel: thread `thread` of `threads`. */
template <int D, int SOURCE>
CUDA_FN void cuda_thread(const cuda_op &op, uint64_t thread, uint64_t threads)
{
    dropout_mask_v1_stream ms = op.ms;
    if (SOURCE == CUDA_BITS_REGEN && op.seed_stream != NULL)
        ms = dropout_mask_v1_stream_make(op.seed_stream[0], op.seed_stream[1], op.ms.threshold);
    for (uint64_t u = thread; u < op.units; u += threads)
        cuda_unit<D, SOURCE>(op, ms, u);
}

#endif /* DROPOUT_CUDA_THREAD_CUH */
