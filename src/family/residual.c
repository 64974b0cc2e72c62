/*
 * residual.c — fused y = residual + dropout(x + bias) and its backward.
 *
 * One pass instead of three: x, residual and y are each touched once, the
 * keep bits come from the kernel table's mask op into a stack buffer, and each
 * element goes through exactly the roundings of the three separate steps
 * (t = x + bias; u = keep ? t * s : +0.0; y = residual + u, each rounded to
 * the dtype), so the result is bitwise that of the unfused composition.
 *
 * Backward: dresidual = dy, dx = dropout backward of dy (the library's own
 * elementwise backward), and dbias[j] the column sum of dx over the rows in
 * row order, in double: a fixed order, so the bits do not depend on the
 * thread count.
 */
#include <string.h>

#include "family.h"
#include "fpenv.h"
#include "half.h"
#include "mask.h"
#include "parallel.h"
#include "validate.h"

/* ---- validation -------------------------------------------------------------- */

static int check_rows(int dtype, size_t n, size_t d)
{
    if (family_dtype_size(dtype) == 0)
        return DROPOUT_ERROR_INVALID_DTYPE;
    if (n > 0 && (d == 0 || n % d != 0))
        return DROPOUT_ERROR_INVALID_SHAPE;
    if (n > SIZE_MAX / family_dtype_size(dtype))
        return DROPOUT_ERROR_INVALID_ARGUMENT;
    return DROPOUT_OK;
}

/* ---- forward ------------------------------------------------------------------ */

typedef struct residual_call {
    family_op op; /* FAMILY_SCALE: s, or 1 when dropout is the identity */
    size_t d, size;
    int regen;    /* 1: the mask op; 0: every bit `fill`               */
    uint8_t fill;
    mask_stream ms;
    uint64_t first;
    const char *x, *bias, *residual;
    char *y;
    uint8_t *mask_out;
} residual_call;

/* n elements of one row piece, bias[k] belonging to element k. */
static void residual_row(const residual_call *c, size_t n, const uint8_t *bits, const char *x,
                         const char *bias, const char *residual, char *y)
{
    const float s = c->op.scale32;
    switch (c->op.dtype) {
    case DROPOUT_DTYPE_F32:
        c->op.apply->bias_residual_f32(n, s, bits, (const float *)x, (const float *)bias,
                                       (const float *)residual, (float *)y, c->op.stream);
        break;
    case DROPOUT_DTYPE_F64: {
        const double *xd = (const double *)x, *bd = (const double *)bias;
        const double *rd = (const double *)residual;
        double *yd = (double *)y;
        for (size_t k = 0; k < n; k++) {
            double t = kernels_load_f64(xd, k) + kernels_load_f64(bd, k);
            double u = (bits[k / 8] >> (k % 8)) & 1u ? t * c->op.scale : 0.0;
            kernels_store_f64(yd, k, family_nan_canonical_f64(kernels_load_f64(rd, k) + u));
        }
        break;
    }
    default: { /* bf16 / f16: each step rounds to the dtype, as separately */
        const int bf16 = c->op.dtype == DROPOUT_DTYPE_BF16;
        const uint16_t *xh = (const uint16_t *)x, *bh = (const uint16_t *)bias;
        const uint16_t *rh = (const uint16_t *)residual;
        uint16_t *yh = (uint16_t *)y;
        for (size_t k = 0; k < n; k++) {
            const uint16_t xk = kernels_load_u16(xh, k), bk = kernels_load_u16(bh, k);
            const uint16_t rk = kernels_load_u16(rh, k);
            float xf = bf16 ? half_f32_from_bf16(xk) : half_f32_from_f16(xk);
            float bf = bf16 ? half_f32_from_bf16(bk) : half_f32_from_f16(bk);
            float rf = bf16 ? half_f32_from_bf16(rk) : half_f32_from_f16(rk);
            uint16_t t = bf16 ? half_bf16_from_f32(xf + bf) : half_f16_from_f32(xf + bf);
            uint16_t u = 0;
            if ((bits[k / 8] >> (k % 8)) & 1u) {
                float tf = bf16 ? half_f32_from_bf16(t) : half_f32_from_f16(t);
                u = bf16 ? half_bf16_from_f32(tf * s) : half_f16_from_f32(tf * s);
            }
            float uf = bf16 ? half_f32_from_bf16(u) : half_f32_from_f16(u);
            float yf = family_nan_canonical_f32(rf + uf); /* 0x7FC0 / 0x7E00 once rounded */
            kernels_store_u16(yh, k, bf16 ? half_bf16_from_f32(yf) : half_f16_from_f32(yf));
        }
        break;
    }
    }
}

static void residual_chunk(void *ctx, size_t begin, size_t end)
{
    const residual_call *c = ctx;
    const size_t size = c->size;
    uint8_t bits[FAMILY_PIECE / 8], shifted[FAMILY_PIECE / 8];
    for (size_t e = begin; e < end; e += FAMILY_PIECE) { /* e % 8 == 0 */
        size_t piece = end - e < FAMILY_PIECE ? end - e : FAMILY_PIECE;
        if (c->regen)
            c->op.kernels->mask(&c->ms, c->first + e, piece, bits);
        else
            family_bits_fill(bits, piece, c->fill);
        if (c->mask_out)
            memcpy(c->mask_out + e / 8, bits, DROPOUT_MASK_BYTES(piece));
        /* split at row ends: within a row the bias is contiguous */
        for (size_t k = 0; k < piece;) {
            size_t column = (e + k) % c->d;
            size_t len = c->d - column < piece - k ? c->d - column : piece - k;
            const uint8_t *row_bits = bits + k / 8;
            if (k % 8) {
                family_bits_extract(bits, k, len, shifted);
                row_bits = shifted;
            }
            residual_row(c, len, row_bits, c->x + (e + k) * size, c->bias + column * size,
                         c->residual + (e + k) * size, c->y + (e + k) * size);
            k += len;
        }
    }
}

static FPENV_WORK int residual_forward(const dropout_params *params, int dtype, void *y,
                                       const void *x, const void *bias, const void *residual,
                                       size_t n, size_t d, uint8_t *mask, size_t mask_size)
{
    int status = check_params(params, n);
    if (status == DROPOUT_OK)
        status = check_rows(dtype, n, d);
    if (status != DROPOUT_OK)
        return status;
    const size_t size = family_dtype_size(dtype);
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

    residual_call c;
    memset(&c, 0, sizeof c);
    c.d = d;
    c.size = size;
    c.x = x;
    c.bias = bias;
    c.residual = residual;
    c.y = y;
    c.first = params->first;
    c.ms = mask_stream_make(params->seed, params->stream, params->p);
    const double p = params->p;
    if (!train || p == 0.0) {
        /* dropout is the identity: t * 1 is t, bit for bit */
        family_op_init(&c.op, dtype, FAMILY_SCALE, 1.0, 0.0, 0.0);
        c.fill = 0xFF;
    } else {
        family_op_init(&c.op, dtype, FAMILY_SCALE, 1.0 / (1.0 - p), 0.0, 0.0);
        c.regen = c.ms.threshold != MASK_THRESHOLD_ALL && c.ms.threshold != 0;
        c.fill = c.ms.threshold ? 0xFF : 0x00;
    }
    c.mask_out = train ? mask : NULL; /* evaluation writes no mask */
    c.op.stream = n * size >= STREAM_MIN_BYTES; /* y leaves the cache anyway */
    parallel_run(n, residual_chunk, &c);
    return DROPOUT_OK;
}

/* ---- backward ----------------------------------------------------------------- */

typedef struct residual_back_call {
    family_op op; /* the dtype and the apply table (add_rows_f32) */
    size_t rows, d, size;
    const char *dx;
    char *dbias;
} residual_back_call;

#define COLUMN_BLOCK 4096 /* whole rows where they fit: row pieces a page apart defeat the prefetcher */
#ifndef ROW_GROUP
#define ROW_GROUP 8      /* rows summed in registers before the sums go back to memory */
#endif

/* sum[j] += block[r * stride + j] for r = 0 ... rows - 1 in order (a block
 * of rows of one band of columns). */
static void add_to_sums(const family_op *op, size_t width, size_t rows, size_t stride,
                        const char *block, double *sum)
{
    if (op->dtype == DROPOUT_DTYPE_F32) {
        op->apply->add_rows_f32(width, rows, stride, (const float *)block, sum);
        return;
    }
    for (size_t r = 0; r < rows; r++) {
        const size_t at = r * stride;
        switch (op->dtype) {
        case DROPOUT_DTYPE_F64:
            for (size_t j = 0; j < width; j++)
                sum[j] += kernels_load_f64((const double *)block, at + j);
            break;
        case DROPOUT_DTYPE_BF16:
            for (size_t j = 0; j < width; j++)
                sum[j] += (double)half_f32_from_bf16(kernels_load_u16((const uint16_t *)block, at + j));
            break;
        default:
            for (size_t j = 0; j < width; j++)
                sum[j] += (double)half_f32_from_f16(kernels_load_u16((const uint16_t *)block, at + j));
            break;
        }
    }
}

/* A NaN sum is the canonical NaN (docs/SPEC.md section 7): which NaN a sum
 * of NaNs keeps depends on the order of the operands of each add. */
static void store_sums(int dtype, size_t width, const double *sum, char *out)
{
    for (size_t j = 0; j < width; j++) {
        const double total = family_nan_canonical_f64(sum[j]);
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
            add_to_sums(&c->op, width, rows, c->d, c->dx + (r * c->d + j0) * size, sum);
        }
        store_sums(c->op.dtype, width, sum, c->dbias + j0 * size);
    }
}

/* dx = dropout backward of dy: the library's own elementwise backward, on
 * all its threads, with its streaming stores for large outputs. */
static int backward_elements(const dropout_params *params, int dtype, void *dx, const void *dy,
                             size_t n, const uint8_t *mask, size_t mask_size, int from_mask)
{
    switch (dtype) {
    case DROPOUT_DTYPE_F32:
        return from_mask ? dropout_backward_mask_f32(params, dx, dy, n, mask, mask_size)
                         : dropout_backward_regen_f32(params, dx, dy, n);
    case DROPOUT_DTYPE_F64:
        return from_mask ? dropout_backward_mask_f64(params, dx, dy, n, mask, mask_size)
                         : dropout_backward_regen_f64(params, dx, dy, n);
    case DROPOUT_DTYPE_BF16:
        return from_mask ? dropout_backward_mask_bf16(params, dx, dy, n, mask, mask_size)
                         : dropout_backward_regen_bf16(params, dx, dy, n);
    default:
        return from_mask ? dropout_backward_mask_f16(params, dx, dy, n, mask, mask_size)
                         : dropout_backward_regen_f16(params, dx, dy, n);
    }
}

static FPENV_WORK int residual_backward(const dropout_params *params, int dtype, void *dx,
                                        void *dbias, void *dresidual, const void *dy, size_t n,
                                        size_t d, const uint8_t *mask, size_t mask_size,
                                        int from_mask)
{
    int status = check_params(params, n);
    if (status == DROPOUT_OK)
        status = check_rows(dtype, n, d);
    if (status != DROPOUT_OK)
        return status;
    const size_t size = family_dtype_size(dtype);
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
    status = backward_elements(params, dtype, dx, dy, n, mask, mask_size, from_mask);
    if (status != DROPOUT_OK || dbias == NULL)
        return status;
    residual_back_call c;
    memset(&c, 0, sizeof c);
    family_op_init(&c.op, dtype, FAMILY_SCALE, 1.0, 0.0, 0.0);
    c.rows = n / d;
    c.d = d;
    c.size = size;
    c.dx = dx;
    c.dbias = dbias;
    /* Threads split the columns: [0, d * PARALLEL_ALIGN) cut at multiples of
     * PARALLEL_ALIGN is a split of [0, d) into bands. */
    if (d <= SIZE_MAX / PARALLEL_ALIGN)
        parallel_run(d * PARALLEL_ALIGN, residual_back_chunk, &c);
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
