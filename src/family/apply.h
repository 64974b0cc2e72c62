/*
 * apply.h — the family's apply loops: packed keep bits in, elements out.
 *
 * The mask itself always comes from the kernel table's `mask` op (so every
 * dtype and shape shares f32's mask); these loops only turn bits into
 * elements.  apply_scalar.c is the reference; apply_avx2.c and
 * apply_avx512.c must give the same bits (tests/family/test_family_isa.c).
 *
 * Bit k % 8 of bits[k / 8] belongs to element k.  In-place (y == x) is allowed.
 */
#ifndef DROPOUT_FAMILY_APPLY_H
#define DROPOUT_FAMILY_APPLY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels/kernels.h" /* kernels_bits8_at, the streaming-store helpers */

typedef struct family_apply {
    const char *isa; /* "scalar", "avx2", "avx512" */

    /* y = keep ? round((float)x * s) : +0.0 (round: to bf16 / f16, once) */
    void (*scale_bf16)(size_t n, float s, const uint8_t *bits, const uint16_t *x,
                       uint16_t *y);
    void (*scale_f16)(size_t n, float s, const uint8_t *bits, const uint16_t *x,
                      uint16_t *y);

    /* y = residual + (keep ? (x + bias) * s : +0.0), in f32, one rounding per
     * operation, in this order; bias[k] belongs to element k.  stream != 0:
     * y is part of an output too big for the cache; tables that can write it
     * with streaming stores do (the same bits). */
    void (*bias_residual_f32)(size_t n, float s, const uint8_t *bits, const float *x,
                              const float *bias, const float *residual, float *y, int stream);

    /* Column sums (the bias gradient): for each column j < width, for
     * r = 0, 1, ..., rows - 1 in order, sum[j] += (double)x[r * stride + j].
     * The SIMD tables keep a block of columns in registers down the rows:
     * the same additions in the same order. */
    void (*add_rows_f32)(size_t width, size_t rows, size_t stride, const float *x, double *sum);
} family_apply;

/* The fused op's NaN (docs/SPEC.md section 7): any NaN it produces is the
 * canonical quiet NaN, whatever payloads its inputs carry.  Which payload an
 * IEEE add of two NaNs keeps depends on the operand order, which compilers
 * swap freely (x + bias is bias + x to them) and ISAs define differently. */
#define FAMILY_NAN_F32 0x7FC00000u
#define FAMILY_NAN_F64 0x7FF8000000000000ull

static inline float family_nan_canonical_f32(float v)
{
    const uint32_t bits = FAMILY_NAN_F32;
    float nan;
    memcpy(&nan, &bits, sizeof nan);
    return v != v ? nan : v;
}

static inline double family_nan_canonical_f64(double v)
{
    const uint64_t bits = FAMILY_NAN_F64;
    double nan;
    memcpy(&nan, &bits, sizeof nan);
    return v != v ? nan : v;
}

/* Element k of bias_residual_f32 (bias[k] belongs to it; arrays at any
 * address): the reference, and the SIMD tables' heads and tails. */
static inline void family_bias_residual_one(const uint8_t *bits, size_t k, float s,
                                            const float *x, const float *bias,
                                            const float *residual, float *y)
{
    float t = kernels_load_f32(x, k) + kernels_load_f32(bias, k);
    float u = (bits[k / 8] >> (k % 8)) & 1u ? t * s : 0.0f;
    kernels_store_f32(y, k, family_nan_canonical_f32(kernels_load_f32(residual, k) + u));
}

/* The scalar column sums of add_rows_f32, for columns [j, width): the
 * reference, and the SIMD tables' last columns. */
static inline void family_column_sums(size_t j, size_t width, size_t rows, size_t stride,
                                      const float *x, double *sum)
{
    for (; j < width; j++) {
        double total = sum[j];
        for (size_t r = 0; r < rows; r++)
            total += (double)kernels_load_f32(x, r * stride + j);
        sum[j] = total;
    }
}

extern const family_apply family_apply_scalar;
extern const family_apply family_apply_avx2;   /* x86-64 builds only */
extern const family_apply family_apply_avx512; /* x86-64 builds only */

/* The table that matches dropout_isa() and this CPU (cheap; call per op). */
const family_apply *family_apply_active(void);

/* Every table this build has that this CPU can run, for the tests;
 * returns how many were written (at most `capacity`). */
size_t family_apply_available(const family_apply **tables, size_t capacity);

#endif /* DROPOUT_FAMILY_APPLY_H */
