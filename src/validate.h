/*
 * validate.h — the argument checks every public operation shares.
 *
 * The API validates everything before it writes a byte (nothing below it
 * re-validates); ops.c and residual.c use these same rules so that every
 * entry point answers a bad argument with the same status.
 */
#ifndef DROPOUT_VALIDATE_H
#define DROPOUT_VALIDATE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dropout.h"

static inline int valid_p(double p)
{
    return p >= 0.0 && p <= 1.0; /* false for NaN */
}

static inline int check_params(const dropout_params *params, size_t n)
{
    if (params == NULL)
        return DROPOUT_ERROR_NULL_POINTER;
    if (!valid_p(params->p))
        return DROPOUT_ERROR_INVALID_P;
    if (params->mode != DROPOUT_TRAIN && params->mode != DROPOUT_EVAL)
        return DROPOUT_ERROR_INVALID_MODE;
    if (n > 0 && n - 1 > UINT64_MAX - params->first)
        return DROPOUT_ERROR_RANGE;
    return DROPOUT_OK;
}

/* Whether [a, a + a_bytes) and [b, b + b_bytes) share no byte (an absent or
 * empty buffer shares none). */
static inline int disjoint(const void *a, size_t a_bytes, const void *b, size_t b_bytes)
{
    uintptr_t pa = (uintptr_t)a, pb = (uintptr_t)b;
    return a == NULL || b == NULL || a_bytes == 0 || b_bytes == 0 || pa + a_bytes <= pb ||
           pb + b_bytes <= pa;
}

/* A packed mask of n elements (the DROPOUT_MASK_BYTES(n) bytes a call reads
 * or writes) must share no byte with a data buffer of `bytes` bytes that the
 * call reads or writes while it writes the mask, or writes while it reads
 * the mask.  (A mask read alongside a read-only input may overlap it.) */
static inline int check_mask_apart(const void *mask, size_t n, const void *buffer, size_t bytes)
{
    return disjoint(mask, DROPOUT_MASK_BYTES(n), buffer, bytes) ? DROPOUT_OK
                                                                 : DROPOUT_ERROR_OVERLAP;
}

/* Input and output must be the same buffer or disjoint. */
static inline int check_buffers(const void *in, const void *out, size_t n, size_t elem_size)
{
    if (n == 0)
        return DROPOUT_OK;
    if (in == NULL || out == NULL)
        return DROPOUT_ERROR_NULL_POINTER;
    if (n > SIZE_MAX / elem_size)
        return DROPOUT_ERROR_INVALID_ARGUMENT;
    uintptr_t a = (uintptr_t)in, b = (uintptr_t)out, bytes = n * elem_size;
    if (a != b && a < b + bytes && b < a + bytes)
        return DROPOUT_ERROR_OVERLAP;
    return DROPOUT_OK;
}

static inline int check_mask(const void *mask, size_t mask_size, size_t n)
{
    if (n == 0)
        return DROPOUT_OK;
    if (mask == NULL)
        return DROPOUT_ERROR_NULL_POINTER;
    if (mask_size < DROPOUT_MASK_BYTES(n))
        return DROPOUT_ERROR_MASK_TOO_SMALL;
    return DROPOUT_OK;
}

#endif /* DROPOUT_VALIDATE_H */
