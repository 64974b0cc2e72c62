/*
 * parallel.c — runs a call's chunks on a persistent pool of threads.
 *
 * The split: [0, n) is cut into `threads` chunks of equal size (at most
 * PARALLEL_MAX_CHUNKS), rounded up to PARALLEL_ALIGN elements.  Chunk 0 is
 * the calling thread's and chunk c worker c - 1's, so repeated calls keep
 * each chunk's data in one core's cache; but a chunk goes to whoever claims
 * it first (one atomic word per job: the job's generation and a claimed bit
 * per chunk), and a thread that has finished its own claims the others.  So
 * a worker that is late (descheduled: a virtual machine's other vCPU is
 * often busy elsewhere) never makes the caller wait for work it could do
 * itself, and all threads are never much slower than one.  Because an
 * element's mask depends only on its index, any split gives the same bits,
 * and so does running everything on the caller, which is what happens when
 *   - the work is too small to pay for a hand-off (parallel_threads_for),
 *   - the thread count is 1,
 *   - another caller thread is using the pool right now (the pool serves one
 *     call at a time; callers never wait for each other, so calls from a
 *     caller's own thread pool run each on their own thread, in parallel).
 *
 * The pool is created lazily by the first large call and grows when the
 * thread count grows; workers are joined at exit (a destructor), so leak
 * checkers stay quiet.  Between calls a worker first spins for up to
 * PARALLEL_SPIN_NS, watching for the next job, and only then sleeps on a
 * condition variable, as OpenMP runtimes do: waking a sleeping thread costs
 * tens to hundreds of microseconds on a virtual machine (measured: a 2^20
 * forward on 2 threads called every 50 us took 581 us with sleeping workers,
 * more than on 1 thread, 439 us), while calls from a training loop or from
 * Python come a few tens of microseconds apart.  The caller waits for the
 * workers the same way.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "parallel.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "dropout.h"
#include "fpenv.h"

/* The cost model of the split (parallel_threads_for): a chunk handed to a
 * worker must carry at least PARALLEL_MIN_CHUNK_NS of work, or the hand-off
 * (a worker noticing the job, the caller noticing it is done, the chunk's
 * data moving to that core's cache) costs more than it saves.  Work is
 * estimated from the bytes an element moves and the Philox blocks it
 * needs, at one core's in-cache speed with the SIMD kernels: calibrated on
 * the measurements in docs/performance.md ("Threads"). */
#define PARALLEL_NS_PER_BYTE 0.016
#define PARALLEL_NS_PER_BLOCK 1.6
#ifndef PARALLEL_MIN_CHUNK_NS /* (overridable for experiments) */
#define PARALLEL_MIN_CHUNK_NS 20000.0
#endif
#define PARALLEL_MAX_THREADS 256
/* Chunks per call: one claimed bit each in a 64-bit word that also holds
 * the job's generation (PARALLEL_MAX_CHUNKS threads take part at most). */
#define PARALLEL_MAX_CHUNKS 32
/* How long a worker watches for the next job before it sleeps, and the
 * caller for the workers to finish before it sleeps. */
#define PARALLEL_SPIN_NS 200000L

/* ---- the thread count ------------------------------------------------------ */

static atomic_uint thread_setting; /* 0: all cores */
static pthread_once_t setting_once = PTHREAD_ONCE_INIT;

/* Counted once: glibc's sysconf reads /sys (open, read, close) on every
 * call, which would cost every dropout call a few microseconds. */
static unsigned online_cores(void)
{
    static atomic_uint counted; /* 0: not yet; any thread may count */
    unsigned cores = atomic_load_explicit(&counted, memory_order_relaxed);
    if (cores == 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        cores = online < 1 ? 1 : online > PARALLEL_MAX_THREADS ? PARALLEL_MAX_THREADS
                                                              : (unsigned)online;
        atomic_store_explicit(&counted, cores, memory_order_relaxed);
    }
    return cores;
}

/* DROPOUT_THREADS: a count from 1 to PARALLEL_MAX_THREADS, or 0 for all
 * cores; anything else is ignored (all cores). */
static void read_environment(void)
{
    const char *text = getenv("DROPOUT_THREADS");
    unsigned value = 0;
    if (text != NULL && text[0] != '\0') {
        char *end;
        unsigned long parsed = strtoul(text, &end, 10);
        if (*end == '\0' && text[0] >= '0' && text[0] <= '9' && parsed <= PARALLEL_MAX_THREADS)
            value = (unsigned)parsed;
    }
    atomic_store(&thread_setting, value);
}

int dropout_set_threads(unsigned threads)
{
    if (threads > PARALLEL_MAX_THREADS)
        return DROPOUT_ERROR_INVALID_ARGUMENT;
    pthread_once(&setting_once, read_environment); /* the environment never overrides later */
    atomic_store(&thread_setting, threads);
    return DROPOUT_OK;
}

unsigned dropout_threads(void)
{
    pthread_once(&setting_once, read_environment);
    unsigned threads = atomic_load(&thread_setting);
    return threads == 0 ? online_cores() : threads;
}

/* ---- the pool -------------------------------------------------------------- */

typedef struct pool {
    pthread_mutex_t busy;        /* held by the one caller using the pool    */
    pthread_mutex_t lock;        /* guards everything below                  */
    pthread_cond_t wake;         /* workers: a new job or shutdown           */
    pthread_cond_t done;         /* caller: the last worker finished         */
    pthread_t workers[PARALLEL_MAX_THREADS];
    unsigned started;            /* workers created                          */
    atomic_ulong generation;     /* bumped for every job (read unlocked while spinning) */
    unsigned long born[PARALLEL_MAX_THREADS]; /* generation when worker was created */
    _Atomic uint64_t claims;     /* job generation << 32 | claimed chunk bits */
    atomic_uint finished;        /* chunks of the current job done           */
    atomic_int shutdown;
    /* the job */
    parallel_chunk_fn fn;
    void *ctx;
    size_t n, chunk;
    unsigned chunks;             /* chunk 0 the caller's, chunk c worker c - 1's */
} pool;

static pool the_pool = {
    .busy = PTHREAD_MUTEX_INITIALIZER,
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
    .done = PTHREAD_COND_INITIALIZER,
};

/* A wait loop's clock: spin_more() takes one step (a pause for the first
 * steps, then sched_yield: when every core is busy, a caller's own thread
 * pool or another process, a waiting thread then hands its core to whoever
 * can use it instead of burning it; when a core is idle, the yield returns
 * at once) and says whether PARALLEL_SPIN_NS have not passed yet.  After
 * the spin the waiter checks again under the lock and sleeps if need be. */
typedef struct spin {
    struct timespec start;
    unsigned steps;
} spin;

static spin spin_start(void)
{
    spin sp = {.steps = 0};
    clock_gettime(CLOCK_MONOTONIC, &sp.start);
    return sp;
}

static int spin_more(spin *sp)
{
    if (sp->steps++ < 64) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        __asm__ __volatile__("yield");
#endif
        return 1;
    }
    sched_yield();
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - sp->start.tv_sec) * 1000000000L + (now.tv_nsec - sp->start.tv_nsec) <=
           PARALLEL_SPIN_NS;
}

/* Chunk c of the job: [c * chunk, min(n, (c + 1) * chunk)), maybe empty. */
static void run_chunk(parallel_chunk_fn fn, void *ctx, size_t n, size_t chunk, size_t c)
{
    size_t begin = c * chunk;
    if (begin >= n)
        return;
    size_t end = n - begin < chunk ? n : begin + chunk;
    fn(ctx, begin, end);
}

/* Claims chunk c of the job of generation `gen` (low 32 bits); fails if
 * another thread has it or that job is over (a new generation). */
static int claim(pool *p, uint32_t gen, unsigned c)
{
    const uint64_t bit = (uint64_t)1 << c;
    uint64_t v = atomic_load_explicit(&p->claims, memory_order_acquire);
    while ((uint32_t)(v >> 32) == gen && !(v & bit))
        if (atomic_compare_exchange_weak_explicit(&p->claims, &v, v | bit, memory_order_acq_rel,
                                                  memory_order_acquire))
            return 1;
    return 0;
}

/* Runs chunk `own` if nobody has, then every other unclaimed chunk; counts
 * each one finished and wakes the caller after the last. */
static void take_chunks(pool *p, uint32_t gen, parallel_chunk_fn fn, void *ctx, size_t n,
                        size_t chunk, unsigned chunks, unsigned own)
{
    for (unsigned k = 0; k < chunks; k++) {
        const unsigned c = (own + k) % chunks;
        if (!claim(p, gen, c))
            continue;
        run_chunk(fn, ctx, n, chunk, c);
        if (atomic_fetch_add_explicit(&p->finished, 1, memory_order_acq_rel) + 1 == chunks) {
            pthread_mutex_lock(&p->lock);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->lock);
        }
    }
}

static void *worker_main(void *arg)
{
    pool *p = &the_pool;
    const size_t id = (size_t)(uintptr_t)arg; /* this worker runs chunk id + 1 */
    pthread_mutex_lock(&p->lock);
    /* Created just before the job that needs it was posted: that job is the
     * first generation this worker has not seen. */
    unsigned long seen = p->born[id];
    for (;;) {
        if (!p->shutdown && p->generation == seen) { /* spin, unlocked, before sleeping */
            pthread_mutex_unlock(&p->lock);
            for (spin sp = spin_start();
                 atomic_load_explicit(&p->generation, memory_order_acquire) == seen &&
                 !atomic_load_explicit(&p->shutdown, memory_order_relaxed) && spin_more(&sp);)
                ;
            pthread_mutex_lock(&p->lock);
        }
        while (!p->shutdown && p->generation == seen)
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->shutdown)
            break;
        seen = p->generation;
        if (id + 1 >= p->chunks) /* no chunk of its own in this job */
            continue;
        parallel_chunk_fn fn = p->fn;
        void *ctx = p->ctx;
        size_t n = p->n, chunk = p->chunk;
        unsigned chunks = p->chunks;
        const uint32_t gen = (uint32_t)seen;
        pthread_mutex_unlock(&p->lock);
        fpenv_default(); /* the call's mode, whatever this thread had (fpenv.h) */
        take_chunks(p, gen, fn, ctx, n, chunk, chunks, (unsigned)id + 1);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* A child of fork() has none of the parent's workers: start from scratch. */
static void pool_forget_after_fork(void)
{
    pool *p = &the_pool;
    pthread_mutex_init(&p->busy, NULL);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    p->started = 0;
    p->chunks = 0;
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, pool_forget_after_fork);
}

/* Makes sure `wanted` workers exist; returns how many do (thread creation
 * can fail: the call then uses fewer threads, with the same result). */
static unsigned ensure_workers(pool *p, unsigned wanted)
{
    pthread_once(&atfork_once, register_atfork);
    while (p->started < wanted) {
        p->born[p->started] = p->generation;
        if (pthread_create(&p->workers[p->started], NULL, worker_main,
                           (void *)(uintptr_t)p->started) != 0)
            break;
        p->started++;
    }
    return p->started < wanted ? p->started : wanted;
}

__attribute__((destructor)) static void pool_shutdown(void)
{
    pool *p = &the_pool;
    if (pthread_mutex_trylock(&p->busy) != 0)
        return; /* a call is running (exit from another thread): leave it be */
    pthread_mutex_lock(&p->lock);
    p->shutdown = 1;
    pthread_cond_broadcast(&p->wake);
    unsigned started = p->started;
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < started; i++)
        pthread_join(p->workers[i], NULL);
    p->started = 0;
    pthread_mutex_unlock(&p->busy);
}

unsigned parallel_threads_for(size_t n, parallel_work work)
{
    const unsigned threads = dropout_threads();
    const double ns = (double)n * (work.bytes * PARALLEL_NS_PER_BYTE +
                                   work.blocks * PARALLEL_NS_PER_BLOCK);
    const double chunks = ns / PARALLEL_MIN_CHUNK_NS;
    if (!(chunks >= 2.0)) /* (false for NaN) */
        return 1;
    return chunks >= (double)threads ? threads : (unsigned)chunks;
}

void parallel_run(size_t n, parallel_work work, parallel_chunk_fn fn, void *ctx)
{
    const unsigned threads = parallel_threads_for(n, work);
    if (threads <= 1) {
        fn(ctx, 0, n);
        return;
    }
    pool *p = &the_pool;
    if (pthread_mutex_trylock(&p->busy) != 0) { /* another caller has it */
        fn(ctx, 0, n);
        return;
    }
    pthread_mutex_lock(&p->lock);
    const unsigned wanted = threads < PARALLEL_MAX_CHUNKS ? threads : PARALLEL_MAX_CHUNKS;
    unsigned workers = p->shutdown ? 0 : ensure_workers(p, wanted - 1);
    /* chunk = ceil(n / chunks) rounded up to PARALLEL_ALIGN */
    const unsigned chunks = workers + 1;
    size_t chunk = (n + chunks - 1) / chunks;
    chunk = (chunk + PARALLEL_ALIGN - 1) / PARALLEL_ALIGN * PARALLEL_ALIGN;
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->chunk = chunk;
    p->chunks = chunks;
    p->generation++;
    const uint32_t gen = (uint32_t)p->generation;
    atomic_store_explicit(&p->finished, 0, memory_order_relaxed);
    atomic_store_explicit(&p->claims, (uint64_t)gen << 32, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);

    take_chunks(p, gen, fn, ctx, n, chunk, chunks, 0);

    for (spin sp = spin_start();
         atomic_load_explicit(&p->finished, memory_order_acquire) != chunks && spin_more(&sp);)
        ;
    pthread_mutex_lock(&p->lock);
    while (atomic_load_explicit(&p->finished, memory_order_acquire) != chunks)
        pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_unlock(&p->busy);
}
