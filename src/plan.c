/*
 * plan.c — the public shape helpers and the plan of a shape (plan.h).
 */
#include "plan.h"

int dropout_shape_check(const dropout_shape *shape)
{
    if (shape == NULL)
        return DROPOUT_ERROR_NULL_POINTER;
    if (shape->ndim == 0 || shape->ndim > DROPOUT_MAX_DIMS)
        return DROPOUT_ERROR_INVALID_SHAPE;
    if (shape->broadcast >> shape->ndim)
        return DROPOUT_ERROR_INVALID_SHAPE;
    /* the product of the nonzero dimensions must fit (a zero dimension is
     * valid: the tensor is empty) */
    size_t total = 1;
    for (size_t d = 0; d < shape->ndim; d++) {
        if (shape->dims[d] == 0)
            continue;
        if (total > SIZE_MAX / shape->dims[d])
            return DROPOUT_ERROR_INVALID_SHAPE;
        total *= shape->dims[d];
    }
    return DROPOUT_OK;
}

/* Elements of a valid shape, broadcast dimensions counted as 1 (0 if
 * empty) when `collapse` is set; 0 for an invalid shape. */
static size_t shape_product(const dropout_shape *shape, int collapse)
{
    if (dropout_shape_check(shape) != DROPOUT_OK)
        return 0;
    size_t total = 1;
    for (size_t d = 0; d < shape->ndim; d++) {
        const size_t n = shape->dims[d];
        total *= collapse && (shape->broadcast >> d) & 1u ? (n ? 1 : 0) : n;
    }
    return total;
}

size_t dropout_shape_elements(const dropout_shape *shape)
{
    return shape_product(shape, 0);
}

size_t dropout_shape_mask_elements(const dropout_shape *shape)
{
    return shape_product(shape, 1);
}

/* For a valid shape with no zero dimension. */
void plan_make(plan *pl, const dropout_shape *shape)
{
    /* drop size-1 dims, merge neighbours of the same kind */
    size_t dims[DROPOUT_MAX_DIMS];
    int broadcast[DROPOUT_MAX_DIMS];
    size_t count = 0;
    for (size_t d = 0; d < shape->ndim; d++) {
        if (shape->dims[d] == 1)
            continue;
        int b = (int)((shape->broadcast >> d) & 1u);
        if (count > 0 && broadcast[count - 1] == b) {
            dims[count - 1] *= shape->dims[d];
        } else {
            dims[count] = shape->dims[d];
            broadcast[count] = b;
            count++;
        }
    }
    pl->rep = 1;
    pl->seg_masks = 1;
    if (count > 0 && broadcast[count - 1])
        pl->rep = dims[--count];
    if (count > 0 && !broadcast[count - 1])
        pl->seg_masks = dims[--count];
    pl->seg_len = pl->seg_masks * pl->rep;
    pl->outer_ndim = count;
    size_t mask_stride = pl->seg_masks, elements = pl->seg_len;
    for (size_t d = count; d-- > 0;) {
        pl->outer_dims[d] = dims[d];
        pl->outer_mask_stride[d] = broadcast[d] ? 0 : mask_stride;
        if (!broadcast[d])
            mask_stride *= dims[d];
        elements *= dims[d];
    }
    pl->elements = elements;
    pl->mask_elements = mask_stride;
}

