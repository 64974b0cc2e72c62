/*
 * family.h — what the family's files share (internal).
 *
 * A family_op says what one element becomes given its keep bit (or its
 * gaussian noise), in one dtype; family_apply_* run it over a contiguous run.
 * The keep bits always come from the kernel table's `mask` op, so every
 * member shares mask stream v1 with the plain f32 dropout.
 */
#ifndef DROPOUT_FAMILY_H
#define DROPOUT_FAMILY_H

#include <stddef.h>
#include <stdint.h>

#include "apply.h"
#include "dropout.h"
#include "kernels/kernels.h"

/* Elements per piece: the keep bits of a piece live in a small stack buffer. */
#define FAMILY_PIECE 4096
#define FAMILY_NOISE_PIECE 1024

typedef enum family_kind {
    FAMILY_SCALE,  /* keep ? x * scale : +0.0                  */
    FAMILY_AFFINE, /* keep ? x * scale + shift : dropped       */
    FAMILY_NOISE   /* x * noise[k]                             */
} family_kind;

typedef struct family_op {
    int dtype;
    family_kind kind;
    double scale, shift, dropped; /* in double (f64)                        */
    float scale32, shift32;       /* rounded once to f32 (f32, bf16, f16)  */
    uint16_t dropped16;           /* `dropped` as bf16 or f16 (via f32)    */
    float dropped32;
    int stream;                   /* output >= STREAM_MIN_BYTES: streaming stores */
    const dropout_kernels *kernels;
    const family_apply *apply;
} family_op;

/* kind, dtype and the constants in double; fills in the rounded ones and the
 * active tables. */
void family_op_init(family_op *op, int dtype, family_kind kind, double scale, double shift,
                    double dropped);

size_t family_dtype_size(int dtype); /* 0 if unknown */

/* y[k] = op(x[k], bit k of bits), k < n.  x and y point at element 0. */
void family_apply_bits(const family_op *op, size_t n, const uint8_t *bits, const void *x,
                       void *y);
/* y[k] = x[k] * noise[k] (FAMILY_NOISE), and with one noise value. */
void family_apply_noise(const family_op *op, size_t n, const double *noise, const void *x,
                        void *y);
void family_apply_noise_run(const family_op *op, size_t n, double noise, const void *x,
                            void *y);

/* dst = bits [offset, offset + count) of src, shifted down to bit 0; unused
 * high bits of the last byte zero.  Reads no byte of src past that range. */
void family_bits_extract(const uint8_t *src, uint64_t offset, size_t count, uint8_t *dst);

/* ceil(count / 8) bytes of fill (0x00 or 0xFF), unused high bits zero. */
void family_bits_fill(uint8_t *dst, size_t count, uint8_t fill);

#endif /* DROPOUT_FAMILY_H */
