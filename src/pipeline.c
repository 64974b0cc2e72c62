/*
 * pipeline.c — every operation's one path below the API (pipeline.h).
 *
 * pipeline_run handles, once for every operation: the identity (evaluation,
 * p == 0), the thresholds that need no random numbers (T == 2^32 keeps
 * everything, T == 0 drops everything: the keep bits are a fill), the
 * streaming-store rule, then the plan of the shape and the split over
 * threads.  Each thread walks its elements [begin, end):
 *
 *   elementwise plans call the table's fused forward (bits drawn) or apply
 *   (bits read) on the whole run, writing the mask as they go;
 *   everything else takes the keep bits of up to PIPELINE_PIECE mask
 *   indices at a time into a stack buffer (drawn by the table's mask op,
 *   copied from the caller's mask, or a fill) and turns them into elements
 *   with the table's apply, affine, noise or bias_residual slots.
 *
 * An element's result depends only on its own mask index, so the split
 * changes nothing: the bits are the same for every thread count.
 */
#include <math.h>
#include <string.h>

#include "bits.h"
#include "gaussian.h"
#include "kernels/kernels.h"
#include "mask.h"
#include "parallel.h"
#include "pipeline.h"
#include "plan.h"

/* Outputs from this size on are written with streaming (non-temporal)
 * stores, as memcpy does for large copies: an output this big does not stay
 * in the cache anyway, and skipping the read-for-ownership of y saves a
 * third of the memory traffic.  Decided here, once per call, for every
 * operation. */
#ifndef NONTEMPORAL_MIN_BYTES /* (overridable for experiments) */
#define NONTEMPORAL_MIN_BYTES ((size_t)16 << 20)
#endif

/* Elements per piece: the keep bits of a piece live in a small stack buffer. */
#define PIPELINE_PIECE 4096
#define NOISE_PIECE 1024

size_t pipeline_dtype_size(int dtype)
{
    switch (dtype) {
    case DROPOUT_DTYPE_F32: return sizeof(float);
    case DROPOUT_DTYPE_F64: return sizeof(double);
    case DROPOUT_DTYPE_BF16:
    case DROPOUT_DTYPE_F16: return sizeof(uint16_t);
    default: return 0;
    }
}

pipeline_op pipeline_elementwise(const dropout_params *params, size_t n)
{
    pipeline_op op;
    memset(&op, 0, sizeof op);
    op.train = params->mode == DROPOUT_TRAIN;
    op.p = params->p;
    op.seed = params->seed;
    op.stream = params->stream;
    op.first = params->first;
    op.shape.ndim = 1;
    op.shape.dims[0] = n;
    return op;
}

/* ---- the walk over elements ------------------------------------------------- */

typedef enum bit_source {
    SOURCE_DRAW, /* the kernel table's mask op                     */
    SOURCE_MASK, /* the caller's packed mask                       */
    SOURCE_FILL  /* every bit `fill` (thresholds that draw nothing) */
} bit_source;

typedef struct walk {
    const pipeline_op *op;
    const dropout_kernels *kernels;
    plan plan;
    kernel_consts consts;
    bit_source source;
    uint8_t fill;
    mask_stream ms;
    gaussian_stream gs;
    const uint8_t *mask_in;
    uint8_t *mask_out; /* written as the walk goes (elementwise plans only) */
    int nontemporal;
    size_t size;       /* bytes per element */
    const char *x;
    char *y;
} walk;

/* Keep bits of relative mask indices [m, m + count) into bits. */
static void walk_bits(const walk *w, uint64_t m, size_t count, uint8_t *bits)
{
    switch (w->source) {
    case SOURCE_DRAW: w->kernels->mask(&w->ms, w->op->first + m, count, bits); break;
    case SOURCE_MASK: bits_extract(w->mask_in, m, count, bits); break;
    default: bits_fill(bits, count, w->fill); break;
    }
}

/* Elements [e, e + n) from their keep bits (bit 0: element e). */
static void walk_apply(const walk *w, size_t e, size_t n, const uint8_t *bits)
{
    const int dt = w->op->dtype;
    if (w->op->kind == PIPELINE_AFFINE)
        w->kernels->affine[dt](n, &w->consts, bits, w->x + e * w->size, w->y + e * w->size);
    else
        w->kernels->apply[dt](n, &w->consts, bits, w->x + e * w->size, w->y + e * w->size,
                              w->nontemporal);
}

/* Elements [e, e + n) of the fused residual, with their keep bits. */
static void walk_residual(const walk *w, size_t e, size_t n, const uint8_t *bits)
{
    const pipeline_op *op = w->op;
    const size_t size = w->size, d = op->d;
    uint8_t shifted[PIPELINE_PIECE / 8];
    /* split at row ends: within a row the bias is contiguous */
    for (size_t k = 0; k < n;) {
        const size_t column = (e + k) % d;
        const size_t len = d - column < n - k ? d - column : n - k;
        const uint8_t *row_bits = bits + k / 8;
        if (k % 8) {
            bits_extract(bits, k, len, shifted);
            row_bits = shifted;
        }
        w->kernels->bias_residual[op->dtype](
            len, &w->consts, row_bits, w->x + (e + k) * size,
            (const char *)op->bias + column * size, (const char *)op->residual + (e + k) * size,
            w->y + (e + k) * size, w->nontemporal);
        k += len;
    }
}

/* y = x * noise for elements [e, e + n) with noise indices [m, m + n). */
static void walk_noise(const walk *w, size_t e, uint64_t m, size_t n)
{
    double noise[NOISE_PIECE];
    for (size_t k = 0; k < n; k += NOISE_PIECE) {
        const size_t piece = n - k < NOISE_PIECE ? n - k : NOISE_PIECE;
        gaussian_noise(&w->gs, w->op->first + m + k, piece, w->op->sigma, noise);
        w->kernels->noise[w->op->dtype](piece, noise, w->x + (e + k) * w->size,
                                        w->y + (e + k) * w->size);
    }
}

/* y = x * noise for n elements from e, one noise value for all. */
static void walk_noise_run(const walk *w, size_t e, size_t n, double value)
{
    double noise[64];
    for (size_t k = 0; k < 64; k++)
        noise[k] = value;
    for (size_t k = 0; k < n; k += 64) {
        const size_t piece = n - k < 64 ? n - k : 64;
        w->kernels->noise[w->op->dtype](piece, noise, w->x + (e + k) * w->size,
                                        w->y + (e + k) * w->size);
    }
}

/* Keep bits of the last piece, reused when the next piece has the same mask
 * indices (broadcast outer dimensions: every time step of time-locked
 * dropout shares one mask). */
typedef struct bits_cache {
    int valid;
    uint64_t m;
    size_t count;
    uint8_t bits[PIPELINE_PIECE / 8];
} bits_cache;

/* count <= PIPELINE_PIECE elements [e, e + count) with mask indices
 * [m, m + count) (rep == 1). */
static void walk_piece(const walk *w, size_t e, uint64_t m, size_t count, bits_cache *cache)
{
    if (w->op->kind == PIPELINE_NOISE) {
        walk_noise(w, e, m, count);
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
    if (w->op->kind == PIPELINE_RESIDUAL)
        walk_residual(w, e, count, cache->bits);
    else
        walk_apply(w, e, count, cache->bits);
}

/* rep == 1: elements [e, e + count) take mask indices [m, m + count). */
static void walk_elementwise(const walk *w, size_t e, uint64_t m, size_t count,
                             bits_cache *cache)
{
    for (size_t k = 0; k < count; k += PIPELINE_PIECE) {
        size_t piece = count - k < PIPELINE_PIECE ? count - k : PIPELINE_PIECE;
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
static void walk_runs(const walk *w, size_t seg_base, uint64_t m0, size_t begin, size_t end)
{
    const size_t rep = w->plan.rep;
    if (w->op->kind == PIPELINE_NOISE) { /* one noise value per run */
        double noise[NOISE_PIECE];
        size_t o = begin;
        while (o < end) {
            size_t j = o / rep, j_end = (end - 1) / rep + 1;
            if (j_end - j > NOISE_PIECE)
                j_end = j + NOISE_PIECE;
            gaussian_noise(&w->gs, w->op->first + m0 + j, j_end - j, w->op->sigma, noise);
            for (size_t jj = j; jj < j_end; jj++) {
                size_t run_end = (jj + 1) * rep < end ? (jj + 1) * rep : end;
                walk_noise_run(w, seg_base + o, run_end - o, noise[jj - j]);
                o = run_end;
            }
        }
        return;
    }
    /* slack: widen_whole_bytes may store up to 7 bytes past the piece */
    uint8_t mask_bits[PIPELINE_PIECE / 8], bits[PIPELINE_PIECE / 8 + 8];
    for (size_t o = begin; o < end; o += PIPELINE_PIECE) {
        size_t piece = end - o < PIPELINE_PIECE ? end - o : PIPELINE_PIECE;
        size_t j0 = o / rep, j1 = (o + piece - 1) / rep + 1; /* <= piece / 2 + 1 masks */
        walk_bits(w, m0 + j0, j1 - j0, mask_bits);
        if (rep % 8 == 0 && o % 8 == 0 && piece % 8 == 0 && o % rep == 0) {
            /* whole bytes per mask bit (channel runs of 8, 16, ...) */
            widen_whole_bytes(mask_bits, j1 - j0, rep / 8, bits, piece / 8);
            walk_apply(w, seg_base + o, piece, bits);
            continue;
        }
        memset(bits, 0, DROPOUT_MASK_BYTES(piece));
        for (size_t j = j0; j < j1; j++) {
            if (!bits_at(mask_bits, j - j0))
                continue;
            size_t run_begin = j * rep > o ? j * rep - o : 0;
            size_t run_end = (j + 1) * rep - o < piece ? (j + 1) * rep - o : piece;
            bits_set_range(bits, run_begin, run_end);
        }
        walk_apply(w, seg_base + o, piece, bits);
    }
}

/* Elementwise plans whose bits the table's fused kernels handle: the whole
 * run in one call.  Returns 0 for the rest. */
static int walk_direct(const walk *w, size_t begin, size_t end)
{
    const pipeline_op *op = w->op;
    const size_t n = end - begin; /* begin % 8 == 0: the mask starts at a byte */
    if (op->kind == PIPELINE_MASK) {
        w->kernels->mask(&w->ms, op->first + begin, n, w->mask_out + begin / 8);
        return 1;
    }
    if (op->kind != PIPELINE_SCALE || !plan_elementwise(&w->plan))
        return 0;
    if (w->source == SOURCE_DRAW) {
        w->kernels->forward[op->dtype](&w->ms, op->first + begin, n, &w->consts,
                                       w->x + begin * w->size, w->y + begin * w->size,
                                       w->mask_out ? w->mask_out + begin / 8 : NULL,
                                       w->nontemporal);
        return 1;
    }
    if (w->source == SOURCE_MASK) {
        walk_apply(w, begin, n, w->mask_in + begin / 8);
        return 1;
    }
    return 0;
}

static void walk_chunk(void *ctx, size_t begin, size_t end)
{
    const walk *w = ctx;
    if (walk_direct(w, begin, end))
        return;
    const plan *pl = &w->plan;
    const size_t seg_len = pl->seg_len;
    bits_cache cache;
    cache.valid = 0;
    size_t e = begin;
    if (pl->rep == 1 && pl->outer_ndim > 0) {
        /* whole segments piece by piece across segments, so a piece's bits
         * serve every segment with the same mask indices */
        if (e % seg_len) {
            size_t o = e % seg_len;
            size_t count = seg_len - o < end - e ? seg_len - o : end - e;
            walk_elementwise(w, e, plan_segment_mask(pl, e / seg_len) + o, count, &cache);
            e += count;
        }
        size_t full = (end - e) / seg_len;
        for (size_t o = 0; full > 0 && o < seg_len; o += PIPELINE_PIECE) {
            size_t piece = seg_len - o < PIPELINE_PIECE ? seg_len - o : PIPELINE_PIECE;
            for (size_t k = 0; k < full; k++) {
                size_t seg_start = e + k * seg_len;
                walk_piece(w, seg_start + o, plan_segment_mask(pl, seg_start / seg_len) + o,
                           piece, &cache);
            }
        }
        e += full * seg_len;
    }
    while (e < end) {
        size_t segment = e / seg_len, o = e % seg_len;
        size_t count = seg_len - o < end - e ? seg_len - o : end - e;
        uint64_t m0 = plan_segment_mask(pl, segment);
        if (pl->rep == 1)
            walk_elementwise(w, e, m0 + o, count, &cache);
        else
            walk_runs(w, e - o, m0, o, o + count);
        e += count;
    }
}

/* ---- the one path ------------------------------------------------------------ */

/* What the threads share: bytes per element, and Philox blocks (16 keep
 * bytes or 4 normals each) per element. */
static parallel_work walk_work(const walk *w)
{
    const pipeline_op *op = w->op;
    parallel_work work = {0.0, 0.0};
    const double per_mask = (double)w->plan.mask_elements / (double)w->plan.elements;
    switch (op->kind) {
    case PIPELINE_MASK: work.bytes = 0.125; break;
    case PIPELINE_RESIDUAL: work.bytes = 3.0 * (double)w->size; break;
    default: work.bytes = 2.0 * (double)w->size; break;
    }
    if (op->kind == PIPELINE_NOISE)
        work.blocks = per_mask / GAUSSIAN_BLOCK_ELEMENTS * PARALLEL_GAUSSIAN_BLOCK_COST;
    else if (w->source == SOURCE_DRAW)
        work.blocks = per_mask / MASK_BLOCK_ELEMENTS;
    if (w->mask_out || w->source == SOURCE_MASK)
        work.bytes += 0.125 * per_mask;
    return work;
}

void pipeline_run(const pipeline_op *op)
{
    plan pl;
    memset(&pl, 0, sizeof pl);
    plan_make(&pl, &op->shape);
    const size_t n = pl.elements, m = pl.mask_elements;
    const size_t size = pipeline_dtype_size(op->dtype);
    uint8_t *mask_out = op->train ? op->mask_out : NULL; /* evaluation writes no mask */

    walk w;
    memset(&w, 0, sizeof w);
    w.op = op;
    w.kernels = dropout_kernels_active();
    w.plan = pl;
    w.size = size;
    w.x = op->x;
    w.y = op->y;
    w.consts = kernels_consts(op->dtype, op->s, op->shift, op->dropped);
    w.ms = mask_stream_make(op->seed, op->stream, op->p);

    /* the identity: evaluation, or p == 0; the mask keeps everything */
    if (!op->train || op->p == 0.0) {
        if (op->kind == PIPELINE_RESIDUAL) { /* y = residual + (x + bias) * 1 */
            w.consts = kernels_consts(op->dtype, 1.0, 0.0, 0.0);
            w.source = SOURCE_FILL;
            w.fill = 0xFF;
            w.mask_out = mask_out;
            parallel_run(n, walk_work(&w), walk_chunk, &w);
            return;
        }
        if (mask_out)
            bits_fill(mask_out, m, 0xFF);
        if (op->kind != PIPELINE_MASK && op->y != op->x)
            memcpy(op->y, op->x, n * size);
        return;
    }

    /* where the keep bits come from: thresholds that draw nothing are fills */
    const uint64_t threshold = w.ms.threshold;
    if (threshold == 0) { /* drops everything, whatever a mask says */
        w.source = SOURCE_FILL;
        w.fill = 0x00;
    } else if (op->mask_in) {
        w.source = SOURCE_MASK;
        w.mask_in = op->mask_in;
    } else if (threshold == MASK_THRESHOLD_ALL) {
        w.source = SOURCE_FILL;
        w.fill = 0xFF;
    } else {
        w.source = SOURCE_DRAW;
    }
    if (op->kind == PIPELINE_MASK && w.source == SOURCE_FILL) {
        bits_fill(mask_out, m, w.fill);
        return;
    }
    if (mask_out && op->kind != PIPELINE_MASK) {
        if (plan_elementwise(&pl)) {
            w.mask_out = mask_out; /* written as the walk goes */
        } else {
            /* broadcast: each mask bit serves many elements, so write the
             * mask once (on every thread), then apply from it */
            if (w.source == SOURCE_FILL) {
                bits_fill(mask_out, m, w.fill);
            } else {
                pipeline_op mask_op = *op;
                mask_op.kind = PIPELINE_MASK;
                mask_op.shape.ndim = 1;
                mask_op.shape.dims[0] = m;
                mask_op.shape.broadcast = 0;
                pipeline_run(&mask_op);
            }
            w.source = SOURCE_MASK;
            w.mask_in = mask_out;
        }
    } else if (op->kind == PIPELINE_MASK) {
        w.mask_out = mask_out;
    }
    if (op->kind == PIPELINE_NOISE)
        w.gs = gaussian_stream_make(op->seed, op->stream);
    /* an output this big leaves the cache anyway: skip the read-for-ownership */
    w.nontemporal = op->kind != PIPELINE_MASK && n * size >= NONTEMPORAL_MIN_BYTES;
    parallel_run(n, walk_work(&w), walk_chunk, &w);
}
