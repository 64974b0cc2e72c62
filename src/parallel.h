/*
 * parallel.h — a fixed split of one call's elements [0, n) over threads.
 *
 * Chunk starts are multiples of PARALLEL_ALIGN elements, so no packed mask
 * byte and no Philox block is shared by two threads.  Since the mask of an
 * element depends only on (seed, stream, index, p), results are bit-identical
 * for every thread count.
 */
#ifndef DROPOUT_PARALLEL_H
#define DROPOUT_PARALLEL_H

#include <stddef.h>

#define PARALLEL_ALIGN 128

/* Processes elements [begin, end) of the call; begin % PARALLEL_ALIGN == 0. */
typedef void (*parallel_chunk_fn)(void *ctx, size_t begin, size_t end);

/* Calls fn over [0, n) in chunks, on the calling thread alone for small n.
 * Returns when every chunk is done. */
void parallel_run(size_t n, parallel_chunk_fn fn, void *ctx);

#endif /* DROPOUT_PARALLEL_H */
