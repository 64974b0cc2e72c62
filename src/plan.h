/*
 * plan.h — a shape with broadcast dimensions as a walk over elements.
 *
 * The mask index of an element is its flat index in the mask's own shape
 * (broadcast dimensions collapsed to 1), plus params->first (SPEC section 2).
 * The plan merges neighbouring dimensions of the same kind, so any shape
 * becomes: outer dimensions, then one "segment" of seg_masks consecutive mask
 * indices, each covering `rep` consecutive elements:
 *
 *   elementwise (nothing broadcast): one segment, rep = 1
 *   channel (N, C, L) broadcast {2}:  segments of C masks, rep = L, outer N
 *   drop path (N, ...) broadcast all but 0: one segment of N masks, rep = rest
 *   time-locked (T, N, H) broadcast {0}: segments of N*H masks, rep = 1, outer T
 *
 * Every typed elementwise call is the one-segment plan of its length.
 */
#ifndef DROPOUT_PLAN_H
#define DROPOUT_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "dropout.h"

typedef struct plan {
    size_t elements;      /* N: product of all dims                            */
    size_t mask_elements; /* M: product of the non-broadcast dims              */
    size_t rep;           /* consecutive elements per mask index (>= 1)        */
    size_t seg_masks;     /* consecutive mask indices per segment              */
    size_t seg_len;       /* seg_masks * rep elements                          */
    size_t outer_ndim;
    size_t outer_dims[DROPOUT_MAX_DIMS];
    size_t outer_mask_stride[DROPOUT_MAX_DIMS]; /* 0 along broadcast dims      */
} plan;

/* The plan of a valid shape with no zero dimension. */
void plan_make(plan *pl, const dropout_shape *shape);

/* Whether element k has mask index k (nothing broadcast). */
static inline int plan_elementwise(const plan *pl)
{
    return pl->mask_elements == pl->elements;
}

/* Mask index (relative to params->first) of segment `segment`'s first mask. */
static inline uint64_t plan_segment_mask(const plan *pl, size_t segment)
{
    uint64_t offset = 0;
    for (size_t d = pl->outer_ndim; d-- > 0;) {
        offset += (uint64_t)(segment % pl->outer_dims[d]) * pl->outer_mask_stride[d];
        segment /= pl->outer_dims[d];
    }
    return offset;
}

#endif /* DROPOUT_PLAN_H */
