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

/* The work of one element, which decides how many threads a call gets:
 * bytes read and written, and Philox blocks computed (1/16 per element
 * when keep bits are drawn).  Gaussian noise costs about
 * PARALLEL_GAUSSIAN_BLOCK_COST mask blocks per block of 4 normals. */
typedef struct parallel_work {
    double bytes;
    double blocks;
} parallel_work;
#define PARALLEL_GAUSSIAN_BLOCK_COST 40.0

/* How many threads a call of n elements of this work runs on (1: the
 * calling thread alone). */
unsigned parallel_threads_for(size_t n, parallel_work work);

/* Calls fn over [0, n) in chunks, on as many threads as the work pays for.
 * Returns when every chunk is done. */
void parallel_run(size_t n, parallel_work work, parallel_chunk_fn fn, void *ctx);

#endif /* DROPOUT_PARALLEL_H */
