/*
 * elements.c — one family_op over a contiguous run of elements, per dtype.
 *
 * The plain scale goes to the fast loops (the kernel table's apply_mask for
 * f32/f64, apply.h's for bf16/f16); alpha and gaussian run plain loops here:
 * their speed is the mask's, not theirs.  Every formula rounds exactly as
 * docs/family.md says: f32/bf16/f16 compute in f32 (bf16/f16 round once at
 * the end), f64 in double; no FMA (the build forbids contraction).
 */
#include <string.h>

#include "family.h"
#include "half.h"

size_t family_dtype_size(int dtype)
{
    switch (dtype) {
    case DROPOUT_DTYPE_F32: return sizeof(float);
    case DROPOUT_DTYPE_F64: return sizeof(double);
    case DROPOUT_DTYPE_BF16:
    case DROPOUT_DTYPE_F16: return sizeof(uint16_t);
    default: return 0;
    }
}

size_t dropout_dtype_size(int dtype)
{
    return family_dtype_size(dtype);
}

static uint16_t to_half(int dtype, float value)
{
    return dtype == DROPOUT_DTYPE_BF16 ? half_bf16_from_f32(value) : half_f16_from_f32(value);
}

static float from_half(int dtype, uint16_t value)
{
    return dtype == DROPOUT_DTYPE_BF16 ? half_f32_from_bf16(value) : half_f32_from_f16(value);
}

void family_op_init(family_op *op, int dtype, family_kind kind, double scale, double shift,
                    double dropped)
{
    op->dtype = dtype;
    op->kind = kind;
    op->scale = scale;
    op->shift = shift;
    op->dropped = dropped;
    op->scale32 = (float)scale;
    op->shift32 = (float)shift;
    op->dropped32 = (float)dropped;
    op->dropped16 = dtype == DROPOUT_DTYPE_BF16 || dtype == DROPOUT_DTYPE_F16
                        ? to_half(dtype, op->dropped32)
                        : 0;
    op->stream = 0;
    op->kernels = dropout_kernels_active();
    op->apply = family_apply_active();
}

static int bit_at(const uint8_t *bits, size_t k)
{
    return (bits[k / 8] >> (k % 8)) & 1u;
}

/* keep ? x * a + b : c */
static void affine_bits(const family_op *op, size_t n, const uint8_t *bits, const void *x,
                        void *y)
{
    switch (op->dtype) {
    case DROPOUT_DTYPE_F32: {
        const float *in = x;
        float *out = y;
        for (size_t k = 0; k < n; k++)
            kernels_store_f32(out, k,
                              bit_at(bits, k) ? kernels_load_f32(in, k) * op->scale32 + op->shift32
                                              : op->dropped32);
        break;
    }
    case DROPOUT_DTYPE_F64: {
        const double *in = x;
        double *out = y;
        for (size_t k = 0; k < n; k++)
            kernels_store_f64(out, k,
                              bit_at(bits, k) ? kernels_load_f64(in, k) * op->scale + op->shift
                                              : op->dropped);
        break;
    }
    default: {
        const uint16_t *in = x;
        uint16_t *out = y;
        for (size_t k = 0; k < n; k++) {
            float v = from_half(op->dtype, kernels_load_u16(in, k));
            kernels_store_u16(out, k, bit_at(bits, k)
                                          ? to_half(op->dtype, v * op->scale32 + op->shift32)
                                          : op->dropped16);
        }
        break;
    }
    }
}

void family_apply_bits(const family_op *op, size_t n, const uint8_t *bits, const void *x,
                       void *y)
{
    if (op->kind == FAMILY_AFFINE) {
        affine_bits(op, n, bits, x, y);
        return;
    }
    switch (op->dtype) {
    case DROPOUT_DTYPE_F32: op->kernels->apply_mask_f32(n, op->scale32, bits, x, y, op->stream); break;
    case DROPOUT_DTYPE_F64: op->kernels->apply_mask_f64(n, op->scale, bits, x, y, op->stream); break;
    case DROPOUT_DTYPE_BF16: op->apply->scale_bf16(n, op->scale32, bits, x, y); break;
    default: op->apply->scale_f16(n, op->scale32, bits, x, y); break;
    }
}

void family_apply_noise(const family_op *op, size_t n, const double *noise, const void *x,
                        void *y)
{
    switch (op->dtype) {
    case DROPOUT_DTYPE_F32: {
        const float *in = x;
        float *out = y;
        for (size_t k = 0; k < n; k++)
            kernels_store_f32(out, k, kernels_load_f32(in, k) * (float)noise[k]);
        break;
    }
    case DROPOUT_DTYPE_F64: {
        const double *in = x;
        double *out = y;
        for (size_t k = 0; k < n; k++)
            kernels_store_f64(out, k, kernels_load_f64(in, k) * noise[k]);
        break;
    }
    default: {
        const uint16_t *in = x;
        uint16_t *out = y;
        for (size_t k = 0; k < n; k++)
            kernels_store_u16(out, k, to_half(op->dtype, from_half(op->dtype, kernels_load_u16(in, k)) *
                                                             (float)noise[k]));
        break;
    }
    }
}

void family_apply_noise_run(const family_op *op, size_t n, double noise, const void *x,
                            void *y)
{
    double piece_noise[64];
    for (size_t k = 0; k < 64; k++)
        piece_noise[k] = noise;
    const size_t size = family_dtype_size(op->dtype);
    for (size_t k = 0; k < n; k += 64) {
        size_t piece = n - k < 64 ? n - k : 64;
        family_apply_noise(op, piece, piece_noise, (const char *)x + k * size,
                           (char *)y + k * size);
    }
}

void family_bits_extract(const uint8_t *src, uint64_t offset, size_t count, uint8_t *dst)
{
    if (count == 0)
        return;
    const uint8_t *from = src + offset / 8;
    const unsigned shift = (unsigned)(offset % 8);
    const size_t bytes = DROPOUT_MASK_BYTES(count);
    if (shift == 0) {
        memcpy(dst, from, bytes);
    } else {
        /* source bytes that hold bits of the range: ceil((shift + count) / 8) */
        const size_t source_bytes = DROPOUT_MASK_BYTES(shift + count);
        for (size_t k = 0; k < bytes; k++) {
            unsigned value = (unsigned)from[k] >> shift;
            if (k + 1 < source_bytes)
                value |= (unsigned)from[k + 1] << (8 - shift);
            dst[k] = (uint8_t)value;
        }
    }
    if (count % 8)
        dst[bytes - 1] &= (uint8_t)((1u << (count % 8)) - 1u);
}

void family_bits_fill(uint8_t *dst, size_t count, uint8_t fill)
{
    const size_t bytes = DROPOUT_MASK_BYTES(count);
    memset(dst, fill, bytes);
    if (count % 8)
        dst[bytes - 1] &= (uint8_t)((1u << (count % 8)) - 1u);
}
