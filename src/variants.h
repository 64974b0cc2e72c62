/*
 * variants.h — what standard, alpha and gaussian dropout compute, as the
 * constants of a pipeline op (docs/family.md has the formulas).
 */
#ifndef DROPOUT_VARIANTS_H
#define DROPOUT_VARIANTS_H

#include "pipeline.h"

typedef enum variant_direction {
    VARIANT_FORWARD,       /* y from x                          */
    VARIANT_BACKWARD       /* dx from dy (from a mask or regenerated) */
} variant_direction;

/* Whether `variant` is a dropout_variant. */
int variant_valid(int variant);

/* Sets op->kind, s, shift, dropped and sigma for a valid variant and p. */
void variant_set(pipeline_op *op, int variant, variant_direction direction);

#endif /* DROPOUT_VARIANTS_H */
