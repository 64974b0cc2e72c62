/*
 * cuda_plan.h — what a CUDA backend call does, decided on the host: the argument
 * checks (validate.h, the CPU's own), the cases that need no random numbers,
 * and the one kernel launch (or copy, or fill) that does the rest.
 *
 * A call becomes exactly one step, so that an error found before it leaves
 * every output untouched.  dropout_cuda.cu executes a plan on a stream;
 * tests/cuda/test_cuda_emulate.cu executes the same plans on the CPU.
 * Each case mirrors the CPU library (src/pipeline.c, every dtype), so the
 * bits match in every corner.
 */
#ifndef DROPOUT_CUDA_PLAN_H
#define DROPOUT_CUDA_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "thread.cuh"
#include "validate.h"

typedef enum cuda_step {
    CUDA_STEP_NONE,   /* nothing to do (n == 0, or in place identity)   */
    CUDA_STEP_COPY,   /* copy_bytes from copy_src to copy_dst          */
    CUDA_STEP_ZERO,   /* copy_bytes of zeros at copy_dst (+0.0)         */
    CUDA_STEP_KERNEL  /* kernel <dtype, source> with op                 */
} cuda_step;

typedef struct cuda_plan {
    cuda_step step;
    void *copy_dst;
    const void *copy_src;
    size_t copy_bytes;
    int dtype;  /* kernel: a dropout_dtype, or CUDA_NO_ELEMENTS   */
    int source; /* kernel: CUDA_BITS_REGEN or CUDA_BITS_MASK       */
    cuda_op op;
} cuda_plan;

static inline size_t cuda_dtype_size(int dtype)
{
    switch (dtype) {
    case DROPOUT_DTYPE_F32: return 4;
    case DROPOUT_DTYPE_F64: return 8;
    case DROPOUT_DTYPE_BF16:
    case DROPOUT_DTYPE_F16: return 2;
    default: return 0;
    }
}

static inline int cuda_aligned(const void *p, size_t size)
{
    return ((uintptr_t)p % size) == 0;
}

static inline void cuda_plan_copy(cuda_plan *plan, void *dst, const void *src, size_t bytes)
{
    if (dst != src) {
        plan->step = CUDA_STEP_COPY;
        plan->copy_dst = dst;
        plan->copy_src = src;
        plan->copy_bytes = bytes;
    }
}

/* The checks of an elementwise call, in the CPU's order (src/ops.c: params,
 * buffers, mask if it is used), then the device's own rule: elements
 * aligned to their size.  Clears the plan (nothing to do) first. */
static inline int cuda_check_elements(cuda_plan *plan, const dropout_params *params, int dtype,
                                      const void *in, const void *out, size_t n,
                                      const void *mask, int mask_used, size_t mask_size)
{
    memset(plan, 0, sizeof *plan);
    if (params == NULL)
        return DROPOUT_ERROR_NULL_POINTER;
    const size_t size = cuda_dtype_size(dtype);
    if (size == 0)
        return DROPOUT_ERROR_INVALID_DTYPE;
    int status = check_params(params, n);
    if (status == DROPOUT_OK)
        status = check_buffers(in, out, n, size);
    if (status == DROPOUT_OK && mask_used)
        status = check_mask(mask, mask_size, n);
    if (status == DROPOUT_OK && n > 0 && (!cuda_aligned(in, size) || !cuda_aligned(out, size)))
        status = DROPOUT_ERROR_INVALID_ARGUMENT;
    return status;
}

/* A kernel over elements [first, first + n) of the mask index space
 * (REGEN), or over the call's own elements (MASK: first = 0). */
static inline void cuda_plan_kernel(cuda_plan *plan, int dtype, int source, uint64_t first,
                                    size_t n)
{
    cuda_op *op = &plan->op;
    plan->step = CUDA_STEP_KERNEL;
    plan->dtype = dtype;
    plan->source = source;
    op->first_block = first / 16;
    op->head = (unsigned)(first % 16);
    op->n = n;
    op->units = n / 16 + (op->head + n % 16 + 15) / 16; /* ceil((head + n) / 16), no overflow */
    op->last = (unsigned)((op->head + (n - 1) % 16) % 16) + 1;
}

/* Forward (and the regenerating backward: mask == NULL).  seed_stream: the
 * graph variant's device {seed, stream}, or NULL for params' own. */
static inline int cuda_plan_forward(cuda_plan *plan, const dropout_params *params,
                                    const uint64_t *seed_stream, int dtype, void *y,
                                    const void *x, size_t n, uint8_t *mask, size_t mask_size)
{
    const size_t size = cuda_dtype_size(dtype);
    int status = cuda_check_elements(plan, params, dtype, x, y, n, mask,
                                     mask != NULL && params != NULL && params->mode == DROPOUT_TRAIN,
                                     mask_size);
    if (status != DROPOUT_OK || n == 0)
        return status;
    if (params->mode == DROPOUT_EVAL || (params->p == 0.0 && mask == NULL)) {
        cuda_plan_copy(plan, y, x, n * size); /* bitwise x */
        return DROPOUT_OK;
    }
    const double s = 1.0 / (1.0 - params->p);
    cuda_op *op = &plan->op;
    op->ms = dropout_mask_v1_stream_make(params->seed, params->stream,
                                         dropout_mask_v1_threshold(params->p));
    op->seed_stream = seed_stream;
    op->identity = params->p == 0.0; /* copy x bitwise; the mask keeps everything */
    op->s32 = (float)s;
    op->s64 = s;
    op->x = x;
    op->y = y;
    op->mask_out = mask;
    cuda_plan_kernel(plan, dtype, CUDA_BITS_REGEN, params->first, n);
    return DROPOUT_OK;
}

/* Backward from a packed mask: p and mode only. */
static inline int cuda_plan_backward_mask(cuda_plan *plan, const dropout_params *params,
                                          int dtype, void *dx, const void *dy, size_t n,
                                          const uint8_t *mask, size_t mask_size)
{
    const size_t size = cuda_dtype_size(dtype);
    int status = cuda_check_elements(plan, params, dtype, dy, dx, n, mask,
                                     params != NULL && params->mode == DROPOUT_TRAIN, mask_size);
    if (status != DROPOUT_OK || n == 0)
        return status;
    const double p = params->p;
    if (params->mode == DROPOUT_EVAL || p == 0.0) {
        cuda_plan_copy(plan, dx, dy, n * size);
        return DROPOUT_OK;
    }
    /* as the CPU (src/pipeline.c): p whose T is 0 drops everything, +0.0
     * without reading the mask, in every dtype */
    if (dropout_mask_v1_threshold(p) == 0) {
        plan->step = CUDA_STEP_ZERO;
        plan->copy_dst = dx;
        plan->copy_bytes = n * size;
        return DROPOUT_OK;
    }
    const double s = 1.0 / (1.0 - p);
    cuda_op *op = &plan->op;
    op->s32 = (float)s;
    op->s64 = s;
    op->x = dy;
    op->y = dx;
    op->mask_in = mask;
    cuda_plan_kernel(plan, dtype, CUDA_BITS_MASK, 0, n);
    return DROPOUT_OK;
}

/* The mask alone (mode ignored). */
static inline int cuda_plan_mask(cuda_plan *plan, const dropout_params *params,
                                 const uint64_t *seed_stream, uint8_t *mask, size_t mask_size,
                                 size_t n)
{
    memset(plan, 0, sizeof *plan);
    if (params == NULL)
        return DROPOUT_ERROR_NULL_POINTER;
    dropout_params train = *params;
    train.mode = DROPOUT_TRAIN;
    int status = check_params(&train, n);
    if (status == DROPOUT_OK)
        status = check_mask(mask, mask_size, n);
    if (status != DROPOUT_OK || n == 0)
        return status;
    cuda_op *op = &plan->op;
    op->ms = dropout_mask_v1_stream_make(params->seed, params->stream,
                                         dropout_mask_v1_threshold(params->p));
    op->seed_stream = seed_stream;
    op->mask_out = mask;
    cuda_plan_kernel(plan, CUDA_NO_ELEMENTS, CUDA_BITS_REGEN, params->first, n);
    return DROPOUT_OK;
}

/* ---- the launch ---------------------------------------------------------------
 * Threads per block, and the largest grid: 2^16 blocks of 256 threads cover
 * n = 2^28 elements one unit per thread; larger calls loop (grid-stride). */
#define CUDA_BLOCK 256u
#define CUDA_MAX_GRID 65536u

static inline unsigned cuda_plan_grid(const cuda_plan *plan)
{
    const uint64_t blocks = (plan->op.units + CUDA_BLOCK - 1) / CUDA_BLOCK;
    return blocks < CUDA_MAX_GRID ? (unsigned)blocks : CUDA_MAX_GRID;
}

/* Calls f.template run<D, SOURCE>() for the plan's kernel: the one map from a
 * plan to a kernel instantiation (the library launches that kernel, the
 * emulation test runs its body on the CPU). */
template <class F> static inline void cuda_plan_visit(const cuda_plan *plan, F &f)
{
    if (plan->source == CUDA_BITS_MASK) {
        switch (plan->dtype) {
        case DROPOUT_DTYPE_F32: f.template run<DROPOUT_DTYPE_F32, CUDA_BITS_MASK>(); break;
        case DROPOUT_DTYPE_F64: f.template run<DROPOUT_DTYPE_F64, CUDA_BITS_MASK>(); break;
        case DROPOUT_DTYPE_BF16: f.template run<DROPOUT_DTYPE_BF16, CUDA_BITS_MASK>(); break;
        default: f.template run<DROPOUT_DTYPE_F16, CUDA_BITS_MASK>(); break;
        }
        return;
    }
    switch (plan->dtype) {
    case DROPOUT_DTYPE_F32: f.template run<DROPOUT_DTYPE_F32, CUDA_BITS_REGEN>(); break;
    case DROPOUT_DTYPE_F64: f.template run<DROPOUT_DTYPE_F64, CUDA_BITS_REGEN>(); break;
    case DROPOUT_DTYPE_BF16: f.template run<DROPOUT_DTYPE_BF16, CUDA_BITS_REGEN>(); break;
    case DROPOUT_DTYPE_F16: f.template run<DROPOUT_DTYPE_F16, CUDA_BITS_REGEN>(); break;
    default: f.template run<CUDA_NO_ELEMENTS, CUDA_BITS_REGEN>(); break;
    }
}

#endif /* DROPOUT_CUDA_PLAN_H */
