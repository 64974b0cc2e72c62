/*
 * ops.c — the public operations: the typed calls (every dtype), the shaped
 * calls (broadcast masks, variants), the mask export and the single-element
 * helpers.
 *
 * Every one validates everything here, once (validate.h), then hands a
 * pipeline op to pipeline_run (pipeline.h), which runs it.  The typed calls
 * are the one-dimensional case of the shaped ones: dropout_forward_f32 and
 * dropout_forward_bf16 are the same path with another dtype.
 */
#include <string.h>

#include "dropout.h"
#include "fpenv.h"
#include "mask.h"
#include "ops.h"
#include "pipeline.h"
#include "validate.h"
#include "variants.h"

size_t dropout_mask_bytes(size_t n)
{
    return DROPOUT_MASK_BYTES(n);
}

size_t dropout_dtype_size(int dtype)
{
    return pipeline_dtype_size(dtype);
}

/* Every public entry point below runs its work in the IEEE default mode
 * (fpenv.h): T and the scale are computed in double, the kernels in float. */
static FPENV_WORK uint64_t keep_threshold(double p)
{
    if (!valid_p(p))
        return 0;
    return mask_keep_threshold(p);
}

uint64_t dropout_keep_threshold(double p)
{
    FPENV_RETURN(uint64_t, keep_threshold(p));
}

static FPENV_WORK int keep_one(uint64_t seed, uint64_t stream, uint64_t index, double p)
{
    if (!valid_p(p))
        return 0;
    mask_stream ms = mask_stream_make(seed, stream, p);
    return mask_keep_one(&ms, index);
}

int dropout_keep(uint64_t seed, uint64_t stream, uint64_t index, double p)
{
    FPENV_RETURN(int, keep_one(seed, stream, index, p));
}

void dropout_philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4])
{
    if (counter == NULL || key == NULL || out == NULL)
        return;
    uint32_t result[4];
    philox4x32_10(counter, key, result);
    memcpy(out, result, sizeof result);
}

/* ---- the one validation of every dropout call -------------------------------- */

static int validate(const dropout_params *params, int variant, int dtype,
                    const dropout_shape *shape, void *y, const void *x, uint8_t *mask_out,
                    const uint8_t *mask_in, size_t mask_size, ops_direction direction)
{
    if (params == NULL || shape == NULL)
        return DROPOUT_ERROR_NULL_POINTER;
    const size_t size = pipeline_dtype_size(dtype);
    if (size == 0)
        return DROPOUT_ERROR_INVALID_DTYPE;
    if (!variant_valid(variant))
        return DROPOUT_ERROR_INVALID_ARGUMENT;
    int status = dropout_shape_check(shape);
    if (status != DROPOUT_OK)
        return status;
    const size_t n = dropout_shape_elements(shape);
    const size_t m = dropout_shape_mask_elements(shape);
    status = check_params(params, m);
    if (status == DROPOUT_OK)
        status = check_buffers(x, y, n, size);
    if (status != DROPOUT_OK)
        return status;
    const int train = params->mode == DROPOUT_TRAIN;
    if (variant == DROPOUT_VARIANT_GAUSSIAN) {
        /* no keep bits: nothing to write or read as a mask */
        if (mask_out != NULL || direction == OPS_BACKWARD_MASK)
            return DROPOUT_ERROR_INVALID_ARGUMENT;
        if (train && params->p == 1.0) /* the noise's variance p/(1-p) is infinite */
            return DROPOUT_ERROR_INVALID_P;
    }
    if (train && mask_out != NULL) {
        /* the mask is written while x is read and y written */
        status = check_mask(mask_out, mask_size, m);
        if (status == DROPOUT_OK)
            status = check_mask_apart(mask_out, m, x, n * size);
        if (status == DROPOUT_OK)
            status = check_mask_apart(mask_out, m, y, n * size);
    }
    if (status == DROPOUT_OK && train && direction == OPS_BACKWARD_MASK) {
        /* the mask is read while dx (y here) is written (dy is read too: it
         * may overlap the mask) */
        status = check_mask(mask_in, mask_size, m);
        if (status == DROPOUT_OK)
            status = check_mask_apart(mask_in, m, y, n * size);
    }
    return status;
}

int ops_run(const dropout_params *params, int variant, int dtype, const dropout_shape *shape,
            void *y, const void *x, uint8_t *mask_out, const uint8_t *mask_in, size_t mask_size,
            ops_direction direction)
{
    int status = validate(params, variant, dtype, shape, y, x, mask_out, mask_in, mask_size,
                          direction);
    if (status != DROPOUT_OK || dropout_shape_elements(shape) == 0)
        return status;
    pipeline_op op = pipeline_elementwise(params, 0);
    op.shape = *shape;
    op.dtype = dtype;
    op.x = x;
    op.y = y;
    op.mask_out = direction == OPS_FORWARD ? mask_out : NULL;
    op.mask_in = direction == OPS_BACKWARD_MASK ? mask_in : NULL;
    variant_set(&op, variant, direction == OPS_FORWARD ? VARIANT_FORWARD : VARIANT_BACKWARD);
    pipeline_run(&op);
    return DROPOUT_OK;
}

int ops_elementwise(const dropout_params *params, int dtype, void *y, const void *x, size_t n,
                    uint8_t *mask_out, const uint8_t *mask_in, size_t mask_size,
                    ops_direction direction)
{
    const dropout_shape shape = {1, {n}, 0};
    return ops_run(params, DROPOUT_VARIANT_STANDARD, dtype, &shape, y, x, mask_out, mask_in,
                   mask_size, direction);
}

static FPENV_WORK int shaped(const dropout_params *params, int variant, int dtype,
                             const dropout_shape *shape, void *y, const void *x,
                             uint8_t *mask_out, const uint8_t *mask_in, size_t mask_size,
                             ops_direction direction)
{
    return ops_run(params, variant, dtype, shape, y, x, mask_out, mask_in, mask_size, direction);
}

static FPENV_WORK int elementwise(const dropout_params *params, int dtype, void *y,
                                  const void *x, size_t n, uint8_t *mask_out,
                                  const uint8_t *mask_in, size_t mask_size,
                                  ops_direction direction)
{
    return ops_elementwise(params, dtype, y, x, n, mask_out, mask_in, mask_size, direction);
}

/* ---- the typed calls: thin wrappers, one per dtype and direction -------------- */

#define TYPED_OPS(suffix, type, dtype)                                                         \
    int dropout_forward_##suffix(const dropout_params *params, type *y, const type *x,         \
                                 size_t n, uint8_t *mask, size_t mask_size)                    \
    {                                                                                          \
        FPENV_RETURN(int, elementwise(params, dtype, y, x, n, mask, NULL, mask_size,           \
                                      OPS_FORWARD));                                           \
    }                                                                                          \
    int dropout_backward_mask_##suffix(const dropout_params *params, type *dx, const type *dy, \
                                       size_t n, const uint8_t *mask, size_t mask_size)        \
    {                                                                                          \
        FPENV_RETURN(int, elementwise(params, dtype, dx, dy, n, NULL, mask, mask_size,         \
                                      OPS_BACKWARD_MASK));                                     \
    }                                                                                          \
    int dropout_backward_regen_##suffix(const dropout_params *params, type *dx, const type *dy, \
                                        size_t n)                                              \
    {                                                                                          \
        FPENV_RETURN(int, elementwise(params, dtype, dx, dy, n, NULL, NULL, 0,                 \
                                      OPS_BACKWARD_REGEN));                                    \
    }

TYPED_OPS(f32, float, DROPOUT_DTYPE_F32)
TYPED_OPS(f64, double, DROPOUT_DTYPE_F64)
TYPED_OPS(bf16, uint16_t, DROPOUT_DTYPE_BF16)
TYPED_OPS(f16, uint16_t, DROPOUT_DTYPE_F16)

/* ---- the shaped calls ----------------------------------------------------------- */

int dropout_shaped_forward(const dropout_params *params, int variant, int dtype,
                           const dropout_shape *shape, void *y, const void *x, uint8_t *mask,
                           size_t mask_size)
{
    FPENV_RETURN(int, shaped(params, variant, dtype, shape, y, x, mask, NULL, mask_size,
                             OPS_FORWARD));
}

int dropout_shaped_backward_mask(const dropout_params *params, int variant, int dtype,
                                 const dropout_shape *shape, void *dx, const void *dy,
                                 const uint8_t *mask, size_t mask_size)
{
    FPENV_RETURN(int, shaped(params, variant, dtype, shape, dx, dy, NULL, mask, mask_size,
                             OPS_BACKWARD_MASK));
}

int dropout_shaped_backward_regen(const dropout_params *params, int variant, int dtype,
                                  const dropout_shape *shape, void *dx, const void *dy)
{
    FPENV_RETURN(int, shaped(params, variant, dtype, shape, dx, dy, NULL, NULL, 0,
                             OPS_BACKWARD_REGEN));
}

/* ---- mask export ------------------------------------------------------------------ */

static FPENV_WORK int mask_export(const dropout_params *params, size_t n, uint8_t *mask,
                                  size_t mask_size)
{
    if (params == NULL)
        return DROPOUT_ERROR_NULL_POINTER;
    dropout_params train = *params;
    train.mode = DROPOUT_TRAIN; /* the mode is ignored here */
    int status = check_params(&train, n);
    if (status == DROPOUT_OK)
        status = check_mask(mask, mask_size, n);
    if (status != DROPOUT_OK || n == 0)
        return status;
    pipeline_op op = pipeline_elementwise(&train, n);
    op.kind = PIPELINE_MASK;
    op.mask_out = mask;
    pipeline_run(&op);
    return DROPOUT_OK;
}

int dropout_mask(const dropout_params *params, size_t n, uint8_t *mask, size_t mask_size)
{
    FPENV_RETURN(int, mask_export(params, n, mask, mask_size));
}
