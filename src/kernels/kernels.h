/*
 * kernels.h — the table of operations every ISA variant provides.
 *
 * The scalar table (scalar.c) is the reference: docs/SPEC.md in C.  Every
 * other table (avx2.c, avx512.c, neon.c) must give the same bits, and the
 * tests check that they do.  Kernels trust their arguments: the API has
 * validated them.  They require 0 < T < 2^32 (t0 in 0 ... 255); the API
 * handles p == 0, p == 1 and the thresholds that keep or drop everything.
 *
 * Every kernel works on elements first ... first + n - 1 of the mask index
 * space; packed mask bit k (bit k % 8 of byte k / 8) belongs to element
 * first + k.  The last byte written has its unused high bits zero.
 * In-place (y == x) is allowed.
 */
#ifndef DROPOUT_KERNELS_H
#define DROPOUT_KERNELS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../mask.h"

/* Callers (ops.c, the family) pass stream = 1 from STREAM_MIN_BYTES of
 * output on: y is then written with streaming (non-temporal) stores, as
 * memcpy does for large copies: an output this big does not stay in the
 * cache anyway, and skipping the read-for-ownership of y saves a third of
 * the memory traffic. */
#ifndef STREAM_MIN_BYTES /* (overridable for experiments) */
#define STREAM_MIN_BYTES ((size_t)16 << 20)
#endif

/* Element k of an array at any address: NumPy passes views whose elements
 * are not aligned to their size, and dereferencing such a float * is
 * undefined behaviour (UBSan aborts on it), so scalar code loads and stores
 * elements through memcpy, which compiles to the same plain load or store. */
static inline float kernels_load_f32(const float *p, size_t k)
{
    float v;
    memcpy(&v, (const char *)p + k * sizeof v, sizeof v);
    return v;
}
static inline void kernels_store_f32(float *p, size_t k, float v)
{
    memcpy((char *)p + k * sizeof v, &v, sizeof v);
}
static inline double kernels_load_f64(const double *p, size_t k)
{
    double v;
    memcpy(&v, (const char *)p + k * sizeof v, sizeof v);
    return v;
}
static inline void kernels_store_f64(double *p, size_t k, double v)
{
    memcpy((char *)p + k * sizeof v, &v, sizeof v);
}
static inline uint16_t kernels_load_u16(const uint16_t *p, size_t k)
{
    uint16_t v;
    memcpy(&v, (const char *)p + k * sizeof v, sizeof v);
    return v;
}
static inline void kernels_store_u16(uint16_t *p, size_t k, uint16_t v)
{
    memcpy((char *)p + k * sizeof v, &v, sizeof v);
}

/* Bits k ... k + 7 of packed bits (bit i of the result: element k + i),
 * for any k whose element k + 7 exists: a streaming head can leave k off a
 * multiple of 8, and both bytes then exist. */
static inline unsigned kernels_bits8_at(const uint8_t *bits, size_t k)
{
    const unsigned b = (unsigned)(k % 8);
    if (b == 0)
        return bits[k / 8];
    return ((unsigned)bits[k / 8] >> b | (unsigned)bits[k / 8 + 1] << (8 - b)) & 0xFFu;
}

/* Streaming stores need an element-aligned output (a float * from C always
 * is; a NumPy array need not be): otherwise the kernels use plain stores. */
static inline int kernels_stream_ok(const void *y, size_t elem_size)
{
    return ((uintptr_t)y & (elem_size - 1)) == 0;
}

/* How many elements precede the first `align`-byte boundary at or after y
 * (y element-aligned): those are written one by one. */
static inline size_t kernels_stream_head(const void *y, size_t align, size_t elem_size)
{
    return ((align - ((uintptr_t)y & (align - 1))) & (align - 1)) / elem_size;
}

typedef struct dropout_kernels {
    const char *isa; /* "scalar", "avx2", "avx512", "neon" */

    /* mask[0 ... ceil(n/8) - 1] = packed keep bits */
    void (*mask)(const mask_stream *ms, uint64_t first, size_t n, uint8_t *mask);

    /* y = keep ? x * s : +0.0, and the packed mask when mask != NULL.
     * Backward regenerating the mask is this same kernel on (dy, dx).
     * stream != 0: y is part of an output too big for the cache, so ISAs
     * that have streaming stores use them; the bits written are the same
     * either way. */
    void (*forward_f32)(const mask_stream *ms, uint64_t first, size_t n, float s,
                        const float *x, float *y, uint8_t *mask, int stream);
    void (*forward_f64)(const mask_stream *ms, uint64_t first, size_t n, double s,
                        const double *x, double *y, uint8_t *mask, int stream);

    /* dx = bit k of mask ? dy * s : +0.0 (backward from a packed mask).
     * stream != 0: dx is part of an output too big for the cache (at least
     * STREAM_MIN_BYTES in all), so ISAs that have streaming stores use them;
     * the bits written are the same either way. */
    void (*apply_mask_f32)(size_t n, float s, const uint8_t *mask,
                           const float *dy, float *dx, int stream);
    void (*apply_mask_f64)(size_t n, double s, const uint8_t *mask,
                           const double *dy, double *dx, int stream);

    /* bf16 (bf16 != 0) or f16: y = keep ? round((float)x * s) : +0.0,
     * rounded once to nearest-even as family/half.h does, and the packed
     * mask when mask != NULL: the family's elementwise half-precision
     * dropout in one pass.  NULL in tables without it: the family then
     * builds the keep bits with `mask` and applies them (family/apply.h). */
    void (*forward_half)(const mask_stream *ms, uint64_t first, size_t n, float s, int bf16,
                         const uint16_t *x, uint16_t *y, uint8_t *mask, int stream);
} dropout_kernels;

extern const dropout_kernels dropout_kernels_scalar;
/* Built where the target has them; kernels.cmake adds the files on the
 * same conditions (x86-64 or AArch64, with GCC or Clang). */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define DROPOUT_KERNELS_X86 1
#endif
#if defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
#define DROPOUT_KERNELS_NEON 1
#endif
#ifdef DROPOUT_KERNELS_X86
extern const dropout_kernels dropout_kernels_avx2;
extern const dropout_kernels dropout_kernels_avx512; /* F + BW + VL */
#endif
#ifdef DROPOUT_KERNELS_NEON
extern const dropout_kernels dropout_kernels_neon;
#endif

/* The table in use (dispatch.c): chosen once, thread-safely. */
const dropout_kernels *dropout_kernels_active(void);

/* The table of an ISA by name if it is built and this CPU and OS run it,
 * else NULL (dispatch.c; for dispatch and the tests). */
const dropout_kernels *dropout_kernels_find(const char *isa);

#endif /* DROPOUT_KERNELS_H */
