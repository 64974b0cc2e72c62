/*
 * ops.c — the explicit operations of the public API (tier 2 and 4).
 *
 * Data flows one way: validate everything here (nothing below re-validates),
 * handle the thresholds that need no random numbers, then split the call over
 * threads (parallel.c) and run the active kernel table on each chunk.
 */
#include <string.h>

#include "dropout.h"
#include "fpenv.h"
#include "kernels/kernels.h"
#include "mask.h"
#include "parallel.h"
#include "validate.h"

size_t dropout_mask_bytes(size_t n)
{
    return DROPOUT_MASK_BYTES(n);
}

/* Every public entry point below runs its work in the IEEE default mode
 * (fpenv.h): T and the scale are computed in double, the kernels in float. */
static FPENV_WORK uint64_t keep_threshold(double p)
{
    if (!(p >= 0.0 && p <= 1.0))
        return 0;
    return mask_keep_threshold(p);
}

uint64_t dropout_keep_threshold(double p)
{
    FPENV_RETURN(uint64_t, keep_threshold(p));
}

static FPENV_WORK int keep_one(uint64_t seed, uint64_t stream, uint64_t index, double p)
{
    if (!(p >= 0.0 && p <= 1.0))
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

/* ---- running a kernel over the thread split ------------------------------ */

typedef enum op_kind { OP_MASK, OP_FORWARD_F32, OP_FORWARD_F64, OP_APPLY_F32, OP_APPLY_F64 } op_kind;

typedef struct op_call {
    const dropout_kernels *kernels;
    op_kind kind;
    mask_stream ms;
    uint64_t first;
    double scale;          /* s, rounded to the element type by the kernel call */
    const void *in;        /* x or dy                                           */
    void *out;             /* y or dx                                           */
    uint8_t *mask_out;     /* may be NULL                                       */
    const uint8_t *mask_in;
} op_call;

/* Elements [begin, end) of the call; begin is a multiple of 8, so the chunk's
 * mask starts at byte begin / 8. */
static void op_chunk(void *ctx, size_t begin, size_t end)
{
    const op_call *c = ctx;
    const dropout_kernels *k = c->kernels;
    size_t n = end - begin;
    uint8_t *mask_out = c->mask_out ? c->mask_out + begin / 8 : NULL;
    switch (c->kind) {
    case OP_MASK:
        k->mask(&c->ms, c->first + begin, n, mask_out);
        break;
    case OP_FORWARD_F32:
        k->forward_f32(&c->ms, c->first + begin, n, (float)c->scale,
                       (const float *)c->in + begin, (float *)c->out + begin, mask_out,
                       n * sizeof(float) >= STREAM_MIN_BYTES);
        break;
    case OP_FORWARD_F64:
        k->forward_f64(&c->ms, c->first + begin, n, c->scale,
                       (const double *)c->in + begin, (double *)c->out + begin, mask_out,
                       n * sizeof(double) >= STREAM_MIN_BYTES);
        break;
    case OP_APPLY_F32:
        k->apply_mask_f32(n, (float)c->scale, c->mask_in + begin / 8,
                          (const float *)c->in + begin, (float *)c->out + begin,
                          n * sizeof(float) >= STREAM_MIN_BYTES);
        break;
    case OP_APPLY_F64:
        k->apply_mask_f64(n, c->scale, c->mask_in + begin / 8,
                          (const double *)c->in + begin, (double *)c->out + begin,
                          n * sizeof(double) >= STREAM_MIN_BYTES);
        break;
    }
}

static void run_op(op_call *c, size_t n)
{
    c->kernels = dropout_kernels_active();
    parallel_run(n, op_chunk, c);
}

/* ---- forward and regenerating backward ----------------------------------- */

/* The one training path for both dtypes: forward of x, or backward of dy
 * regenerating the forward's mask (mask == NULL). */
static void forward_train(const dropout_params *params, op_kind kind, size_t elem_size,
                          void *y, const void *x, size_t n, uint8_t *mask)
{
    const double p = params->p;
    const double s = 1.0 / (1.0 - p);
    const uint64_t threshold = mask_keep_threshold(p);
    if (threshold == MASK_THRESHOLD_ALL) { /* keeps everything, draws nothing */
        if (mask)
            fill_mask(mask, n, 0xFF);
        if (p == 0.0) {
            if (y != x)
                memcpy(y, x, n * elem_size);
        } else if (kind == OP_FORWARD_F32) {
            const float s32 = (float)s;
            for (size_t k = 0; k < n; k++)
                kernels_store_f32(y, k, kernels_load_f32(x, k) * s32);
        } else {
            for (size_t k = 0; k < n; k++)
                kernels_store_f64(y, k, kernels_load_f64(x, k) * s);
        }
        return;
    }
    if (threshold == 0) { /* drops everything: +0.0, no NaN or Inf */
        if (mask)
            fill_mask(mask, n, 0x00);
        memset(y, 0, n * elem_size);
        return;
    }
    op_call c = {.kind = kind, .ms = mask_stream_make(params->seed, params->stream, p),
                 .first = params->first, .scale = s, .in = x, .out = y, .mask_out = mask};
    run_op(&c, n);
}

static FPENV_WORK int forward_any(const dropout_params *params, op_kind kind, size_t elem_size,
                                  void *y, const void *x, size_t n, uint8_t *mask,
                                  size_t mask_size)
{
    int status = check_params(params, n);
    if (status == DROPOUT_OK)
        status = check_buffers(x, y, n, elem_size);
    if (status == DROPOUT_OK && mask != NULL && params->mode == DROPOUT_TRAIN) {
        /* the mask is written while x is read and y written */
        status = check_mask(mask, mask_size, n);
        if (status == DROPOUT_OK)
            status = check_mask_apart(mask, n, x, n * elem_size);
        if (status == DROPOUT_OK)
            status = check_mask_apart(mask, n, y, n * elem_size);
    }
    if (status != DROPOUT_OK || n == 0)
        return status;
    if (params->mode == DROPOUT_EVAL) {
        if (y != x)
            memcpy(y, x, n * elem_size);
        return DROPOUT_OK;
    }
    forward_train(params, kind, elem_size, y, x, n, mask);
    return DROPOUT_OK;
}

int dropout_forward_f32(const dropout_params *params, float *y, const float *x, size_t n,
                        uint8_t *mask, size_t mask_size)
{
    FPENV_RETURN(int, forward_any(params, OP_FORWARD_F32, sizeof(float), y, x, n, mask, mask_size));
}

int dropout_forward_f64(const dropout_params *params, double *y, const double *x, size_t n,
                        uint8_t *mask, size_t mask_size)
{
    FPENV_RETURN(int, forward_any(params, OP_FORWARD_F64, sizeof(double),
                                  y, x, n, mask, mask_size));
}

int dropout_backward_regen_f32(const dropout_params *params, float *dx, const float *dy,
                               size_t n)
{
    FPENV_RETURN(int, forward_any(params, OP_FORWARD_F32, sizeof(float), dx, dy, n, NULL, 0));
}

int dropout_backward_regen_f64(const dropout_params *params, double *dx, const double *dy,
                               size_t n)
{
    FPENV_RETURN(int, forward_any(params, OP_FORWARD_F64, sizeof(double), dx, dy, n, NULL, 0));
}

/* ---- backward from a packed mask ----------------------------------------- */

static FPENV_WORK int backward_mask_any(const dropout_params *params, op_kind kind,
                                        size_t elem_size, void *dx, const void *dy, size_t n,
                                        const uint8_t *mask, size_t mask_size)
{
    int status = check_params(params, n);
    if (status == DROPOUT_OK)
        status = check_buffers(dy, dx, n, elem_size);
    if (status == DROPOUT_OK && params->mode == DROPOUT_TRAIN) {
        /* the mask is read while dx is written (dy is read too: it may
         * overlap the mask) */
        status = check_mask(mask, mask_size, n);
        if (status == DROPOUT_OK)
            status = check_mask_apart(mask, n, dx, n * elem_size);
    }
    if (status != DROPOUT_OK || n == 0)
        return status;
    const double p = params->p;
    if (params->mode == DROPOUT_EVAL || p == 0.0) {
        if (dx != dy)
            memcpy(dx, dy, n * elem_size);
        return DROPOUT_OK;
    }
    if (mask_keep_threshold(p) == 0) {
        memset(dx, 0, n * elem_size);
        return DROPOUT_OK;
    }
    op_call c = {.kind = kind, .scale = 1.0 / (1.0 - p), .in = dy, .out = dx, .mask_in = mask};
    run_op(&c, n);
    return DROPOUT_OK;
}

int dropout_backward_mask_f32(const dropout_params *params, float *dx, const float *dy,
                              size_t n, const uint8_t *mask, size_t mask_size)
{
    FPENV_RETURN(int, backward_mask_any(params, OP_APPLY_F32, sizeof(float),
                                        dx, dy, n, mask, mask_size));
}

int dropout_backward_mask_f64(const dropout_params *params, double *dx, const double *dy,
                              size_t n, const uint8_t *mask, size_t mask_size)
{
    FPENV_RETURN(int, backward_mask_any(params, OP_APPLY_F64, sizeof(double),
                                        dx, dy, n, mask, mask_size));
}

/* ---- mask export ---------------------------------------------------------- */

static FPENV_WORK int mask_any(const dropout_params *params, uint8_t *mask, size_t mask_size,
                                size_t n)
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
    const uint64_t threshold = mask_keep_threshold(params->p);
    if (threshold == MASK_THRESHOLD_ALL || threshold == 0) {
        fill_mask(mask, n, threshold ? 0xFF : 0x00);
        return DROPOUT_OK;
    }
    op_call c = {.kind = OP_MASK, .ms = mask_stream_make(params->seed, params->stream, params->p),
                 .first = params->first, .mask_out = mask};
    run_op(&c, n);
    return DROPOUT_OK;
}

int dropout_mask(const dropout_params *params, size_t n, uint8_t *mask, size_t mask_size)
{
    FPENV_RETURN(int, mask_any(params, mask, mask_size, n));
}
