/*
 * tile_filler.h — the elements a tile loop writes between Philox rounds
 * (included by avx2.c and avx512.c; see tile_loop.h for the loop).
 *
 * An ISA file defines, before including this:
 *   out_t      what a call writes (its `stream` and `head` fields are read here)
 *   keep_t     the element type of a finished tile's keep data
 *   FILL_ALIGN elements per vector store of the widest element loop (GROUP
 *              / parts a multiple of it)
 *   GROUP      elements per Philox group
 *   out_range_in(kind, plain, out, keep, len, done, k, end): tile elements
 *              [k, end) of the tile of len elements at element `done` of
 *              the call; plain (a constant): plain stores, k a multiple of
 *              FILL_ALIGN (out_range: the general case, plain = 0)
 */
#ifndef DROPOUT_KERNELS_TILE_FILLER_H
#define DROPOUT_KERNELS_TILE_FILLER_H

#include <stddef.h>

/* Elements [begin, end) of a finished tile, to be written in `parts` pieces
 * between the rounds of the next tile's Philox. */
typedef struct filler {
    const out_t *out;    /* NULL: nothing to write */
    const keep_t *keep;  /* the finished tile's keep data */
    size_t len, done, begin, end;
} filler;

/* Part i of `parts`: parts start at anchor + i * step, step a multiple of
 * FILL_ALIGN elements, anchor = begin, or the streaming head when begin is
 * 0 (so every part after the first starts on y's vector boundaries); part
 * 0 starts at begin itself. */
KERNELS_INLINE void fill_step(const filler *f, int kind, size_t i, size_t parts)
{
    if (f->out == NULL || f->begin >= f->end)
        return;
    if (!f->out->stream && f->begin % GROUP == 0 && f->end - f->begin == GROUP) {
        /* the common case, a whole group with plain stores: parts of
         * GROUP / parts elements, a constant, so out_range_in's loops are
         * compiled for exactly that, with no streaming or tail branches
         * (f32 forward in cache on Zen 4, p = 0.5: 3-6 % faster on both
         * ISAs; see docs/performance.md) */
        const size_t part = GROUP / parts, lo = f->begin + i * part;
        out_range_in(kind, 1, f->out, f->keep, f->len, f->done, lo, lo + part);
        return;
    }
    const size_t anchor = f->begin == 0 && f->out->stream && f->out->head < f->end ? f->out->head
                                                                                   : f->begin;
    const size_t step = ((f->end - anchor + parts - 1) / parts + FILL_ALIGN - 1) / FILL_ALIGN *
                        FILL_ALIGN;
    const size_t lo = i == 0 ? f->begin : anchor + i * step;
    const size_t hi = i + 1 == parts || anchor + (i + 1) * step > f->end ? f->end
                                                                         : anchor + (i + 1) * step;
    if (lo < hi)
        out_range(kind, f->out, f->keep, f->len, f->done, lo, hi);
}

#endif /* DROPOUT_KERNELS_TILE_FILLER_H */
