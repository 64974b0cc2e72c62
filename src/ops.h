/*
 * ops.h — the validated operations behind the public entry points, for the
 * API files that build on them (layer.c, residual.c): they call these, not
 * the public functions, so nothing validates twice or switches the FP mode
 * twice.  Callers run them in the IEEE default mode (fpenv.h).
 */
#ifndef DROPOUT_OPS_H
#define DROPOUT_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "dropout.h"

typedef enum ops_direction { OPS_FORWARD, OPS_BACKWARD_MASK, OPS_BACKWARD_REGEN } ops_direction;

/* Validates and runs one dropout of `variant` over `shape` in `dtype`:
 * forward (mask_out may be NULL), backward from mask_in, or backward
 * regenerating the forward's mask.  Returns a DROPOUT_* status. */
int ops_run(const dropout_params *params, int variant, int dtype, const dropout_shape *shape,
            void *y, const void *x, uint8_t *mask_out, const uint8_t *mask_in, size_t mask_size,
            ops_direction direction);

/* The same for n elements in a row (the typed calls). */
int ops_elementwise(const dropout_params *params, int dtype, void *y, const void *x, size_t n,
                    uint8_t *mask_out, const uint8_t *mask_in, size_t mask_size,
                    ops_direction direction);

#endif /* DROPOUT_OPS_H */
