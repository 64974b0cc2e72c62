/*
 * kernels.cl — the OpenCL C side of libdropout_opencl: one block function
 * (two kernels around it) that serves forward (training and evaluation), backward from a packed mask,
 * backward regenerating the mask, and mask export, for every dtype.
 *
 * The mask decision is include/dropout_mask_v1.h itself: at build time
 * src/opencl/embed.cmake replaces the #include below by the header's text,
 * so the spec has one definition on every device.  opencl.c validates every
 * argument on the host and sets `flags`; nothing here re-validates.
 *
 * One work-item per 16-element block of the call: work-item g handles call
 * elements 16g ... 16g + 15 (mask indices first + 16g ...), their mask bits
 * (bytes 2g and 2g + 1 of the packed mask, so no two work-items share a
 * byte) and their data: apply_block.  dropout_apply runs it once per
 * work-item when the launch covers every block; dropout_apply_strided in a
 * grid-stride loop when the caller asked for fewer work-items.  So any
 * global or work-group size runs the whole call with the same bits.
 */
#include "dropout_mask_v1.h"

#pragma OPENCL FP_CONTRACT OFF /* a kept element is one multiply, never an FMA */

#ifdef DROPOUT_OPENCL_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif

/* `flags` of dropout_apply (opencl.c sets them, same values). */
#define FLAG_BITS_FROM_MASK 1u /* keep bits from the packed mask (backward_mask) */
#define FLAG_WRITE_MASK 2u     /* write the keep bits (forward, mask export)     */
#define FLAG_DATA 4u           /* write out[] from in[]                          */
#define FLAG_COPY 8u           /* ... bitwise (eval, p == 0), else keep ? in * s : +0 */

/* dropout_dtype values (include/dropout.h). */
#define DTYPE_F32 0
#define DTYPE_F64 1
#define DTYPE_BF16 2
#define DTYPE_F16 3

/* ---- bf16 / f16 <-> f32: the library's rounding (src/half.h), on
 * integer bits so that no device flushes, canonicalizes or converts. ------ */

/* Round to nearest-even; a NaN stays a NaN (quieted, sign and top payload kept). */
static inline ushort bf16_from_f32(float value)
{
    uint bits = as_uint(value);
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u)
        return (ushort)((bits >> 16) | 0x0040u);
    return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}

static inline float f32_from_bf16(ushort value)
{
    return as_float((uint)value << 16);
}

static inline ushort f16_from_f32(float value)
{
    uint bits = as_uint(value);
    uint sign = (bits >> 16) & 0x8000u;
    uint magnitude = bits & 0x7FFFFFFFu;
    if (magnitude > 0x7F800000u) /* NaN */
        return (ushort)(sign | 0x7E00u | ((magnitude >> 13) & 0x3FFu));
    if (magnitude >= 0x477FF000u) /* >= 65520: Inf */
        return (ushort)(sign | 0x7C00u);
    if (magnitude >= 0x38800000u) { /* normal f16 */
        uint rebiased = magnitude - 0x38000000u;
        rebiased += 0x0FFFu + ((rebiased >> 13) & 1u);
        return (ushort)(sign | (rebiased >> 13));
    }
    if (magnitude <= 0x33000000u) /* <= 2^-25: zero */
        return (ushort)sign;
    { /* subnormal f16 */
        uint exponent = magnitude >> 23;
        uint mantissa = (magnitude & 0x7FFFFFu) | 0x800000u;
        uint shift = 126u - exponent;
        uint units = mantissa >> shift;
        uint rest = mantissa & ((1u << shift) - 1u);
        uint halfway = 1u << (shift - 1u);
        if (rest > halfway || (rest == halfway && (units & 1u)))
            units++;
        return (ushort)(sign | units);
    }
}

static inline float f32_from_f16(ushort value)
{
    uint sign = (uint)(value & 0x8000u) << 16;
    uint exponent = (value >> 10) & 0x1Fu;
    uint mantissa = value & 0x3FFu;
    if (exponent == 0x1Fu)
        return as_float(sign | 0x7F800000u | (mantissa << 13));
    if (exponent != 0)
        return as_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
    if (mantissa == 0)
        return as_float(sign);
    return as_float(sign | as_uint((float)mantissa * 0x1.0p-24f)); /* subnormal: exact */
}

/* ---- keep bits ------------------------------------------------------------ */

/* Keep bits of mask indices start ... start + count - 1 (count <= 16): one
 * block of the spec when start is a multiple of 16, else the top of one and
 * the bottom of the next. */
static inline uint call_bits16(dropout_mask_v1_stream ms, ulong start, uint count)
{
    ulong block = start / DROPOUT_MASK_V1_BLOCK_ELEMENTS;
    uint shift = (uint)(start % DROPOUT_MASK_V1_BLOCK_ELEMENTS);
    uint bits = dropout_mask_v1_keep_bits16(ms, block) >> shift;
    if (shift != 0 && count > 16u - shift)
        bits |= dropout_mask_v1_keep_bits16(ms, block + 1) << (16u - shift);
    return bits & 0xFFFFu;
}

/* ---- the kernel ------------------------------------------------------------ */

/* Block g of the call (call elements 16g ... 16g + 15): everything a
 * work-item does.  in/out/mask are byte addresses plus byte offsets (the host
 * checked that each offset is a multiple of the element size, and every
 * range).  s32 is (float)(1 / (1 - p)); s64_bits the double s as bits (a
 * double argument would not compile on a device without fp64). */
static inline void
apply_block(ulong g, ulong seed, ulong stream, ulong threshold, ulong first, ulong n, uint flags,
            int dtype, float s32, ulong s64_bits, __global const uchar *in, ulong in_offset,
            __global uchar *out, ulong out_offset, __global uchar *mask, ulong mask_offset)
{
    const dropout_mask_v1_stream ms = dropout_mask_v1_stream_make(seed, stream, threshold);
    const ulong mask_bytes = (n + 7) / 8;
    const ulong k0 = 16 * g;
    const uint count = n - k0 < 16 ? (uint)(n - k0) : 16u;
    uint bits = 0xFFFFu; /* a bitwise copy draws no random numbers */
    if (flags & FLAG_BITS_FROM_MASK) {
        bits = mask[mask_offset + 2 * g];
        if (2 * g + 1 < mask_bytes)
            bits |= (uint)mask[mask_offset + 2 * g + 1] << 8;
    } else if ((flags & FLAG_WRITE_MASK) || !(flags & FLAG_COPY)) {
        bits = call_bits16(ms, first + k0, count);
    }
    bits &= count == 16 ? 0xFFFFu : (1u << count) - 1u; /* unused high bits are zero */
    if (flags & FLAG_WRITE_MASK) {
        mask[mask_offset + 2 * g] = (uchar)bits;
        if (2 * g + 1 < mask_bytes)
            mask[mask_offset + 2 * g + 1] = (uchar)(bits >> 8);
    }
    if (!(flags & FLAG_DATA))
        return;
    if (flags & FLAG_COPY) { /* as integers: a signalling NaN stays one */
        for (uint k = 0; k < count; k++) {
            if (dtype == DTYPE_F64)
                ((__global ulong *)(out + out_offset))[k0 + k] =
                    ((__global const ulong *)(in + in_offset))[k0 + k];
            else if (dtype == DTYPE_F32)
                ((__global uint *)(out + out_offset))[k0 + k] =
                    ((__global const uint *)(in + in_offset))[k0 + k];
            else
                ((__global ushort *)(out + out_offset))[k0 + k] =
                    ((__global const ushort *)(in + in_offset))[k0 + k];
        }
    } else if (dtype == DTYPE_F32) {
        __global const float *x = (__global const float *)(in + in_offset) + k0;
        __global float *y = (__global float *)(out + out_offset) + k0;
        if (count == 16) { /* a whole block as one 16-wide vector */
            const int16 keep = ((int16)(bits) >> (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                                        11, 12, 13, 14, 15)) & (int16)(1);
            vstore16(select((float16)(0.0f), vload16(0, x) * s32, keep != 0), 0, y);
        } else {
            for (uint k = 0; k < count; k++)
                y[k] = (bits >> k) & 1u ? x[k] * s32 : 0.0f; /* a select, not x * 0 */
        }
    } else if (dtype == DTYPE_F64) {
#ifdef DROPOUT_OPENCL_FP64
        __global const double *x = (__global const double *)(in + in_offset) + k0;
        __global double *y = (__global double *)(out + out_offset) + k0;
        const double s64 = as_double(s64_bits);
        for (uint k = 0; k < count; k++)
            y[k] = (bits >> k) & 1u ? x[k] * s64 : 0.0;
#endif
    } else { /* bf16, f16: (float)x * s32, rounded to nearest-even once */
        __global const ushort *x = (__global const ushort *)(in + in_offset) + k0;
        __global ushort *y = (__global ushort *)(out + out_offset) + k0;
        const int bf16 = dtype == DTYPE_BF16;
        for (uint k = 0; k < count; k++) {
            ushort value = 0;
            if ((bits >> k) & 1u)
                value = bf16 ? bf16_from_f32(f32_from_bf16(x[k]) * s32)
                             : f16_from_f32(f32_from_f16(x[k]) * s32);
            y[k] = value;
        }
    }
}

/* One block per work-item: the launch covers every block (opencl.c's
 * default).  No loop around the body, so the compiler sees one straight
 * kernel (measured on PoCL: see docs/device.md, "Bench"). */
__kernel void dropout_apply(ulong seed, ulong stream, ulong threshold, ulong first, ulong n,
                            uint flags, int dtype, float s32, ulong s64_bits,
                            __global const uchar *in, ulong in_offset, __global uchar *out,
                            ulong out_offset, __global uchar *mask, ulong mask_offset)
{
    const ulong g = get_global_id(0);
    if (g < (n + 15) / 16)
        apply_block(g, seed, stream, threshold, first, n, flags, dtype, s32, s64_bits, in,
                    in_offset, out, out_offset, mask, mask_offset);
}

/* Any global size smaller than the block count: a grid-stride loop over
 * the blocks, with the same apply_block, so the same bits. */
__kernel void dropout_apply_strided(ulong seed, ulong stream, ulong threshold, ulong first,
                                    ulong n, uint flags, int dtype, float s32, ulong s64_bits,
                                    __global const uchar *in, ulong in_offset,
                                    __global uchar *out, ulong out_offset, __global uchar *mask,
                                    ulong mask_offset)
{
    for (ulong g = get_global_id(0); g < (n + 15) / 16; g += get_global_size(0))
        apply_block(g, seed, stream, threshold, first, n, flags, dtype, s32, s64_bits, in,
                    in_offset, out, out_offset, mask, mask_offset);
}
