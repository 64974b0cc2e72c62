/*
 * residual.c — fused y = residual + dropout(x + bias) and its backward.
 *
 * One pass instead of three: x, residual and y are each touched once, the
 * keep bits come from the kernel table's mask op into a stack buffer, and each
 * element goes through exactly the roundings of the three separate steps
 * (t = x + bias; u = keep ? t * s : +0.0; y = residual + u, each rounded to
 * the dtype), so the result is bitwise that of the unfused composition.
 * Validated here; run by the pipeline (PIPELINE_RESIDUAL) and the table's
 * bias_residual slot.
 *
 * Backward: dresidual = dy, dx = dropout backward of dy (the pipeline's
 * elementwise backward), and dbias[j] the column sum of dx over the rows in
 * row order, in double (the table's column_sums slot): a fixed order, so
 * the bits do not depend on the thread count.
 */
#include <string.h>

#include "fpenv.h"
#include "half.h"
#include "kernels/kernels.h"
#include "parallel.h"
#include "pipeline.h"
#include "validate.h"
#include "variants.h"

/* ---- validation -------------------------------------------------------------- */

/* What both directions check first: the parameters, then the dtype and
 * the rows of d elements. */
static int check_call(const dropout_params *params, int dtype, size_t n, size_t d)
{
    const int status = check_params(params, n);
    if (status != DROPOUT_OK)
        return status;
    if (pipeline_dtype_size(dtype) == 0)
        return DROPOUT_ERROR_INVALID_DTYPE;
    if (n > 0 && (d == 0 || n % d != 0))
        return DROPOUT_ERROR_INVALID_SHAPE;
    if (n > SIZE_MAX / pipeline_dtype_size(dtype))
        return DROPOUT_ERROR_INVALID_ARGUMENT;
    return DROPOUT_OK;
}

/* ---- forward ------------------------------------------------------------------ */

static FPENV_WORK int residual_forward(const dropout_params *params, int dtype, void *y,
                                       const void *x, const void *bias, const void *residual,
                                       size_t n, size_t d, uint8_t *mask, size_t mask_size)
{
    int status = check_call(params, dtype, n, d);
    if (status != DROPOUT_OK)
        return status;
    const size_t size = pipeline_dtype_size(dtype);
    status = check_buffers(x, y, n, size);
    if (status == DROPOUT_OK)
        status = check_buffers(residual, y, n, size);
    if (status == DROPOUT_OK && n > 0 && bias == NULL)
        status = DROPOUT_ERROR_NULL_POINTER;
    if (status == DROPOUT_OK && !disjoint(bias, n ? d * size : 0, y, n * size))
        status = DROPOUT_ERROR_OVERLAP;
    const int train = params->mode == DROPOUT_TRAIN;
    if (status == DROPOUT_OK && train && mask != NULL) {
        status = check_mask(mask, mask_size, n);
        /* the mask is written while x, bias, residual are read and y written */
        if (status == DROPOUT_OK)
            status = check_mask_apart(mask, n, x, n * size);
        if (status == DROPOUT_OK)
            status = check_mask_apart(mask, n, bias, n ? d * size : 0);
        if (status == DROPOUT_OK)
            status = check_mask_apart(mask, n, residual, n * size);
        if (status == DROPOUT_OK)
            status = check_mask_apart(mask, n, y, n * size);
    }
    if (status != DROPOUT_OK || n == 0)
        return status;

    pipeline_op op = pipeline_elementwise(params, n);
    variant_set(&op, DROPOUT_VARIANT_STANDARD, VARIANT_FORWARD);
    op.kind = PIPELINE_RESIDUAL;
    op.dtype = dtype;
    op.x = x;
    op.y = y;
    op.bias = bias;
    op.residual = residual;
    op.d = d;
    op.mask_out = mask;
    pipeline_run(&op);
    return DROPOUT_OK;
}

/* ---- backward ----------------------------------------------------------------- */

typedef struct residual_back_call {
    const dropout_kernels *kernels;
    int dtype;
    size_t rows, d, size;
    const char *dx;
    char *dbias;
} residual_back_call;

#define COLUMN_BLOCK 4096 /* whole rows where they fit: row pieces a page apart defeat the prefetcher */
#ifndef ROW_GROUP
#define ROW_GROUP 8      /* rows summed in registers before the sums go back to memory */
#endif

/* A NaN sum is the canonical NaN (docs/SPEC.md section 7): which NaN a sum
 * of NaNs keeps depends on the order of the operands of each add. */
static void store_sums(int dtype, size_t width, const double *sum, char *out)
{
    for (size_t j = 0; j < width; j++) {
        const double total = kernels_nan_canonical_f64(sum[j]);
        switch (dtype) {
        case DROPOUT_DTYPE_F32: kernels_store_f32((float *)out, j, (float)total); break;
        case DROPOUT_DTYPE_F64: kernels_store_f64((double *)out, j, total); break;
        case DROPOUT_DTYPE_BF16:
            kernels_store_u16((uint16_t *)out, j, half_bf16_from_f32((float)total));
            break;
        default: kernels_store_u16((uint16_t *)out, j, half_f16_from_f32((float)total)); break;
        }
    }
}

/* dbias over one band of columns: each column's sum runs down the rows in
 * order, in double, whatever the band, so the bits do not depend on the
 * thread count.  The call's [begin, end) are columns times PARALLEL_ALIGN
 * (see residual_backward). */
static void residual_back_chunk(void *ctx, size_t begin, size_t end)
{
    const residual_back_call *c = ctx;
    const size_t size = c->size, last = end / PARALLEL_ALIGN < c->d ? end / PARALLEL_ALIGN : c->d;
    double sum[COLUMN_BLOCK];
    for (size_t j0 = begin / PARALLEL_ALIGN; j0 < last; j0 += COLUMN_BLOCK) {
        const size_t width = last - j0 < COLUMN_BLOCK ? last - j0 : COLUMN_BLOCK;
        for (size_t j = 0; j < width; j++)
            sum[j] = 0.0;
        for (size_t r = 0; r < c->rows; r += ROW_GROUP) {
            const size_t rows = c->rows - r < ROW_GROUP ? c->rows - r : ROW_GROUP;
            c->kernels->column_sums[c->dtype](width, rows, c->d, c->dx + (r * c->d + j0) * size,
                                              sum);
        }
        store_sums(c->dtype, width, sum, c->dbias + j0 * size);
    }
}

static FPENV_WORK int residual_backward(const dropout_params *params, int dtype, void *dx,
                                        void *dbias, void *dresidual, const void *dy, size_t n,
                                        size_t d, const uint8_t *mask, size_t mask_size,
                                        int from_mask)
{
    int status = check_call(params, dtype, n, d);
    if (status != DROPOUT_OK)
        return status;
    const size_t size = pipeline_dtype_size(dtype);
    const size_t bytes = n * size, bias_bytes = n ? d * size : 0;
    status = check_buffers(dy, dx, n, size);
    if (status == DROPOUT_OK && dresidual != NULL)
        status = check_buffers(dy, dresidual, n, size);
    if (status == DROPOUT_OK &&
        (!disjoint(dx, bytes, dresidual, bytes) || !disjoint(dbias, bias_bytes, dx, bytes) ||
         !disjoint(dbias, bias_bytes, dy, bytes) || !disjoint(dbias, bias_bytes, dresidual, bytes)))
        status = DROPOUT_ERROR_OVERLAP;
    if (status == DROPOUT_OK && from_mask && params->mode == DROPOUT_TRAIN) {
        status = check_mask(mask, mask_size, n);
        /* the mask is read while dx, dbias, dresidual are written (dy is read
         * too: it may overlap the mask) */
        if (status == DROPOUT_OK)
            status = check_mask_apart(mask, n, dx, bytes);
        if (status == DROPOUT_OK)
            status = check_mask_apart(mask, n, dbias, bias_bytes);
        if (status == DROPOUT_OK && dresidual != dy)
            status = check_mask_apart(mask, n, dresidual, bytes);
    }
    if (status != DROPOUT_OK || n == 0)
        return status;

    /* dresidual = dy is a plain copy, fastest in one piece, and first: dx
     * may be dy */
    if (dresidual != NULL && dresidual != dy)
        memcpy(dresidual, dy, bytes);
    /* Two passes: dx over all threads, then the column sums of dx.  One pass
     * (the sums taken from each row while it is in the cache) was measured
     * and is slower on this project's machines: the regenerating kernel is
     * compute-bound on a core, so adding the sums to it costs more than a
     * second, memory-bound read of dx (n = 2^24, d = 1024, AVX2: one pass
     * 14-15 ms on 1 thread, 13-14 ms on 2; two passes about 12 and 7.5). */
    pipeline_op op = pipeline_elementwise(params, n);
    variant_set(&op, DROPOUT_VARIANT_STANDARD, VARIANT_BACKWARD);
    op.dtype = dtype;
    op.x = dy;
    op.y = dx;
    op.mask_in = from_mask ? mask : NULL;
    pipeline_run(&op);
    if (dbias == NULL)
        return DROPOUT_OK;
    residual_back_call c;
    memset(&c, 0, sizeof c);
    c.kernels = dropout_kernels_active();
    c.dtype = dtype;
    c.rows = n / d;
    c.d = d;
    c.size = size;
    c.dx = dx;
    c.dbias = dbias;
    /* Threads split the columns: [0, d * PARALLEL_ALIGN) cut at multiples of
     * PARALLEL_ALIGN is a split of [0, d) into bands. */
    const parallel_work work = {(double)c.rows * (double)size / PARALLEL_ALIGN, 0.0};
    if (d <= SIZE_MAX / PARALLEL_ALIGN)
        parallel_run(d * PARALLEL_ALIGN, work, residual_back_chunk, &c);
    else
        residual_back_chunk(&c, 0, SIZE_MAX);
    return DROPOUT_OK;
}

int dropout_bias_residual_forward(const dropout_params *params, int dtype, void *y,
                                  const void *x, const void *bias, const void *residual,
                                  size_t n, size_t d, uint8_t *mask, size_t mask_size)
{
    FPENV_RETURN(int, residual_forward(params, dtype, y, x, bias, residual, n, d, mask,
                                       mask_size));
}

int dropout_bias_residual_backward_mask(const dropout_params *params, int dtype, void *dx,
                                        void *dbias, void *dresidual, const void *dy, size_t n,
                                        size_t d, const uint8_t *mask, size_t mask_size)
{
    FPENV_RETURN(int, residual_backward(params, dtype, dx, dbias, dresidual, dy, n, d, mask,
                                        mask_size, 1));
}

int dropout_bias_residual_backward_regen(const dropout_params *params, int dtype, void *dx,
                                         void *dbias, void *dresidual, const void *dy,
                                         size_t n, size_t d)
{
    FPENV_RETURN(int, residual_backward(params, dtype, dx, dbias, dresidual, dy, n, d, NULL, 0,
                                        0));
}
