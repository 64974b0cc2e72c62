/*
 * bench.c — `dropout bench`: how close each operation runs to the speed of
 * memory, measured against the roofline y = s * x in the same run.
 *
 * Dropout reads x and writes y; no implementation can beat a plain loop
 * y[i] = s * x[i] over the same buffers on the same threads, so that loop is
 * the yardstick.  For every size n, p, thread count, dtype and operation
 * (forward, backward_mask, backward_regen, mask) this prints the median, min
 * and max ns per element over --repeats samples, GB/s, the roofline's median
 * ns per element, and their ratio.  Buffers are allocated once per size,
 * touched before timing, and every measurement is preceded by a warm-up call.
 * A sample repeats the call until it covers at least 2^20 elements, so the
 * clock's resolution does not matter at small n.
 *
 * The roofline at T threads is the faster of the loop on the calling thread
 * and the loop split over T threads (a small pool of this file's own): the
 * best way to move the bytes with up to T threads, so a slow roofline cannot
 * flatter the ratio.  Its samples are taken in turn with the operation's
 * (op, roofline, op, roofline, ...), so that the ups and downs of a shared
 * machine fall on both; before each sample the other side's threads are
 * given time to stop spinning, and an untimed call warms the target up.  `mask` writes only bits; its ratio is informative.
 *
 * Only the public header is used: this is what a user of the library sees.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, posix_memalign */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dropout.h"

#include "args.h"
#include "bench_family.h"
#include "bench_limits.h"
#include "commands.h"
#include "device.h"

#define MIN_ELEMENTS_PER_SAMPLE ((size_t)1 << 20)
#define MAX_THREADS 256

static const char *const op_names[] = {"forward", "backward_mask", "backward_regen", "mask", NULL};
enum { OP_FORWARD, OP_BACKWARD_MASK, OP_BACKWARD_REGEN, OP_MASK, OP_COUNT, OP_ALL = OP_COUNT };
static const char *const op_choices[] = {"forward", "backward_mask", "backward_regen", "mask", "all",
                                         NULL};
static const char *const dtype_choices[] = {"f32", "f64", "bf16", "f16", "both", "all", NULL};

/* ---- the roofline: y = s * x on the calling thread plus a small pool ------ */

/* What a yardstick computes (bench_limits.c). */
enum { ROOF_PLAIN, ROOF_STREAMING, ROOF_PHILOX };

typedef struct roof_job {
    int kind;      /* ROOF_*                                              */
    int f64;       /* the plain/streaming loops: double (else float)      */
    size_t n;      /* elements of the loop (ROOF_PHILOX: mask elements)   */
    const void *x;
    void *y;
    double s;
    bench_philox_args philox;
} roof_job;

static atomic_ullong philox_sink; /* the Philox loop's counts: nothing is optimized away */

/* A barrier whose waiters spin for up to 200 us before they sleep, as the
 * library's own pool does between calls (docs/performance.md): with plain
 * pthread barriers a wake-up on a virtual machine costs more than a small
 * roofline call, and the roofline would look slower than it can be. */
typedef struct spin_barrier {
    unsigned count;
    atomic_uint arrived;
    atomic_uint phase;
    pthread_mutex_t lock;
    pthread_cond_t wake;
} spin_barrier;

static int spin_barrier_init(spin_barrier *b, unsigned count)
{
    b->count = count;
    atomic_init(&b->arrived, 0);
    atomic_init(&b->phase, 0);
    if (pthread_mutex_init(&b->lock, NULL) != 0)
        return -1;
    return pthread_cond_init(&b->wake, NULL) != 0 ? -1 : 0;
}

static void spin_barrier_destroy(spin_barrier *b)
{
    pthread_mutex_destroy(&b->lock);
    pthread_cond_destroy(&b->wake);
}

static void spin_barrier_wait(spin_barrier *b)
{
    unsigned phase = atomic_load(&b->phase);
    if (atomic_fetch_add(&b->arrived, 1) + 1 == b->count) {
        atomic_store(&b->arrived, 0);
        pthread_mutex_lock(&b->lock);
        atomic_fetch_add(&b->phase, 1);
        pthread_cond_broadcast(&b->wake);
        pthread_mutex_unlock(&b->lock);
        return;
    }
    double start = bench_now_ns();
    for (unsigned i = 0; atomic_load(&b->phase) == phase; i++) {
        if (i >= 64) { /* then yield, as the library's pool does */
            sched_yield();
            if (bench_now_ns() - start > 200e3)
                break;
        }
    }
    pthread_mutex_lock(&b->lock);
    while (atomic_load(&b->phase) == phase)
        pthread_cond_wait(&b->wake, &b->lock);
    pthread_mutex_unlock(&b->lock);
}

typedef struct roof_pool {
    unsigned threads; /* including the caller */
    pthread_t workers[MAX_THREADS];
    spin_barrier start, finish;
    roof_job job;
    int quit;
} roof_pool;

/* Chunk c of `parts`, aligned to 64 elements like the library's split
 * (so also to Philox's 16-element blocks). */
static void roof_chunk(const roof_job *job, unsigned c, unsigned parts)
{
    size_t chunk = (job->n + parts - 1) / parts;
    chunk = (chunk + 63) / 64 * 64;
    size_t begin = (size_t)c * chunk;
    if (begin >= job->n)
        return;
    size_t end = job->n - begin < chunk ? job->n : begin + chunk;
    const size_t elem = job->f64 ? 8 : 4;
    const char *x = (const char *)job->x + begin * elem;
    char *y = (char *)job->y + begin * elem;
    switch (job->kind) {
    case ROOF_PLAIN: bench_scale(job->philox.level, job->f64, end - begin, job->s, x, y); break;
    case ROOF_STREAMING:
        bench_scale_streaming(job->philox.level, job->f64, end - begin, job->s, x, y);
        break;
    default:
        atomic_fetch_add_explicit(&philox_sink, bench_philox(&job->philox, begin, end - begin),
                                  memory_order_relaxed);
        break;
    }
}

typedef struct roof_worker_arg {
    roof_pool *pool;
    unsigned index;
} roof_worker_arg;

static roof_worker_arg roof_args[MAX_THREADS];

static void *roof_worker(void *arg)
{
    roof_worker_arg *a = arg;
    for (;;) {
        spin_barrier_wait(&a->pool->start);
        if (a->pool->quit)
            return NULL;
        roof_chunk(&a->pool->job, a->index, a->pool->threads);
        spin_barrier_wait(&a->pool->finish);
    }
}

static int roof_pool_start(roof_pool *pool, unsigned threads)
{
    pool->threads = threads;
    pool->quit = 0;
    if (threads <= 1)
        return 0;
    if (spin_barrier_init(&pool->start, threads) != 0 ||
        spin_barrier_init(&pool->finish, threads) != 0)
        return -1;
    for (unsigned i = 1; i < threads; i++) {
        roof_args[i] = (roof_worker_arg){pool, i};
        if (pthread_create(&pool->workers[i], NULL, roof_worker, &roof_args[i]) != 0)
            return -1; /* the caller exits: no cleanup needed */
    }
    return 0;
}

static void roof_pool_stop(roof_pool *pool)
{
    if (pool->threads <= 1)
        return;
    pool->quit = 1;
    spin_barrier_wait(&pool->start);
    for (unsigned i = 1; i < pool->threads; i++)
        pthread_join(pool->workers[i], NULL);
    spin_barrier_destroy(&pool->start);
    spin_barrier_destroy(&pool->finish);
}

static void roof_run(roof_pool *pool, const roof_job *job, int parallel)
{
    if (!parallel || pool->threads <= 1) {
        roof_chunk(job, 0, 1);
        return;
    }
    pool->job = *job;
    spin_barrier_wait(&pool->start);
    roof_chunk(job, 0, pool->threads);
    spin_barrier_wait(&pool->finish);
}

/* ---- one measurement ------------------------------------------------------- */

enum { DT_F32, DT_F64, DT_BF16, DT_F16, DT_COUNT };
static const char *const dtype_names[] = {"f32", "f64", "bf16", "f16"};
static const size_t dtype_bytes[] = {4, 8, 2, 2};

typedef struct buffers {
    size_t n;
    int dtype; /* DT_* */
    void *x, *y;
    uint8_t *mask;
} buffers;

typedef struct stats {
    double median, min, max; /* ns per element */
} stats;

/* What one sample calls: an operation, or a yardstick (bench_limits.c) on
 * the calling thread alone or split over the roofline's pool. */
typedef struct target {
    int op;       /* OP_*, or -1: the yardstick `kind` */
    int kind;     /* ROOF_* */
    int parallel; /* the yardstick on the pool's threads */
    roof_pool *pool;
    const dropout_params *params;
    const buffers *b;
} target;

static int call_op(int op, const dropout_params *pr, const buffers *b)
{
    const size_t mb = dropout_mask_bytes(b->n), n = b->n;
    switch (op) {
    case OP_FORWARD:
        switch (b->dtype) {
        case DT_F32: return dropout_forward_f32(pr, b->y, b->x, n, NULL, 0);
        case DT_F64: return dropout_forward_f64(pr, b->y, b->x, n, NULL, 0);
        case DT_BF16: return dropout_forward_bf16(pr, b->y, b->x, n, NULL, 0);
        default: return dropout_forward_f16(pr, b->y, b->x, n, NULL, 0);
        }
    case OP_BACKWARD_MASK:
        switch (b->dtype) {
        case DT_F32: return dropout_backward_mask_f32(pr, b->y, b->x, n, b->mask, mb);
        case DT_F64: return dropout_backward_mask_f64(pr, b->y, b->x, n, b->mask, mb);
        case DT_BF16: return dropout_backward_mask_bf16(pr, b->y, b->x, n, b->mask, mb);
        default: return dropout_backward_mask_f16(pr, b->y, b->x, n, b->mask, mb);
        }
    case OP_BACKWARD_REGEN:
        switch (b->dtype) {
        case DT_F32: return dropout_backward_regen_f32(pr, b->y, b->x, n);
        case DT_F64: return dropout_backward_regen_f64(pr, b->y, b->x, n);
        case DT_BF16: return dropout_backward_regen_bf16(pr, b->y, b->x, n);
        default: return dropout_backward_regen_f16(pr, b->y, b->x, n);
        }
    default:
        return dropout_mask(pr, n, b->mask, mb);
    }
}

static int call_once(const target *t)
{
    const buffers *b = t->b;
    if (t->op >= 0)
        return call_op(t->op, t->params, b);
    /* The memory loops move the operation's bytes: bf16/f16 as floats over
     * half as many elements (a kept bf16 is a float multiply too, and the
     * bytes are what the roofline is about). */
    roof_job job = {.kind = t->kind, .f64 = b->dtype == DT_F64, .n = b->n, .x = b->x, .y = b->y,
                    .s = 1.0 / (1.0 - t->params->p)};
    if (dtype_bytes[b->dtype] == 2 && t->kind != ROOF_PHILOX)
        job.n = (b->n + 1) / 2;
    const uint64_t threshold = dropout_keep_threshold(t->params->p);
    job.philox = (bench_philox_args){.seed = t->params->seed, .stream = t->params->stream,
                                     .t0 = (uint32_t)(threshold >> 24),
                                     .level = bench_philox_level(dropout_isa())};
    roof_run(t->pool, &job, t->parallel);
    return DROPOUT_OK;
}

/* One sample: ns per element of enough calls of t to take a measurable time. */
static int sample(const target *t, double *ns_per_element)
{
    const size_t n = t->b->n;
    const size_t calls = n >= MIN_ELEMENTS_PER_SAMPLE ? 1 : (MIN_ELEMENTS_PER_SAMPLE + n - 1) / n;
    int status = DROPOUT_OK;
    double start = bench_now_ns();
    for (size_t c = 0; c < calls && status == DROPOUT_OK; c++)
        status = call_once(t);
    *ns_per_element = (bench_now_ns() - start) / ((double)calls * (double)n);
    return status;
}

static void stats_of(double *samples, unsigned count, stats *out)
{
    qsort(samples, count, sizeof samples[0], bench_compare_doubles);
    out->min = samples[0];
    out->max = samples[count - 1];
    out->median = count % 2 ? samples[count / 2]
                            : 0.5 * (samples[count / 2 - 1] + samples[count / 2]);
}

/* Lets the threads of the last target (the library's pool or the
 * roofline's) finish spinning and go to sleep (both spin 200 us), so that
 * they do not compete for the cores with the next target. */
static void settle(void)
{
    struct timespec pause = {0, 400000};
    nanosleep(&pause, NULL);
}

#define MAX_YARDSTICKS 6

/* `repeats` samples of t and of each yardstick in sticks[], taken in turn
 * (t, stick 0, stick 1, ..., t, stick 0, ...) so that a change in the
 * machine's speed falls on the operation and on its yardsticks alike; each
 * sample after a settle() and an untimed call.  *roof gets the stats of the
 * fastest memory loop (plain or streaming, one thread or all; by median),
 * *philox those of the faster Philox loop. */
static int measure_against(const target *t, const target *sticks, size_t stick_count,
                           unsigned repeats, stats *out, stats *roof, stats *philox)
{
    double samples[64], stick_samples[MAX_YARDSTICKS][64];
    int status = DROPOUT_OK;
    for (unsigned r = 0; r < repeats && status == DROPOUT_OK; r++) {
        settle();
        status = call_once(t);
        if (status == DROPOUT_OK)
            status = sample(t, &samples[r]);
        for (size_t v = 0; v < stick_count && status == DROPOUT_OK; v++) {
            settle();
            call_once(&sticks[v]);
            status = sample(&sticks[v], &stick_samples[v][r]);
        }
    }
    if (status != DROPOUT_OK)
        return status;
    stats_of(samples, repeats, out);
    int have_roof = 0, have_philox = 0;
    for (size_t v = 0; v < stick_count; v++) {
        stats st;
        stats_of(stick_samples[v], repeats, &st);
        if (sticks[v].kind == ROOF_PHILOX) {
            if (!have_philox++ || st.median < philox->median)
                *philox = st;
        } else if (!have_roof++ || st.median < roof->median) {
            *roof = st;
        }
    }
    return DROPOUT_OK;
}

/* Bytes an operation moves per element (for GB/s). */
static double bytes_per_element(int op, int dtype)
{
    double elem = (double)dtype_bytes[dtype];
    switch (op) {
    case OP_FORWARD:
    case OP_BACKWARD_REGEN: return 2 * elem;
    case OP_BACKWARD_MASK: return 2 * elem + 0.125;
    default: return 0.125;
    }
}

static void *alloc_touched(size_t bytes, unsigned char fill)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 1) != 0)
        return NULL;
    memset(p, fill, bytes); /* page the buffer in before any timing */
    return p;
}

static int buffers_alloc(buffers *b, size_t n, int dtype)
{
    /* + 1 element: the half-precision roofline rounds n / 2 floats up */
    const size_t bytes = (n + 1) * dtype_bytes[dtype];
    b->n = n;
    b->dtype = dtype;
    b->x = alloc_touched(bytes, 0);
    b->y = alloc_touched(bytes, 0);
    b->mask = alloc_touched(dropout_mask_bytes(n), 0);
    if (!b->x || !b->y || !b->mask)
        return -1;
    for (size_t i = 0; i < n; i++) {
        double v = (double)(i % 1000) * 0.001 - 0.5;
        switch (dtype) {
        case DT_F32: ((float *)b->x)[i] = (float)v; break;
        case DT_F64: ((double *)b->x)[i] = v; break;
        case DT_BF16: ((uint16_t *)b->x)[i] = dropout_bf16_from_f32((float)v); break;
        default: ((uint16_t *)b->x)[i] = dropout_f16_from_f32((float)v); break;
        }
    }
    return 0;
}

static void buffers_free(buffers *b)
{
    free(b->x);
    free(b->y);
    free(b->mask);
}

static void print_help(const cli_option *options, size_t count)
{
    printf("usage: dropout bench [options]\n"
           "\n"
           "Times forward, backward_mask, backward_regen and mask against the two limits,\n"
           "in the same run, on the same elements and threads: the memory roofline\n"
           "y = s * x (the faster of plain and streaming stores) and a loop that only\n"
           "generates the mask's random bytes with Philox.  ratio = ns per element over the\n"
           "larger (slower) of the two: 1.0 = at the limit.  Defaults: n = 2^12, 2^14, ...,\n"
           "2^26, p = 0.1 and 0.5, 1 thread and all threads, f32 and f64.\n"
           "\n");
    cli_print_options(stdout, options, count);
    printf("\n--json prints one object per line: op, dtype, isa, n, p, threads,\n"
           "ns_per_elem (median), ns_per_elem_min, ns_per_elem_max, gb_per_s,\n"
           "roofline_ns_per_elem, philox_ns_per_elem, ratio (= ns_per_elem /\n"
           "max(roofline_ns_per_elem, philox_ns_per_elem)), limit (\"memory\" or \"philox\":\n"
           "the larger).\n");
}

/* `--device D`: the device's own bench, default sizes 2^16 ... 2^24. */
static int bench_device(const cli_device_choice *choice, cli_u64_list *sizes, double p,
                        unsigned repeats, int json)
{
    cli_device device;
    if (sizes->count == 0)
        for (unsigned e = 16; e <= 24; e += 4)
            sizes->values[sizes->count++] = (uint64_t)1 << e;
    for (size_t i = 0; i < sizes->count; i++)
        if (sizes->values[i] < 1 || sizes->values[i] > ((uint64_t)1 << 30))
            return cli_error("bench", "--sizes: %llu is not in 1 ... 2^30",
                             (unsigned long long)sizes->values[i]);
    if (cli_device_open(&device, "bench", choice) != 0)
        return 1;
    int rc = device.ops->bench
                 ? device.ops->bench(device.state, sizes->values, sizes->count, p, repeats, json)
                 : cli_error("bench", "--device %s has no bench", device.ops->name);
    cli_device_close(&device);
    return rc;
}

int cli_bench(int argc, char **argv)
{
    static const char *const isa_choices[] = {"scalar", "avx2", "avx512", "neon", "auto", NULL};
    cli_u64_list sizes = {0};
    uint64_t repeats = 9, threads_opt = 0;
    int json = 0, op_choice = OP_ALL, dtype_choice = 4, isa_choice = -1, threads_given;
    int family = 0;
    double p_value = 0.1;
    cli_device_choice choice = {0, 0};
    cli_option options[] = {
        CLI_OPTION("--sizes", CLI_U64_LIST, &sizes, "N,N,...",
                   "element counts (default 4096,16384,...,67108864)", 0),
        CLI_OPTION("--p", CLI_PROB, &p_value, "P", "one drop probability (default 0.1 and 0.5)", 0),
        CLI_OPTION("--threads", CLI_U64, &threads_opt, "T",
                   "one thread count (default 1 and all cores)", 0),
        CLI_OPTION("--repeats", CLI_U64, &repeats, "R", "samples per measurement, 1-64 (default 9)",
                   0),
        CLI_OPTION_CHOICE("--op", &op_choice, op_choices, "OP", "one operation (default all)"),
        CLI_OPTION_CHOICE("--dtype", &dtype_choice, dtype_choices, "D",
                          "f32, f64, bf16, f16, both (f32 and f64, the default) or all"),
        CLI_OPTION_CHOICE("--isa", &isa_choice, isa_choices, "ISA",
                          "force a variant, like DROPOUT_ISA (default: as chosen)"),
        CLI_OPTION("--json", CLI_FLAG, &json, NULL, "one JSON object per line", 0),
        CLI_OPTION("--family", CLI_FLAG, &family, NULL,
                   "the dropout family's ratios instead (broadcast/elementwise, fused/unfused, "
                   "bf16 and f16 GB/s / f32): n = the largest --sizes (default 2^24)", 0),
        CLI_DEVICE_OPTIONS(&choice), /* a device's own bench (device.h) */
    };
    int rc = cli_parse("bench", argc, argv, options, CLI_COUNT(options));
    if (rc == CLI_HELP) {
        print_help(options, CLI_COUNT(options));
        return 0;
    }
    if (rc != CLI_PARSED)
        return 1;
    threads_given = options[2].seen;

    if (options[6].seen && dropout_set_isa(isa_choices[isa_choice]) != DROPOUT_OK)
        return cli_error("bench", "--isa %s: %s", isa_choices[isa_choice],
                         dropout_status_string(DROPOUT_ERROR_UNSUPPORTED_ISA));
    if (repeats < 1 || repeats > 64)
        return cli_error("bench", "--repeats must be 1 to 64, got %llu", (unsigned long long)repeats);
    if (threads_given && (threads_opt < 1 || threads_opt > MAX_THREADS))
        return cli_error("bench", "--threads must be 1 to %d", MAX_THREADS);
    if (choice.device != 0) /* e.g. forward vs clEnqueueCopyBuffer (device_opencl.c) */
        return bench_device(&choice, &sizes, p_value, (unsigned)repeats, json);
    if (family) { /* bench_family.c: its own table of ratios */
        uint64_t n = sizes.count ? 0 : (uint64_t)1 << 24;
        for (size_t i = 0; i < sizes.count; i++)
            n = sizes.values[i] > n ? sizes.values[i] : n;
        if (n < ((uint64_t)1 << 18) || n % ((uint64_t)1 << 18) != 0 || n > ((uint64_t)1 << 30))
            return cli_error("bench", "--family needs n a multiple of 2^18 up to 2^30, got %llu",
                             (unsigned long long)n);
        return cli_bench_family((size_t)n, (unsigned)repeats,
                                threads_given ? (unsigned)threads_opt : 0);
    }
    if (sizes.count == 0) {
        for (unsigned e = 12; e <= 26; e += 2)
            sizes.values[sizes.count++] = (uint64_t)1 << e;
    }
    for (size_t i = 0; i < sizes.count; i++)
        if (sizes.values[i] < 1 || sizes.values[i] > ((uint64_t)1 << 32))
            return cli_error("bench", "--sizes: %llu is not in 1 ... 2^32",
                             (unsigned long long)sizes.values[i]);

    double ps[2] = {0.1, 0.5};
    size_t p_count = 2;
    if (options[1].seen) {
        ps[0] = p_value;
        p_count = 1;
    }
    dropout_set_threads(0);
    const unsigned all_threads = dropout_threads();
    unsigned thread_counts[2] = {1, all_threads};
    size_t thread_count = all_threads > 1 ? 2 : 1;
    if (threads_given) {
        thread_counts[0] = (unsigned)threads_opt;
        thread_count = 1;
    }
    unsigned max_threads = 1;
    for (size_t t = 0; t < thread_count; t++)
        if (thread_counts[t] > max_threads)
            max_threads = thread_counts[t];
    roof_pool pool;
    if (roof_pool_start(&pool, max_threads) != 0)
        return cli_error("bench", "could not start %u threads", max_threads);

    if (!json)
        printf("dropout bench: isa %s, %u core(s); ns/element median (min-max); limits: roofline "
               "y = s*x (plain or streaming), philox = the mask's random bytes alone\n"
               "%-14s %-5s %10s %5s %3s %24s %8s %9s %9s %7s\n", dropout_isa(), all_threads, "op",
               "dtype", "n", "p", "thr", "ns/elem med (min-max)", "GB/s", "roof ns", "philox ns",
               "ratio");
    int status = DROPOUT_OK;
    for (int dtype = 0; dtype < DT_COUNT && status == DROPOUT_OK; dtype++) {
        if (dtype_choice < DT_COUNT ? dtype != dtype_choice
                                    : dtype_choice == DT_COUNT && dtype > DT_F64)
            continue;
        for (size_t si = 0; si < sizes.count && status == DROPOUT_OK; si++) {
            buffers b;
            if (buffers_alloc(&b, (size_t)sizes.values[si], dtype) != 0) {
                buffers_free(&b);
                roof_pool_stop(&pool);
                return cli_error("bench", "out of memory for n = %llu",
                                 (unsigned long long)sizes.values[si]);
            }
            for (size_t pi = 0; pi < p_count && status == DROPOUT_OK; pi++) {
                dropout_params params = {.p = ps[pi], .seed = 42, .stream = 7, .first = 0,
                                         .mode = DROPOUT_TRAIN};
                /* the mask that backward_mask reads */
                status = dropout_mask(&params, b.n, b.mask, dropout_mask_bytes(b.n));
                for (size_t ti = 0; ti < thread_count && status == DROPOUT_OK; ti++) {
                    unsigned threads = thread_counts[ti];
                    dropout_set_threads(threads);
                    /* the yardsticks: each the faster of 1 thread and
                     * `threads` threads, sampled in turn with each operation */
                    target sticks[MAX_YARDSTICKS];
                    size_t stick_count = 0;
                    const int kinds[] = {ROOF_PLAIN, ROOF_STREAMING, ROOF_PHILOX};
                    for (size_t k = 0; k < 3; k++) {
                        if (kinds[k] == ROOF_STREAMING && !bench_scale_streaming_available())
                            continue;
                        sticks[stick_count++] = (target){-1, kinds[k], 0, &pool, &params, &b};
                        if (threads > 1 && threads == max_threads)
                            sticks[stick_count++] = (target){-1, kinds[k], 1, &pool, &params, &b};
                    }
                    for (int op = 0; op < OP_COUNT && status == DROPOUT_OK; op++) {
                        if (op_choice != OP_ALL && op != op_choice)
                            continue;
                        target t = {op, 0, 0, &pool, &params, &b};
                        stats st, roof = {0, 0, 0}, philox = {0, 0, 0};
                        status = measure_against(&t, sticks, stick_count, (unsigned)repeats, &st,
                                                 &roof, &philox);
                        if (status != DROPOUT_OK)
                            break;
                        double gbs = bytes_per_element(op, dtype) / st.median;
                        const int compute_bound = philox.median > roof.median;
                        double ratio = st.median / (compute_bound ? philox.median : roof.median);
                        if (json)
                            printf("{\"op\":\"%s\",\"dtype\":\"%s\",\"isa\":\"%s\",\"n\":%zu,"
                                   "\"p\":%g,\"threads\":%u,\"ns_per_elem\":%.6g,"
                                   "\"ns_per_elem_min\":%.6g,\"ns_per_elem_max\":%.6g,"
                                   "\"gb_per_s\":%.6g,\"roofline_ns_per_elem\":%.6g,"
                                   "\"philox_ns_per_elem\":%.6g,\"ratio\":%.4g,"
                                   "\"limit\":\"%s\"}\n",
                                   op_names[op], dtype_names[dtype], dropout_isa(), b.n, ps[pi],
                                   threads, st.median, st.min, st.max, gbs, roof.median,
                                   philox.median, ratio, compute_bound ? "philox" : "memory");
                        else
                            printf("%-14s %-5s %10zu %5g %3u %8.4f (%.4f-%.4f) %8.2f %9.4f %9.4f "
                                   "%7.3f\n",
                                   op_names[op], dtype_names[dtype], b.n, ps[pi], threads,
                                   st.median, st.min, st.max, gbs, roof.median, philox.median,
                                   ratio);
                        fflush(stdout);
                    }
                }
            }
            buffers_free(&b);
        }
    }
    roof_pool_stop(&pool);
    if (status != DROPOUT_OK)
        return cli_error("bench", "%s", dropout_status_string(status));
    return 0;
}
