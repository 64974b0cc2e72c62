/* pool.c — a generation-counted team of pthreads: one mutex, two condition
 * variables, no work queue. */
#include "pool.h"

#include <pthread.h>
#include <stdlib.h>

#define POOL_MAX 64

static struct {
    pthread_mutex_t lock;
    pthread_cond_t start, done;
    pthread_t threads[POOL_MAX];
    int n;           /* team size including the caller */
    unsigned long generation;
    unsigned long base_generation; /* generation when the team was started */
    int pending;     /* workers still running the current job */
    int quit;
    pool_fn fn;
    void *ctx;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
          PTHREAD_COND_INITIALIZER, {0}, 1, 0, 0, 0, 0, NULL, NULL};

static void *worker(void *arg)
{
    int t = (int)(size_t)arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&pool.lock);
    /* Not pool.generation: a job may already have been posted before this
     * thread first got the lock, and it must not be missed. */
    seen = pool.base_generation;
    for (;;) {
        while (pool.generation == seen && !pool.quit)
            pthread_cond_wait(&pool.start, &pool.lock);
        if (pool.quit)
            break;
        seen = pool.generation;
        pool_fn fn = pool.fn;
        void *ctx = pool.ctx;
        int n = pool.n;
        pthread_mutex_unlock(&pool.lock);
        fn(ctx, t, n);
        pthread_mutex_lock(&pool.lock);
        if (--pool.pending == 0)
            pthread_cond_signal(&pool.done);
    }
    pthread_mutex_unlock(&pool.lock);
    return NULL;
}

static void pool_stop(void)
{
    pthread_mutex_lock(&pool.lock);
    pool.quit = 1;
    pthread_cond_broadcast(&pool.start);
    pthread_mutex_unlock(&pool.lock);
    for (int t = 1; t < pool.n; t++)
        pthread_join(pool.threads[t], NULL);
    pool.quit = 0;
    pool.n = 1;
}

int pool_set_threads(int n)
{
    if (n < 1 || n > POOL_MAX)
        return -1;
    if (n == pool.n)
        return 0;
    pool_stop();
    pthread_mutex_lock(&pool.lock);
    pool.base_generation = pool.generation;
    pool.n = 1;
    for (int t = 1; t < n; t++) {
        if (pthread_create(&pool.threads[t], NULL, worker, (void *)(size_t)t) != 0)
            break;
        pool.n = t + 1;
    }
    int ok = pool.n == n;
    pthread_mutex_unlock(&pool.lock);
    return ok ? 0 : -1;
}

int pool_threads(void) { return pool.n; }

void pool_run(pool_fn fn, void *ctx)
{
    if (pool.n == 1) {
        fn(ctx, 0, 1);
        return;
    }
    pthread_mutex_lock(&pool.lock);
    pool.fn = fn;
    pool.ctx = ctx;
    pool.pending = pool.n - 1;
    pool.generation++;
    pthread_cond_broadcast(&pool.start);
    pthread_mutex_unlock(&pool.lock);
    fn(ctx, 0, pool.n);
    pthread_mutex_lock(&pool.lock);
    while (pool.pending > 0)
        pthread_cond_wait(&pool.done, &pool.lock);
    pthread_mutex_unlock(&pool.lock);
}

void pool_split(size_t total, size_t align, int t, int n, size_t *begin,
                size_t *end)
{
    size_t units = (total + align - 1) / align;
    size_t b = units * (size_t)t / (size_t)n * align;
    size_t e = units * (size_t)(t + 1) / (size_t)n * align;
    *begin = b < total ? b : total;
    *end = e < total ? e : total;
}
