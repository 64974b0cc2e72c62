/*
 * bits.h — packed keep bits: bit k % 8 of byte k / 8 belongs to element k,
 * and the unused high bits of a last byte are zero.  The one set of helpers
 * for masks the API writes and the stack buffers the pipeline fills.
 */
#ifndef DROPOUT_BITS_H
#define DROPOUT_BITS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dropout.h" /* DROPOUT_MASK_BYTES */

/* Bit k of bits. */
static inline unsigned bits_at(const uint8_t *bits, size_t k)
{
    return (bits[k / 8] >> (k % 8)) & 1u;
}

/* Bits k ... k + 7 (bit i of the result: element k + i), for any k whose
 * element k + 7 exists: a streaming head can leave k off a multiple of 8,
 * and both bytes then exist. */
static inline unsigned bits8_at(const uint8_t *bits, size_t k)
{
    const unsigned b = (unsigned)(k % 8);
    if (b == 0)
        return bits[k / 8];
    return ((unsigned)bits[k / 8] >> b | (unsigned)bits[k / 8 + 1] << (8 - b)) & 0xFFu;
}

/* ceil(count / 8) bytes of fill (0x00 or 0xFF), unused high bits zero. */
static inline void bits_fill(uint8_t *dst, size_t count, uint8_t fill)
{
    const size_t bytes = DROPOUT_MASK_BYTES(count);
    memset(dst, fill, bytes);
    if (count % 8)
        dst[bytes - 1] &= (uint8_t)((1u << (count % 8)) - 1u);
}

/* dst = bits [offset, offset + count) of src, shifted down to bit 0; unused
 * high bits of the last byte zero.  Reads no byte of src past that range. */
static inline void bits_extract(const uint8_t *src, uint64_t offset, size_t count, uint8_t *dst)
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

#endif /* DROPOUT_BITS_H */
