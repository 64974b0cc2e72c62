/*
 * tile_filler.h — the elements a tile loop writes between Philox rounds
 * (included by avx2.c and avx512.c; see tile_loop.h for the loop).
 *
 * An ISA file defines, before including this:
 *   out_t      what a call writes (its `stream` and `head` fields are read here)
 *   keep_t     the element type of a finished tile's keep data
 *   FILL_ALIGN elements per vector store of the widest element loop
 *   out_range(kind, out, keep, len, done, k, end): tile elements [k, end) of the
 *              tile of len elements at element `done` of the call
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
