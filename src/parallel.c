/*
 * parallel.c — runs a call's chunks on threads (see parallel.h).
 *
 * This first version runs everything on the calling thread; the thread
 * count is recorded so the API is stable.
 */
#include "parallel.h"

#include "dropout.h"

static unsigned thread_setting = 0; /* 0: all cores */

int dropout_set_threads(unsigned threads)
{
    thread_setting = threads;
    return DROPOUT_OK;
}

unsigned dropout_threads(void)
{
    return thread_setting == 0 ? 1u : thread_setting;
}

void parallel_run(size_t n, parallel_chunk_fn fn, void *ctx)
{
    fn(ctx, 0, n);
}
