/*
 * pipeline.h — the one path of every operation below the API.
 *
 *   API (ops.c, residual.c, layer.c)  validates every argument, picks the
 *                                     variant's constants (variants.c)
 *   pipeline_run                      the identity and the thresholds that
 *                                     draw nothing; the streaming-store rule;
 *                                     the plan of the shape (plan.h)
 *   parallel_run (parallel.c)         the split over threads, from the work
 *   the kernel table (kernels.h)      the keep decision (mask.h) and memory
 *
 * Nothing here validates and nothing here calls a public entry point: the
 * API has checked everything, so the pipeline only runs.
 */
#ifndef DROPOUT_PIPELINE_H
#define DROPOUT_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "dropout.h"

typedef enum pipeline_kind {
    PIPELINE_MASK,     /* the packed mask alone (x, y unused)              */
    PIPELINE_SCALE,    /* y = keep ? x * s : +0.0                           */
    PIPELINE_AFFINE,   /* y = keep ? x * s + shift : dropped (alpha)        */
    PIPELINE_NOISE,    /* y = x * (1 + sigma z) (gaussian, no keep bits)    */
    PIPELINE_RESIDUAL  /* y = residual + (keep ? (x + bias) * s : +0.0),
                        * rows of d elements, bias[j] for column j          */
} pipeline_kind;

typedef struct pipeline_op {
    pipeline_kind kind;
    int dtype;
    int train;                   /* 0: evaluation, the identity              */
    double p;
    uint64_t seed, stream, first;
    dropout_shape shape;         /* valid; elementwise calls: {1, {n}, 0}    */
    double s, shift, dropped;    /* the constants in double (variants.c)     */
    double sigma;                /* PIPELINE_NOISE                           */
    const void *x;
    void *y;
    const void *bias, *residual; /* PIPELINE_RESIDUAL                        */
    size_t d;
    uint8_t *mask_out;           /* the mask, written in training; or NULL   */
    const uint8_t *mask_in;      /* keep bits read from here; NULL: drawn    */
} pipeline_op;

/* An op for elementwise calls of n elements: the fields a caller then sets
 * are kind, dtype, s (and the rest its kind needs). */
pipeline_op pipeline_elementwise(const dropout_params *params, size_t n);

/* Runs a validated op of at least one element (the API returns before
 * the pipeline for empty ones). */
void pipeline_run(const pipeline_op *op);

/* Bytes per element of a valid dtype. */
size_t pipeline_dtype_size(int dtype);

#endif /* DROPOUT_PIPELINE_H */
