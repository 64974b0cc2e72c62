/*
 * pool.h — a fixed team of threads for the demo's own parallel loops.
 *
 * pool_run(fn, ctx) calls fn(ctx, t, T) for t = 0..T-1 at once (t = 0 on the
 * caller) and returns when all are done.  Work is split by t alone, never by
 * timing, so results depend on the thread count but not on the schedule.
 */
#ifndef MNIST_POOL_H
#define MNIST_POOL_H

#include <stddef.h>

typedef void (*pool_fn)(void *ctx, int t, int nthreads);

/* Starts (or restarts) the team with n threads (n >= 1). */
int pool_set_threads(int n);
int pool_threads(void);
void pool_run(pool_fn fn, void *ctx);

/* [begin, end) of part t of n equal parts of [0, total), rounded to `align`. */
void pool_split(size_t total, size_t align, int t, int n, size_t *begin,
                size_t *end);

#endif
