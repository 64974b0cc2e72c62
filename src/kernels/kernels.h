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

#include "dropout.h" /* DROPOUT_DTYPE_* */
#include "../bits.h"
#include "../half.h"
#include "../mask.h"

/* KERNELS_INLINE: the hot helpers are forced inline, so each operation's
 * tile loop is one function with its constants folded.  Sanitizer and fuzz
 * builds define DROPOUT_KERNELS_NO_FORCED_INLINE (CMakeLists.txt) and leave
 * inlining to the compiler: the same source under the same checks, compiled
 * in seconds instead of minutes (gcc 12 -O2 -g ASan+UBSan, avx512.c: 80 s
 * forced, 2 s not). */
#ifdef DROPOUT_KERNELS_NO_FORCED_INLINE
#define KERNELS_INLINE static inline
#else
#define KERNELS_INLINE static inline __attribute__((always_inline))
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

/* Streaming stores need an element-aligned output (a float * from C always
 * is; a NumPy array need not be): otherwise the kernels use plain stores. */
static inline int kernels_nontemporal_ok(const void *y, size_t elem_size)
{
    return ((uintptr_t)y & (elem_size - 1)) == 0;
}

/* How many elements precede the first `align`-byte boundary at or after y
 * (y element-aligned): those are written one by one. */
static inline size_t kernels_nontemporal_head(const void *y, size_t align, size_t elem_size)
{
    return ((align - ((uintptr_t)y & (align - 1))) & (align - 1)) / elem_size;
}

/* How far ahead of its loads a streaming bf16/f16 apply-from-bits loop
 * (avx512.c) prefetches x: their conversions take long enough per cache
 * line that the hardware prefetchers alone fall behind (Zen 4, backward_mask
 * at 2^25, one thread: 1.21-1.29x the roofline before, 1.04-1.08x with
 * streaming stores and this).  Measured without gain and not used: the
 * same in the fused forward, and for f32/f64; on AVX2 (its bf16 rounding
 * is twice the work) prefetch and streaming stores made the same loops
 * slower.  See docs/performance.md. */
#define KERNELS_PREFETCH_BYTES 1024

/* The fused op's NaN (docs/SPEC.md section 7): any NaN it produces is the
 * canonical quiet NaN, whatever payloads its inputs carry.  Which payload an
 * IEEE add of two NaNs keeps depends on the operand order, which compilers
 * swap freely (x + bias is bias + x to them) and ISAs define differently. */
#define KERNELS_NAN_F32 0x7FC00000u
#define KERNELS_NAN_F64 0x7FF8000000000000ull

static inline float kernels_nan_canonical_f32(float v)
{
    const uint32_t bits = KERNELS_NAN_F32;
    float nan;
    memcpy(&nan, &bits, sizeof nan);
    return v != v ? nan : v;
}

static inline double kernels_nan_canonical_f64(double v)
{
    const uint64_t bits = KERNELS_NAN_F64;
    double nan;
    memcpy(&nan, &bits, sizeof nan);
    return v != v ? nan : v;
}

/* Element k of the f32 bias_residual (bias[k] belongs to it; arrays at any
 * address): the reference, and the SIMD tables' heads and tails. */
static inline void kernels_bias_residual_one_f32(const uint8_t *bits, size_t k, float s,
                                                 const float *x, const float *bias,
                                                 const float *residual, float *y)
{
    float t = kernels_load_f32(x, k) + kernels_load_f32(bias, k);
    float u = bits_at(bits, k) ? t * s : 0.0f;
    kernels_store_f32(y, k, kernels_nan_canonical_f32(kernels_load_f32(residual, k) + u));
}

/* The f32 column sums for columns [j, width): the reference, and the SIMD
 * tables' last columns. */
static inline void kernels_column_sums_f32(size_t j, size_t width, size_t rows, size_t stride,
                                           const float *x, double *sum)
{
    for (; j < width; j++) {
        double total = sum[j];
        for (size_t r = 0; r < rows; r++)
            total += (double)kernels_load_f32(x, r * stride + j);
        sum[j] = total;
    }
}

/* The constants of one operation, rounded once from double to each element
 * type (pipeline.c computes them; see variants.c for alpha and gaussian):
 *   scale: y = keep ? x * s : +0.0          (standard dropout; alpha backward)
 *   affine: y = keep ? x * s + shift : dropped        (alpha dropout forward)
 * f64 uses the doubles, f32 the floats, bf16/f16 compute in f32 and round
 * once at the end (half.h); `dropped16` is `dropped` as the op's bf16/f16. */
typedef struct kernel_consts {
    double s, shift, dropped;
    float s32, shift32, dropped32;
    uint16_t dropped16;
} kernel_consts;

/* The constants of an op in `dtype` from their doubles. */
static inline kernel_consts kernels_consts(int dtype, double s, double shift, double dropped)
{
    kernel_consts c;
    c.s = s;
    c.shift = shift;
    c.dropped = dropped;
    c.s32 = (float)s;
    c.shift32 = (float)shift;
    c.dropped32 = (float)dropped;
    c.dropped16 = dtype == DROPOUT_DTYPE_BF16  ? half_bf16_from_f32(c.dropped32)
                  : dtype == DROPOUT_DTYPE_F16 ? half_f16_from_f32(c.dropped32)
                                               : 0;
    return c;
}

/* Slots indexed by dtype take the element type's DROPOUT_DTYPE_* value. */
#define KERNEL_DTYPES 4

/* The table of one ISA.  scalar.c fills every slot; an ISA file sets the
 * slots it speeds up and leaves the rest NULL, and dispatch.c fills those
 * from scalar once (kernels_complete), so no caller ever tests a slot.
 * `bits` are packed keep bits, bit k % 8 of bits[k / 8] for element k (of
 * the call: x, y, bias, residual point at element 0).  `nontemporal`: y is
 * part of an output too big for the cache (pipeline.c decides, once per
 * call), so ISAs that have streaming stores use them; the bits written are
 * the same either way. */
typedef struct dropout_kernels {
    const char *isa; /* "scalar", "avx2", "avx512", "neon" */

    /* mask[0 ... ceil(n/8) - 1] = the packed keep bits of elements
     * first ... first + n - 1 */
    void (*mask)(const mask_stream *ms, uint64_t first, size_t n, uint8_t *mask);

    /* The fused forward: y = keep ? x * s : +0.0 (bf16/f16: rounded once),
     * and the packed mask when mask != NULL.  Backward regenerating the mask
     * is this same kernel on (dy, dx). */
    void (*forward[KERNEL_DTYPES])(const mask_stream *ms, uint64_t first, size_t n,
                                   const kernel_consts *c, const void *x, void *y,
                                   uint8_t *mask, int nontemporal);

    /* From bits: y = bit ? x * s : +0.0 (backward from a packed mask, and
     * every broadcast mask once widened to one bit per element). */
    void (*apply[KERNEL_DTYPES])(size_t n, const kernel_consts *c, const uint8_t *bits,
                                 const void *x, void *y, int nontemporal);

    /* From bits: y = bit ? x * s + shift : dropped (alpha dropout). */
    void (*affine[KERNEL_DTYPES])(size_t n, const kernel_consts *c, const uint8_t *bits,
                                  const void *x, void *y);

    /* y = x * noise[k] (gaussian dropout; f32/bf16/f16 multiply by the
     * noise rounded to f32). */
    void (*noise[KERNEL_DTYPES])(size_t n, const double *noise, const void *x, void *y);

    /* The fused y = residual + (bit ? (x + bias) * s : +0.0), each step
     * rounded to the dtype as the three separate operations would, any NaN
     * the canonical quiet NaN (SPEC section 7); bias[k] belongs to element k. */
    void (*bias_residual[KERNEL_DTYPES])(size_t n, const kernel_consts *c, const uint8_t *bits,
                                         const void *x, const void *bias,
                                         const void *residual, void *y, int nontemporal);

    /* Column sums (the bias gradient): for each column j < width, for
     * r = 0, 1, ..., rows - 1 in order, sum[j] += (double)x[r * stride + j].
     * SIMD tables keep a block of columns in registers down the rows: the
     * same additions in the same order. */
    void (*column_sums[KERNEL_DTYPES])(size_t width, size_t rows, size_t stride, const void *x,
                                       double *sum);
} dropout_kernels;

/* A forward slot of one element type that calls the ISA's dtype-generic
 * forward impl(kind, elem_size, ms, first, n, c, x, y, mask, nontemporal),
 * kind naming the type in impl's own terms (tile_loop.h, neon.c); impl is
 * KERNELS_INLINE, so each slot is a loop of its own with the type folded. */
#define KERNELS_FORWARD_SLOT(name, impl, kind, elem_size)                                     \
    static void name(const mask_stream *ms, uint64_t first, size_t n, const kernel_consts *c, \
                     const void *x, void *y, uint8_t *mask, int nontemporal)                  \
    {                                                                                         \
        impl(kind, elem_size, ms, first, n, c, x, y, mask, nontemporal);                      \
    }

/* Every slot, for kernels_complete and the tests: X(name) for the single
 * slots, D(name) for the slots indexed by dtype. */
#define KERNELS_SLOTS(X, D) \
    X(mask) D(forward) D(apply) D(affine) D(noise) D(bias_residual) D(column_sums)

/* Fills every NULL slot of t from ref (the scalar table). */
static inline void kernels_complete(dropout_kernels *t, const dropout_kernels *ref)
{
#define KERNELS_FILL_ONE(name) \
    if (t->name == NULL)       \
        t->name = ref->name;
#define KERNELS_FILL_DTYPES(name)                   \
    for (int d = 0; d < KERNEL_DTYPES; d++)         \
        if (t->name[d] == NULL)                     \
            t->name[d] = ref->name[d];
    KERNELS_SLOTS(KERNELS_FILL_ONE, KERNELS_FILL_DTYPES)
#undef KERNELS_FILL_ONE
#undef KERNELS_FILL_DTYPES
}

/* Each ISA file's own table: the slots it sets, the rest NULL.  Callers use
 * dropout_kernels_find / dropout_kernels_active, which return complete ones. */
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
extern const dropout_kernels dropout_kernels_avx512_bf16; /* + DQ + BF16 (avx512_bf16.c) */
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
