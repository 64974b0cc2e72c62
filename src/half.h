/*
 * half.h — bf16 and f16 <-> f32, the scalar reference every ISA matches.
 *
 * To bf16/f16: round to nearest-even once; a NaN stays a NaN (quieted, sign
 * and top payload bits kept), exactly what F16C's vcvtps2ph does, so the
 * SIMD paths can use it and still give the same bits.  From bf16/f16: exact.
 */
#ifndef DROPOUT_HALF_H
#define DROPOUT_HALF_H

#include <stdint.h>
#include <string.h>

/* The CUDA backend (src/cuda/) converts with these same functions on the
 * device: under nvcc they are __host__ __device__. */
#if defined(__CUDACC__)
#define HALF_FUNCTION static __host__ __device__ __forceinline__
#else
#define HALF_FUNCTION static inline
#endif

HALF_FUNCTION uint32_t half_bits_f32(float value)
{
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    return bits;
}

HALF_FUNCTION float half_f32_bits(uint32_t bits)
{
    float value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

/* bf16 is the high half of an f32: add 0x7FFF plus the lowest kept bit and
 * truncate (round half to even).  NaN first: the add could carry it to Inf. */
HALF_FUNCTION uint16_t half_bf16_from_f32(float value)
{
    uint32_t bits = half_bits_f32(value);
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u)
        return (uint16_t)((bits >> 16) | 0x0040u);
    return (uint16_t)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}

HALF_FUNCTION float half_f32_from_bf16(uint16_t value)
{
    return half_f32_bits((uint32_t)value << 16);
}

HALF_FUNCTION uint16_t half_f16_from_f32(float value)
{
    uint32_t bits = half_bits_f32(value);
    uint32_t sign = (bits >> 16) & 0x8000u;
    uint32_t magnitude = bits & 0x7FFFFFFFu;
    if (magnitude > 0x7F800000u) /* NaN: quiet bit set, top payload bits kept */
        return (uint16_t)(sign | 0x7E00u | ((magnitude >> 13) & 0x3FFu));
    if (magnitude >= 0x477FF000u) /* >= 65520 (halfway above 65504): Inf */
        return (uint16_t)(sign | 0x7C00u);
    if (magnitude >= 0x38800000u) { /* normal f16: rebias 127 -> 15, round */
        uint32_t rebiased = magnitude - 0x38000000u;
        rebiased += 0x0FFFu + ((rebiased >> 13) & 1u);
        return (uint16_t)(sign | (rebiased >> 13));
    }
    if (magnitude <= 0x33000000u) /* <= 2^-25: rounds to zero (ties to even) */
        return (uint16_t)sign;
    /* subnormal f16: a multiple of 2^-24 */
    uint32_t exponent = magnitude >> 23;                 /* 102 ... 112 */
    uint32_t mantissa = (magnitude & 0x7FFFFFu) | 0x800000u;
    uint32_t shift = 126u - exponent;                    /* 14 ... 24   */
    uint32_t units = mantissa >> shift;
    uint32_t rest = mantissa & ((1u << shift) - 1u);
    uint32_t halfway = 1u << (shift - 1u);
    if (rest > halfway || (rest == halfway && (units & 1u)))
        units++;
    return (uint16_t)(sign | units);
}

HALF_FUNCTION float half_f32_from_f16(uint16_t value)
{
    uint32_t sign = (uint32_t)(value & 0x8000u) << 16;
    uint32_t exponent = (value >> 10) & 0x1Fu;
    uint32_t mantissa = value & 0x3FFu;
    if (exponent == 0x1Fu)
        return half_f32_bits(sign | 0x7F800000u | (mantissa << 13));
    if (exponent != 0)
        return half_f32_bits(sign | ((exponent + 112u) << 23) | (mantissa << 13));
    if (mantissa == 0)
        return half_f32_bits(sign);
    /* subnormal: mantissa * 2^-24, exact in f32 */
    float magnitude = (float)mantissa * 0x1.0p-24f;
    return half_f32_bits(sign | half_bits_f32(magnitude));
}

/* One element of bf16 (bf16 != 0) or f16 dropout, SPEC section 1:
 * keep ? round((float)x * s) : +0 (0x0000): the scalar reference, and the
 * SIMD loops' tails. */
HALF_FUNCTION uint16_t half_dropout_one(int bf16, int keep, uint16_t x, float s)
{
    if (!keep)
        return 0;
    return bf16 ? half_bf16_from_f32(half_f32_from_bf16(x) * s)
                : half_f16_from_f32(half_f32_from_f16(x) * s);
}

#endif /* DROPOUT_HALF_H */
