/*
 * shaped.c — dropout over a shape with broadcast dimensions, in every dtype
 * and variant; bf16/f16 elementwise dropout is its one-dimensional case.
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
 * Within a segment the keep bits of up to FAMILY_PIECE mask indices come from
 * the kernel table's mask op (or the caller's packed mask) into a stack
 * buffer, then the apply loops turn them into elements.  Threads split the
 * elements (parallel.c); an element's result depends only on its own mask
 * index, so the split changes nothing.
 */
#include <math.h>
#include <string.h>

#include "family.h"
#include "fpenv.h"
#include "gaussian.h"
#include "mask.h"
#include "parallel.h"
#include "validate.h"

/* ---- the plan ---------------------------------------------------------------- */

typedef struct family_plan {
    size_t elements;      /* N: product of all dims                            */
    size_t mask_elements; /* M: product of the non-broadcast dims              */
    size_t rep;           /* consecutive elements per mask index (>= 1)        */
    size_t seg_masks;     /* consecutive mask indices per segment              */
    size_t seg_len;       /* seg_masks * rep elements                          */
    size_t outer_ndim;
    size_t outer_dims[DROPOUT_MAX_DIMS];
    size_t outer_mask_stride[DROPOUT_MAX_DIMS]; /* 0 along broadcast dims      */
} family_plan;

int dropout_shape_check(const dropout_shape *shape)
{
    if (shape == NULL)
        return DROPOUT_ERROR_NULL_POINTER;
    if (shape->ndim == 0 || shape->ndim > DROPOUT_MAX_DIMS)
        return DROPOUT_ERROR_INVALID_SHAPE;
    if (shape->broadcast >> shape->ndim)
        return DROPOUT_ERROR_INVALID_SHAPE;
    size_t total = 1;
    int empty = 0;
    for (size_t d = 0; d < shape->ndim; d++) {
        if (shape->dims[d] == 0)
            empty = 1;
        else if (total > SIZE_MAX / shape->dims[d])
            return DROPOUT_ERROR_INVALID_SHAPE;
        else
            total *= shape->dims[d];
    }
    (void)empty; /* a zero dimension is valid: the tensor is empty */
    return DROPOUT_OK;
}

size_t dropout_shape_elements(const dropout_shape *shape)
{
    if (dropout_shape_check(shape) != DROPOUT_OK)
        return 0;
    size_t total = 1;
    for (size_t d = 0; d < shape->ndim; d++)
        total *= shape->dims[d];
    return total;
}

size_t dropout_shape_mask_elements(const dropout_shape *shape)
{
    if (dropout_shape_check(shape) != DROPOUT_OK)
        return 0;
    size_t total = 1;
    for (size_t d = 0; d < shape->ndim; d++)
        total *= (shape->broadcast >> d) & 1u ? (shape->dims[d] ? 1 : 0) : shape->dims[d];
    return total;
}

/* For a valid shape with no zero dimension. */
static void plan_make(family_plan *plan, const dropout_shape *shape)
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
    plan->rep = 1;
    plan->seg_masks = 1;
    if (count > 0 && broadcast[count - 1])
        plan->rep = dims[--count];
    if (count > 0 && !broadcast[count - 1])
        plan->seg_masks = dims[--count];
    plan->seg_len = plan->seg_masks * plan->rep;
    plan->outer_ndim = count;
    size_t mask_stride = plan->seg_masks, elements = plan->seg_len;
    for (size_t d = count; d-- > 0;) {
        plan->outer_dims[d] = dims[d];
        plan->outer_mask_stride[d] = broadcast[d] ? 0 : mask_stride;
        if (!broadcast[d])
            mask_stride *= dims[d];
        elements *= dims[d];
    }
    plan->elements = elements;
    plan->mask_elements = mask_stride;
}

/* Mask index (relative to params->first) of segment `segment`'s first mask. */
static uint64_t plan_segment_mask(const family_plan *plan, size_t segment)
{
    uint64_t offset = 0;
    for (size_t d = plan->outer_ndim; d-- > 0;) {
        offset += (uint64_t)(segment % plan->outer_dims[d]) * plan->outer_mask_stride[d];
        segment /= plan->outer_dims[d];
    }
    return offset;
}

/* ---- the walk over elements ----------------------------------------------------- */

typedef enum bit_source {
    SOURCE_REGEN, /* the kernel table's mask op                     */
    SOURCE_MASK,  /* the caller's packed mask                       */
    SOURCE_FILL   /* every bit `fill` (thresholds that draw nothing) */
} bit_source;

typedef struct family_walk {
    family_plan plan;
    family_op op;
    bit_source source;
    uint8_t fill;
    mask_stream ms;
    gaussian_stream gs;
    double sigma;
    uint64_t first;
    const uint8_t *mask_in;
    uint8_t *mask_out; /* elementwise plans only: mask index == element index */
    int half_kernel;   /* elementwise bf16/f16 scale from the mask op: the kernel
                        * table's forward_half does bits and apply in one pass */
    size_t elem_size;
    const char *x;
    char *y;
} family_walk;

/* Keep bits of relative mask indices [m, m + count) into bits. */
static void walk_bits(const family_walk *w, uint64_t m, size_t count, uint8_t *bits)
{
    switch (w->source) {
    case SOURCE_REGEN: w->op.kernels->mask(&w->ms, w->first + m, count, bits); break;
    case SOURCE_MASK: family_bits_extract(w->mask_in, m, count, bits); break;
    default: family_bits_fill(bits, count, w->fill); break;
    }
}

/* Keep bits of the last piece, reused when the next piece has the same mask
 * indices (broadcast outer dimensions: every time step of time-locked
 * dropout shares one mask). */
typedef struct bits_cache {
    int valid;
    uint64_t m;
    size_t count;
    uint8_t bits[FAMILY_PIECE / 8];
} bits_cache;

/* count <= FAMILY_PIECE elements [e, e + count) with mask indices
 * [m, m + count) (rep == 1). */
static void walk_piece(const family_walk *w, size_t e, uint64_t m, size_t count,
                       bits_cache *cache)
{
    const size_t size = w->elem_size;
    if (w->op.kind == FAMILY_NOISE) {
        double noise[FAMILY_NOISE_PIECE];
        for (size_t k = 0; k < count; k += FAMILY_NOISE_PIECE) {
            size_t piece = count - k < FAMILY_NOISE_PIECE ? count - k : FAMILY_NOISE_PIECE;
            gaussian_noise(&w->gs, w->first + m + k, piece, w->sigma, noise);
            family_apply_noise(&w->op, piece, noise, w->x + (e + k) * size,
                               w->y + (e + k) * size);
        }
        return;
    }
    if (w->half_kernel) {
        w->op.kernels->forward_half(&w->ms, w->first + m, count, w->op.scale32,
                                    w->op.dtype == DROPOUT_DTYPE_BF16,
                                    (const uint16_t *)(w->x + e * size),
                                    (uint16_t *)(w->y + e * size),
                                    w->mask_out ? w->mask_out + m / 8 : NULL, w->op.stream);
        return;
    }
    if (!cache->valid || cache->m != m || cache->count != count) {
        walk_bits(w, m, count, cache->bits);
        cache->valid = 1;
        cache->m = m;
        cache->count = count;
        if (w->mask_out) /* elementwise plans: m == e, a multiple of 8 here */
            memcpy(w->mask_out + m / 8, cache->bits, DROPOUT_MASK_BYTES(count));
    }
    family_apply_bits(&w->op, count, cache->bits, w->x + e * size, w->y + e * size);
}

/* rep == 1: elements [e, e + count) take mask indices [m, m + count). */
static void walk_elementwise(const family_walk *w, size_t e, uint64_t m, size_t count,
                             bits_cache *cache)
{
    for (size_t k = 0; k < count; k += FAMILY_PIECE) {
        size_t piece = count - k < FAMILY_PIECE ? count - k : FAMILY_PIECE;
        walk_piece(w, e + k, m + k, piece, cache);
    }
}

/* Sets bits [begin, end) of buf: whole bytes where it can (runs are often
 * a few bytes long, too short for a memset call to pay). */
static void bits_set_range(uint8_t *buf, size_t begin, size_t end)
{
    for (; begin < end && begin % 8; begin++)
        buf[begin / 8] |= (uint8_t)(1u << (begin % 8));
    size_t bytes = (end - begin) / 8;
    if (bytes > 32) {
        memset(buf + begin / 8, 0xFF, bytes);
    } else {
        for (size_t k = 0; k < bytes; k++)
            buf[begin / 8 + k] = 0xFF;
    }
    for (begin += 8 * bytes; begin < end; begin++)
        buf[begin / 8] |= (uint8_t)(1u << (begin % 8));
}

/* Per-element bits for runs of run_bytes whole bytes: mask bit j becomes
 * bytes [j * run_bytes, (j + 1) * run_bytes) of out, all 0xFF (kept) or 0x00,
 * up to out_bytes (the 8-byte stores of runs of 1 and 2 bytes may write up to
 * 7 bytes past it: out needs that slack).  Runs of 1 and 2 bytes (channels of
 * 8 and 16 elements) go 8 or 4 mask bits at a time. */
static void widen_whole_bytes(const uint8_t *mask_bits, size_t count, size_t run_bytes,
                              uint8_t *out, size_t out_bytes)
{
    size_t j = 0;
    if (run_bytes == 1 || run_bytes == 2) {
        const unsigned group = run_bytes == 1 ? 8 : 4; /* mask bits per 8 output bytes */
        for (; j + group <= count; j += group) {
            unsigned v = (unsigned)(mask_bits[j / 8] >> (j % 8)) & ((1u << group) - 1u);
            uint64_t word = 0;
            for (unsigned b = 0; b < group; b++) /* bit b -> its run_bytes bytes */
                if ((v >> b) & 1u)
                    word |= (run_bytes == 1 ? (uint64_t)0xFF : (uint64_t)0xFFFF)
                            << (8 * run_bytes * b);
            memcpy(out + j * run_bytes, &word, 8); /* little-endian byte order */
        }
    }
    for (; j < count && j * run_bytes < out_bytes; j++) {
        const uint8_t fill = (uint8_t)(0u - ((mask_bits[j / 8] >> (j % 8)) & 1u));
        const size_t at = j * run_bytes;
        memset(out + at, fill, run_bytes < out_bytes - at ? run_bytes : out_bytes - at);
    }
}

/* rep > 1: offsets [begin, end) of the segment that starts at element
 * seg_base and mask index m0; offset o takes mask index m0 + o / rep.  The
 * mask bits of a piece are widened to one bit per element (each kept run
 * set with a memset), so the fast apply loop runs over the whole piece
 * however short the runs are. */
static void walk_runs(const family_walk *w, size_t seg_base, uint64_t m0, size_t begin,
                      size_t end)
{
    const size_t rep = w->plan.rep, size = w->elem_size;
    if (w->op.kind == FAMILY_NOISE) { /* one noise value per run */
        double noise[FAMILY_NOISE_PIECE];
        size_t o = begin;
        while (o < end) {
            size_t j = o / rep, j_end = (end - 1) / rep + 1;
            if (j_end - j > FAMILY_NOISE_PIECE)
                j_end = j + FAMILY_NOISE_PIECE;
            gaussian_noise(&w->gs, w->first + m0 + j, j_end - j, w->sigma, noise);
            for (size_t jj = j; jj < j_end; jj++) {
                size_t run_end = (jj + 1) * rep < end ? (jj + 1) * rep : end;
                family_apply_noise_run(&w->op, run_end - o, noise[jj - j],
                                       w->x + (seg_base + o) * size,
                                       w->y + (seg_base + o) * size);
                o = run_end;
            }
        }
        return;
    }
    /* slack: widen_whole_bytes may store up to 7 bytes past the piece */
    uint8_t mask_bits[FAMILY_PIECE / 8], bits[FAMILY_PIECE / 8 + 8];
    for (size_t o = begin; o < end; o += FAMILY_PIECE) {
        size_t piece = end - o < FAMILY_PIECE ? end - o : FAMILY_PIECE;
        size_t j0 = o / rep, j1 = (o + piece - 1) / rep + 1; /* <= piece / 2 + 1 masks */
        walk_bits(w, m0 + j0, j1 - j0, mask_bits);
        if (rep % 8 == 0 && o % 8 == 0 && piece % 8 == 0 && o % rep == 0) {
            /* whole bytes per mask bit (channel runs of 8, 16, ...) */
            widen_whole_bytes(mask_bits, j1 - j0, rep / 8, bits, piece / 8);
            family_apply_bits(&w->op, piece, bits, w->x + (seg_base + o) * size,
                              w->y + (seg_base + o) * size);
            continue;
        }
        memset(bits, 0, DROPOUT_MASK_BYTES(piece));
        for (size_t j = j0; j < j1; j++) {
            if (!((mask_bits[(j - j0) / 8] >> ((j - j0) % 8)) & 1u))
                continue;
            size_t run_begin = j * rep > o ? j * rep - o : 0;
            size_t run_end = (j + 1) * rep - o < piece ? (j + 1) * rep - o : piece;
            bits_set_range(bits, run_begin, run_end);
        }
        family_apply_bits(&w->op, piece, bits, w->x + (seg_base + o) * size,
                          w->y + (seg_base + o) * size);
    }
}

static void walk_chunk(void *ctx, size_t begin, size_t end)
{
    const family_walk *w = ctx;
    const family_plan *plan = &w->plan;
    const size_t seg_len = plan->seg_len;
    bits_cache cache;
    cache.valid = 0;
    size_t e = begin;
    if (plan->rep == 1 && plan->outer_ndim > 0) {
        /* whole segments piece by piece across segments, so a piece's bits
         * serve every segment with the same mask indices */
        if (e % seg_len) {
            size_t o = e % seg_len;
            size_t count = seg_len - o < end - e ? seg_len - o : end - e;
            walk_elementwise(w, e, plan_segment_mask(plan, e / seg_len) + o, count, &cache);
            e += count;
        }
        size_t full = (end - e) / seg_len;
        for (size_t o = 0; full > 0 && o < seg_len; o += FAMILY_PIECE) {
            size_t piece = seg_len - o < FAMILY_PIECE ? seg_len - o : FAMILY_PIECE;
            for (size_t k = 0; k < full; k++) {
                size_t seg_start = e + k * seg_len;
                walk_piece(w, seg_start + o, plan_segment_mask(plan, seg_start / seg_len) + o,
                           piece, &cache);
            }
        }
        e += full * seg_len;
    }
    while (e < end) {
        size_t segment = e / seg_len, o = e % seg_len;
        size_t count = seg_len - o < end - e ? seg_len - o : end - e;
        uint64_t m0 = plan_segment_mask(plan, segment);
        if (plan->rep == 1)
            walk_elementwise(w, e, m0 + o, count, &cache);
        else
            walk_runs(w, e - o, m0, o, o + count);
        e += count;
    }
}

/* ---- the operations ------------------------------------------------------------- */

typedef enum family_direction { FORWARD, BACKWARD_MASK, BACKWARD_REGEN } family_direction;

/* SELU's constants (Klambauer et al. 2017), as PyTorch's alpha_dropout:
 * alpha' = -lambda * alpha = -1.7580993408473766. */
#define ALPHA_PRIME (-1.7580993408473766)

static FPENV_WORK int shaped_run(const dropout_params *params, int variant, int dtype,
                                 const dropout_shape *shape, void *y, const void *x,
                                 uint8_t *mask_out, const uint8_t *mask_in, size_t mask_size,
                                 family_direction direction)
{
    if (params == NULL || shape == NULL)
        return DROPOUT_ERROR_NULL_POINTER;
    const size_t size = family_dtype_size(dtype);
    if (size == 0)
        return DROPOUT_ERROR_INVALID_DTYPE;
    if (variant != DROPOUT_VARIANT_STANDARD && variant != DROPOUT_VARIANT_ALPHA &&
        variant != DROPOUT_VARIANT_GAUSSIAN)
        return DROPOUT_ERROR_INVALID_ARGUMENT;
    int status = dropout_shape_check(shape);
    if (status != DROPOUT_OK)
        return status;
    const size_t n = dropout_shape_elements(shape);
    const size_t m = dropout_shape_mask_elements(shape);
    status = check_params(params, m);
    if (status == DROPOUT_OK)
        status = check_buffers(x, y, n, size);
    if (status != DROPOUT_OK)
        return status;
    const int train = params->mode == DROPOUT_TRAIN;
    const double p = params->p;
    if (variant == DROPOUT_VARIANT_GAUSSIAN) {
        /* no keep bits: nothing to write or read as a mask */
        if (mask_out != NULL || direction == BACKWARD_MASK)
            return DROPOUT_ERROR_INVALID_ARGUMENT;
        if (train && p == 1.0) /* the noise's variance p/(1-p) is infinite */
            return DROPOUT_ERROR_INVALID_P;
    }
    if (train && mask_out != NULL) {
        /* the mask is written while x is read and y written */
        status = check_mask(mask_out, mask_size, m);
        if (status == DROPOUT_OK)
            status = check_mask_apart(mask_out, m, x, n * size);
        if (status == DROPOUT_OK)
            status = check_mask_apart(mask_out, m, y, n * size);
    }
    if (train && direction == BACKWARD_MASK) {
        /* the mask is read while dx (y here) is written */
        status = check_mask(mask_in, mask_size, m);
        if (status == DROPOUT_OK)
            status = check_mask_apart(mask_in, m, y, n * size);
    }
    if (status != DROPOUT_OK || n == 0)
        return status;

    if (!train || p == 0.0) { /* identity, bitwise; the mask keeps everything */
        if (y != x)
            memcpy(y, x, n * size);
        if (train && mask_out != NULL)
            family_bits_fill(mask_out, m, 0xFF);
        return DROPOUT_OK;
    }

    family_walk w;
    memset(&w, 0, sizeof w);
    plan_make(&w.plan, shape);
    w.first = params->first;
    w.elem_size = size;
    w.x = x;
    w.y = y;
    w.ms = mask_stream_make(params->seed, params->stream, p);
    if (variant == DROPOUT_VARIANT_GAUSSIAN) {
        family_op_init(&w.op, dtype, FAMILY_NOISE, 1.0, 0.0, 0.0);
        w.gs = gaussian_stream_make(params->seed, params->stream);
        w.sigma = sqrt(p / (1.0 - p));
    } else if (variant == DROPOUT_VARIANT_ALPHA && p < 1.0) {
        /* keep ? a x + b : a alpha' + b; backward keep ? a dy : 0 */
        const double a = 1.0 / sqrt((1.0 - p) * (1.0 + p * ALPHA_PRIME * ALPHA_PRIME));
        const double b = -a * ALPHA_PRIME * p;
        if (direction == FORWARD)
            family_op_init(&w.op, dtype, FAMILY_AFFINE, a, b, a * ALPHA_PRIME + b);
        else
            family_op_init(&w.op, dtype, FAMILY_SCALE, a, 0.0, 0.0);
    } else { /* standard; alpha at p == 1 drops everything to +0.0 the same way */
        family_op_init(&w.op, dtype, FAMILY_SCALE, 1.0 / (1.0 - p), 0.0, 0.0);
    }

    if (direction == BACKWARD_MASK) {
        w.source = SOURCE_MASK;
        w.mask_in = mask_in;
    } else if (w.ms.threshold == MASK_THRESHOLD_ALL || w.ms.threshold == 0) {
        w.source = SOURCE_FILL;
        w.fill = w.ms.threshold ? 0xFF : 0x00;
    } else {
        w.source = SOURCE_REGEN;
    }
    if (mask_out != NULL) {
        if (w.plan.mask_elements == w.plan.elements) {
            w.mask_out = mask_out; /* written as the walk goes */
        } else {
            /* broadcast: each mask bit serves many elements, so write the
             * mask once, then apply from it */
            if (w.source == SOURCE_FILL)
                family_bits_fill(mask_out, m, w.fill);
            else
                dropout_mask(params, m, mask_out, mask_size);
            w.source = SOURCE_MASK;
            w.mask_in = mask_out;
        }
    }
    /* an output this big leaves the cache anyway: the apply loops skip the
     * read-for-ownership of y with streaming stores, as the kernels do */
    w.op.stream = n * size >= STREAM_MIN_BYTES;
    w.half_kernel = w.source == SOURCE_REGEN && w.op.kind == FAMILY_SCALE &&
                    w.plan.mask_elements == w.plan.elements && w.op.kernels->forward_half != NULL &&
                    (dtype == DROPOUT_DTYPE_BF16 || dtype == DROPOUT_DTYPE_F16);
    parallel_run(n, walk_chunk, &w);
    return DROPOUT_OK;
}

int dropout_shaped_forward(const dropout_params *params, int variant, int dtype,
                           const dropout_shape *shape, void *y, const void *x, uint8_t *mask,
                           size_t mask_size)
{
    FPENV_RETURN(int, shaped_run(params, variant, dtype, shape, y, x, mask, NULL, mask_size,
                                 FORWARD));
}

int dropout_shaped_backward_mask(const dropout_params *params, int variant, int dtype,
                                 const dropout_shape *shape, void *dx, const void *dy,
                                 const uint8_t *mask, size_t mask_size)
{
    FPENV_RETURN(int, shaped_run(params, variant, dtype, shape, dx, dy, NULL, mask, mask_size,
                                 BACKWARD_MASK));
}

int dropout_shaped_backward_regen(const dropout_params *params, int variant, int dtype,
                                  const dropout_shape *shape, void *dx, const void *dy)
{
    FPENV_RETURN(int, shaped_run(params, variant, dtype, shape, dx, dy, NULL, NULL, 0,
                                 BACKWARD_REGEN));
}
