/*
 * scalar.c — the reference table: docs/SPEC.md sections 1-3 and 7 and
 * docs/family.md's formulas, one element at a time, for every slot of
 * kernels.h.  Every other table gives the same bits (tests/simd).
 *
 * One generic loop per slot, instantiated per dtype: f64 computes in
 * double; f32, bf16 and f16 compute in f32, bf16/f16 loaded exactly and
 * rounded once per step to nearest-even (half.h).  No FMA (the build
 * forbids contraction).  Elements are loaded and stored through memcpy
 * (kernels_load_*), so any alignment works.
 */
#include "kernels.h"

/* ---- elements as f32 (f32, bf16, f16) --------------------------------------- */

KERNELS_INLINE float load_float(int dtype, const void *p, size_t k)
{
    switch (dtype) {
    case DROPOUT_DTYPE_F32: return kernels_load_f32(p, k);
    case DROPOUT_DTYPE_BF16: return half_f32_from_bf16(kernels_load_u16(p, k));
    default: return half_f32_from_f16(kernels_load_u16(p, k));
    }
}

/* v rounded once to the dtype and stored. */
KERNELS_INLINE void store_float(int dtype, void *p, size_t k, float v)
{
    switch (dtype) {
    case DROPOUT_DTYPE_F32: kernels_store_f32(p, k, v); break;
    case DROPOUT_DTYPE_BF16: kernels_store_u16(p, k, half_bf16_from_f32(v)); break;
    default: kernels_store_u16(p, k, half_f16_from_f32(v)); break;
    }
}

/* v rounded to the dtype, back in f32 (the identity for f32). */
KERNELS_INLINE float round_float(int dtype, float v)
{
    switch (dtype) {
    case DROPOUT_DTYPE_F32: return v;
    case DROPOUT_DTYPE_BF16: return half_f32_from_bf16(half_bf16_from_f32(v));
    default: return half_f32_from_f16(half_f16_from_f32(v));
    }
}

/* ---- the slots, generic over the dtype -------------------------------------- */

/* A kept element is one multiply by s (never FMA, never divide); a dropped
 * one is +0.0 whatever x is (a select, not a multiply by zero). */
KERNELS_INLINE void apply_any(int dtype, size_t n, const kernel_consts *c, const uint8_t *bits,
                              const void *x, void *y)
{
    for (size_t k = 0; k < n; k++) {
        if (dtype == DROPOUT_DTYPE_F64)
            kernels_store_f64(y, k, bits_at(bits, k) ? kernels_load_f64(x, k) * c->s : 0.0);
        else
            store_float(dtype, y, k, bits_at(bits, k) ? load_float(dtype, x, k) * c->s32 : 0.0f);
    }
}

KERNELS_INLINE void affine_any(int dtype, size_t n, const kernel_consts *c, const uint8_t *bits,
                               const void *x, void *y)
{
    for (size_t k = 0; k < n; k++) {
        if (dtype == DROPOUT_DTYPE_F64)
            kernels_store_f64(y, k, bits_at(bits, k) ? kernels_load_f64(x, k) * c->s + c->shift
                                                     : c->dropped);
        else
            store_float(dtype, y, k,
                        bits_at(bits, k) ? load_float(dtype, x, k) * c->s32 + c->shift32
                                         : c->dropped32);
    }
}

KERNELS_INLINE void noise_any(int dtype, size_t n, const double *noise, const void *x, void *y)
{
    for (size_t k = 0; k < n; k++) {
        if (dtype == DROPOUT_DTYPE_F64)
            kernels_store_f64(y, k, kernels_load_f64(x, k) * noise[k]);
        else
            store_float(dtype, y, k, load_float(dtype, x, k) * (float)noise[k]);
    }
}

/* t = x + bias; u = keep ? t * s : +0.0; y = residual + u, each rounded to
 * the dtype as the separate operations would, a NaN y the canonical one. */
KERNELS_INLINE void bias_residual_any(int dtype, size_t n, const kernel_consts *c,
                                      const uint8_t *bits, const void *x, const void *bias,
                                      const void *residual, void *y)
{
    for (size_t k = 0; k < n; k++) {
        if (dtype == DROPOUT_DTYPE_F64) {
            double t = kernels_load_f64(x, k) + kernels_load_f64(bias, k);
            double u = bits_at(bits, k) ? t * c->s : 0.0;
            kernels_store_f64(y, k, kernels_nan_canonical_f64(kernels_load_f64(residual, k) + u));
        } else {
            float t = round_float(dtype, load_float(dtype, x, k) + load_float(dtype, bias, k));
            float u = bits_at(bits, k) ? round_float(dtype, t * c->s32) : 0.0f;
            /* the canonical NaN rounds to 0x7FC0 (bf16) / 0x7E00 (f16) */
            store_float(dtype, y, k,
                        kernels_nan_canonical_f32(load_float(dtype, residual, k) + u));
        }
    }
}

KERNELS_INLINE void column_sums_any(int dtype, size_t width, size_t rows, size_t stride,
                                    const void *x, double *sum)
{
    for (size_t j = 0; j < width; j++) {
        double total = sum[j];
        for (size_t r = 0; r < rows; r++)
            total += dtype == DROPOUT_DTYPE_F64 ? kernels_load_f64(x, r * stride + j)
                                                : (double)load_float(dtype, x, r * stride + j);
        sum[j] = total;
    }
}

/* ---- the mask ---------------------------------------------------------------- */

/* Keep bits of elements first ... first + count - 1 (count <= 8), bit k for
 * element first + k. */
static uint32_t keep_bits_scalar(const mask_stream *ms, uint64_t first, unsigned count)
{
    uint32_t bits = 0;
    uint32_t words[4];
    uint64_t cached_block = 0;
    int have_block = 0;
    for (unsigned k = 0; k < count; k++) {
        uint64_t index = first + k;
        uint64_t block_index = index / MASK_BLOCK_ELEMENTS;
        if (!have_block || block_index != cached_block) {
            mask_block_words(ms, block_index, words);
            cached_block = block_index;
            have_block = 1;
        }
        unsigned byte_in_block = (unsigned)(index % MASK_BLOCK_ELEMENTS);
        uint32_t r = (words[byte_in_block / 4] >> (8 * (byte_in_block % 4))) & 0xFFu;
        bits |= (uint32_t)mask_byte_keep(ms, r, index) << k;
    }
    return bits;
}

static unsigned group_size(size_t n, size_t k)
{
    return n - k < 8 ? (unsigned)(n - k) : 8u;
}

static void mask_scalar(const mask_stream *ms, uint64_t first, size_t n, uint8_t *mask)
{
    for (size_t k = 0; k < n; k += 8)
        mask[k / 8] = (uint8_t)keep_bits_scalar(ms, first + k, group_size(n, k));
}

/* The fused forward: 8 keep bits at a time, applied as apply_any does. */
KERNELS_INLINE void forward_any(int dtype, const mask_stream *ms, uint64_t first, size_t n,
                                const kernel_consts *c, const void *x, void *y, uint8_t *mask)
{
    const size_t size = dtype == DROPOUT_DTYPE_F64 ? 8 : dtype == DROPOUT_DTYPE_F32 ? 4 : 2;
    for (size_t k = 0; k < n; k += 8) {
        uint8_t bits = (uint8_t)keep_bits_scalar(ms, first + k, group_size(n, k));
        apply_any(dtype, group_size(n, k), c, &bits, (const char *)x + k * size,
                  (char *)y + k * size);
        if (mask)
            mask[k / 8] = bits;
    }
}

/* ---- the table: every slot, each dtype -------------------------------------- */

/* Plain C writes with the compiler's stores: `nontemporal` changes nothing. */
#define SCALAR_DTYPE(suffix, dtype)                                                             \
    static void forward_##suffix(const mask_stream *ms, uint64_t first, size_t n,               \
                                 const kernel_consts *c, const void *x, void *y, uint8_t *mask, \
                                 int nontemporal)                                               \
    {                                                                                           \
        (void)nontemporal;                                                                      \
        forward_any(dtype, ms, first, n, c, x, y, mask);                                        \
    }                                                                                           \
    static void apply_##suffix(size_t n, const kernel_consts *c, const uint8_t *bits,           \
                               const void *x, void *y, int nontemporal)                         \
    {                                                                                           \
        (void)nontemporal;                                                                      \
        apply_any(dtype, n, c, bits, x, y);                                                     \
    }                                                                                           \
    static void affine_##suffix(size_t n, const kernel_consts *c, const uint8_t *bits,          \
                                const void *x, void *y)                                         \
    {                                                                                           \
        affine_any(dtype, n, c, bits, x, y);                                                    \
    }                                                                                           \
    static void noise_##suffix(size_t n, const double *noise, const void *x, void *y)           \
    {                                                                                           \
        noise_any(dtype, n, noise, x, y);                                                       \
    }                                                                                           \
    static void bias_residual_##suffix(size_t n, const kernel_consts *c, const uint8_t *bits,   \
                                       const void *x, const void *bias, const void *residual,   \
                                       void *y, int nontemporal)                                \
    {                                                                                           \
        (void)nontemporal;                                                                      \
        bias_residual_any(dtype, n, c, bits, x, bias, residual, y);                             \
    }                                                                                           \
    static void column_sums_##suffix(size_t width, size_t rows, size_t stride, const void *x,   \
                                     double *sum)                                               \
    {                                                                                           \
        column_sums_any(dtype, width, rows, stride, x, sum);                                    \
    }

SCALAR_DTYPE(f32, DROPOUT_DTYPE_F32)
SCALAR_DTYPE(f64, DROPOUT_DTYPE_F64)
SCALAR_DTYPE(bf16, DROPOUT_DTYPE_BF16)
SCALAR_DTYPE(f16, DROPOUT_DTYPE_F16)

#define SCALAR_SLOT(name)                                                           \
    {                                                                               \
        [DROPOUT_DTYPE_F32] = name##_f32, [DROPOUT_DTYPE_F64] = name##_f64,         \
        [DROPOUT_DTYPE_BF16] = name##_bf16, [DROPOUT_DTYPE_F16] = name##_f16        \
    }

const dropout_kernels dropout_kernels_scalar = {
    .isa = "scalar",
    .mask = mask_scalar,
    .forward = SCALAR_SLOT(forward),
    .apply = SCALAR_SLOT(apply),
    .affine = SCALAR_SLOT(affine),
    .noise = SCALAR_SLOT(noise),
    .bias_residual = SCALAR_SLOT(bias_residual),
    .column_sums = SCALAR_SLOT(column_sums),
};
