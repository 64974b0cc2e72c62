/*
 * variants.c — the constants of each dropout variant (variants.h).
 *
 *   standard:  keep ? x / (1 - p) : +0.0, backward the same scale
 *   alpha:     keep ? a x + b : a alpha' + b (SELU's fixed point stays
 *              mean 0, variance 1), backward keep ? a dy : +0.0
 *   gaussian:  x (1 + sigma z), sigma = sqrt(p / (1 - p)), backward the
 *              same noise on dy
 *
 * Every constant is computed once, in double; pipeline.c rounds it to the
 * element type.
 */
#include <math.h>

#include "variants.h"

/* SELU's constants (Klambauer et al. 2017), as PyTorch's alpha_dropout:
 * alpha' = -lambda * alpha = -1.7580993408473766. */
#define ALPHA_PRIME (-1.7580993408473766)

int variant_valid(int variant)
{
    return variant == DROPOUT_VARIANT_STANDARD || variant == DROPOUT_VARIANT_ALPHA ||
           variant == DROPOUT_VARIANT_GAUSSIAN;
}

void variant_set(pipeline_op *op, int variant, variant_direction direction)
{
    const double p = op->p;
    op->shift = 0.0;
    op->dropped = 0.0;
    op->sigma = 0.0;
    if (variant == DROPOUT_VARIANT_GAUSSIAN) {
        op->kind = PIPELINE_NOISE;
        op->s = 1.0;
        op->sigma = sqrt(p / (1.0 - p));
    } else if (variant == DROPOUT_VARIANT_ALPHA && p < 1.0) {
        const double a = 1.0 / sqrt((1.0 - p) * (1.0 + p * ALPHA_PRIME * ALPHA_PRIME));
        const double b = -a * ALPHA_PRIME * p;
        op->s = a;
        if (direction == VARIANT_FORWARD) {
            op->kind = PIPELINE_AFFINE;
            op->shift = b;
            op->dropped = a * ALPHA_PRIME + b;
        } else {
            op->kind = PIPELINE_SCALE;
        }
    } else { /* standard; alpha at p == 1 drops everything to +0.0 the same way */
        op->kind = PIPELINE_SCALE;
        op->s = 1.0 / (1.0 - p);
    }
}
