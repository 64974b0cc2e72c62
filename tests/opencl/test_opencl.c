/*
 * test_opencl.c — libdropout_opencl bit for bit against the CPU library.
 *
 * Every operation (forward with and without a mask, evaluation, backward
 * from the mask, regenerating backward, mask export) in every dtype the
 * device has, on:
 *   - every length 1 ... 80 (every tail of a 16-element block and of a mask
 *     byte), at unaligned first and unaligned buffer offsets;
 *   - random seeds, streams (>= 2^32 included), first beyond 2^32 and at
 *     the very end of the index space, tie-heavy p (0.1, 0.3, 0.123456789),
 *     p = 0, 1, and p whose threshold is 2^32 or 0 without being 0 or 1,
 *     in place and out of place, with a random launch geometry each;
 *   - one call of n = 10^7 (and its mask), and several fixed global and
 *     work-group sizes on one case;
 *   - every bf16 and f16 bit pattern (NaNs, subnormals, infinities);
 * and every error path: the status the CPU gives, nothing enqueued, every
 * byte of every buffer untouched, no event returned.  Events: a call waits
 * for its wait list and its event completes with it.
 *
 * Each device call writes into buffers pre-filled with a sentinel; the bytes
 * around the call's range must keep it.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <pthread.h>

#include "test_util.h"

#include "opencl_util.h"

#define SENTINEL 0xA5
#define PAD 64 /* bytes of sentinel before and after every range */

static test_device dev;
static dropout_opencl *dcl;
static const char *const dtype_names[] = {"f32", "f64", "bf16", "f16"};

/* ---- the CPU reference, by dtype ----------------------------------------- */

static int cpu_forward(int dtype, const dropout_params *p, void *y, const void *x, size_t n,
                       uint8_t *mask, size_t mask_size)
{
    switch (dtype) {
    case DROPOUT_DTYPE_F32: return dropout_forward_f32(p, y, x, n, mask, mask_size);
    case DROPOUT_DTYPE_F64: return dropout_forward_f64(p, y, x, n, mask, mask_size);
    case DROPOUT_DTYPE_BF16: return dropout_forward_bf16(p, y, x, n, mask, mask_size);
    default: return dropout_forward_f16(p, y, x, n, mask, mask_size);
    }
}

static int cpu_backward_mask(int dtype, const dropout_params *p, void *dx, const void *dy,
                             size_t n, const uint8_t *mask, size_t mask_size)
{
    switch (dtype) {
    case DROPOUT_DTYPE_F32: return dropout_backward_mask_f32(p, dx, dy, n, mask, mask_size);
    case DROPOUT_DTYPE_F64: return dropout_backward_mask_f64(p, dx, dy, n, mask, mask_size);
    case DROPOUT_DTYPE_BF16: return dropout_backward_mask_bf16(p, dx, dy, n, mask, mask_size);
    default: return dropout_backward_mask_f16(p, dx, dy, n, mask, mask_size);
    }
}

static int cpu_backward_regen(int dtype, const dropout_params *p, void *dx, const void *dy,
                              size_t n)
{
    switch (dtype) {
    case DROPOUT_DTYPE_F32: return dropout_backward_regen_f32(p, dx, dy, n);
    case DROPOUT_DTYPE_F64: return dropout_backward_regen_f64(p, dx, dy, n);
    case DROPOUT_DTYPE_BF16: return dropout_backward_regen_bf16(p, dx, dy, n);
    default: return dropout_backward_regen_f16(p, dx, dy, n);
    }
}

/* ---- device buffers with sentinels ----------------------------------------- */

/* One device buffer and its host shadow (what the buffer must hold). */
typedef struct dbuf {
    cl_mem mem;
    size_t size;
    uint8_t *host;
} dbuf;

static dbuf dbuf_new(size_t size)
{
    dbuf b;
    cl_int err;
    b.size = size;
    b.host = test_malloc(size);
    b.mem = clCreateBuffer(dev.context, CL_MEM_READ_WRITE, size, NULL, &err);
    REQUIRE(err == CL_SUCCESS, "clCreateBuffer(%zu): %s", size, dropout_opencl_status_string(err));
    return b;
}

static void dbuf_free(dbuf *b)
{
    clReleaseMemObject(b->mem);
    free(b->host);
}

/* bytes [0, used) of the buffer = sentinel, then `data` at `offset`. */
static void dbuf_fill(dbuf *b, size_t used, size_t offset, const void *data, size_t bytes)
{
    memset(b->host, SENTINEL, used);
    if (bytes)
        memcpy(b->host + offset, data, bytes);
    REQUIRE(clEnqueueWriteBuffer(dev.queue, b->mem, CL_TRUE, 0, used, b->host, 0, NULL, NULL) ==
                CL_SUCCESS, "write buffer");
}

/* Read [0, used) back and compare: the call's range with `want`, the rest
 * with the shadow (untouched).  Returns the number of differing bytes. */
static size_t dbuf_compare(const dbuf *b, size_t used, size_t offset, const void *want,
                           size_t bytes, const char *what, const char *label)
{
    uint8_t *got = test_malloc(used);
    REQUIRE(clEnqueueReadBuffer(dev.queue, b->mem, CL_TRUE, 0, used, got, 0, NULL, NULL) ==
                CL_SUCCESS, "read buffer");
    size_t bad = 0, first_bad = 0;
    for (size_t k = 0; k < used; k++) {
        uint8_t expect = k >= offset && k < offset + bytes ? ((const uint8_t *)want)[k - offset]
                                                           : b->host[k];
        if (got[k] != expect && bad++ == 0)
            first_bad = k;
    }
    CHECK(bad == 0, "%s, %s: %zu bytes differ, first at byte %zu of the buffer (range %zu+%zu): "
                    "got %02x, expected %02x",
          label, what, bad, first_bad, offset, bytes, got[first_bad],
          first_bad >= offset && first_bad < offset + bytes
              ? ((const uint8_t *)want)[first_bad - offset] : b->host[first_bad]);
    free(got);
    return bad;
}

/* ---- one case: every operation against the CPU ------------------------------ */

typedef struct test_case {
    int dtype;
    dropout_params params;
    size_t n;
    size_t x_offset, y_offset, mask_offset; /* bytes; y_offset == x_offset: in place */
    int in_place;
} test_case;

static dbuf bx, by, bmask; /* x (and y in place), y, mask */

static void random_input(test_rng *rng, int dtype, void *x, size_t n)
{
    size_t size = dropout_dtype_size(dtype);
    for (size_t k = 0; k < n; k++) {
        uint64_t r = test_rng_next(rng);
        switch (dtype) {
        case DROPOUT_DTYPE_F32: {
            /* mostly ordinary numbers, some specials and subnormals */
            uint32_t b = (uint32_t)r;
            if (r >> 60 != 0)
                b = bits_f32((float)((double)(int32_t)b * 0x1p-20));
            memcpy((uint8_t *)x + k * size, &b, size);
            break;
        }
        case DROPOUT_DTYPE_F64: {
            double v = r >> 61 ? (double)(int64_t)r * 0x1p-40 : 0.0;
            uint64_t b = r >> 61 ? bits_f64(v) : r;
            memcpy((uint8_t *)x + k * size, &b, size);
            break;
        }
        default: {
            uint16_t h = (uint16_t)r;
            memcpy((uint8_t *)x + k * size, &h, size);
        }
        }
    }
}

static long cases_run = 0;

static void run_case(const test_case *c, test_rng *rng)
{
    const size_t size = dropout_dtype_size(c->dtype), n = c->n;
    const size_t bytes = n * size, mask_bytes = DROPOUT_MASK_BYTES(n);
    const size_t x_used = c->x_offset + bytes + PAD, y_used = c->y_offset + bytes + PAD;
    const size_t m_used = c->mask_offset + mask_bytes + PAD;
    REQUIRE(x_used <= bx.size && y_used <= by.size && m_used <= bmask.size, "case too large");
    uint8_t *x = test_malloc(bytes), *y = test_malloc(bytes), *y2 = test_malloc(bytes);
    uint8_t *mask = test_malloc(mask_bytes + 1), *mask2 = test_malloc(mask_bytes + 1);
    random_input(rng, c->dtype, x, n);
    char label[256];
    snprintf(label, sizeof label,
             "%s n %zu p %.17g seed %#" PRIx64 " stream %#" PRIx64 " first %" PRIu64
             " mode %d offsets %zu/%zu/%zu%s",
             dtype_names[c->dtype], n, c->params.p, c->params.seed, c->params.stream,
             c->params.first, c->params.mode, c->x_offset, c->y_offset, c->mask_offset,
             c->in_place ? " in place" : "");
    dbuf *out = c->in_place ? &bx : &by;
    const size_t out_offset = c->in_place ? c->x_offset : c->y_offset;
    const size_t out_used = c->in_place ? x_used : y_used;

    /* forward with the mask */
    memset(mask, 0, mask_bytes + 1);
    CHECK_OK(cpu_forward(c->dtype, &c->params, y, x, n, mask, mask_bytes));
    const int train = c->params.mode == DROPOUT_TRAIN;
    if (!train)
        memset(mask, SENTINEL, mask_bytes); /* evaluation leaves the mask alone */
    dbuf_fill(&bx, x_used, c->x_offset, x, bytes);
    if (!c->in_place)
        dbuf_fill(&by, y_used, 0, NULL, 0);
    dbuf_fill(&bmask, m_used, 0, NULL, 0);
    CHECK_OK(dropout_opencl_forward(dcl, dev.queue, &c->params, c->dtype, out->mem, out_offset,
                                    bx.mem, c->x_offset, n, bmask.mem, c->mask_offset,
                                    mask_bytes, 0, NULL, NULL));
    dbuf_compare(out, out_used, out_offset, y, bytes, "forward y", label);
    dbuf_compare(&bmask, m_used, c->mask_offset, mask, mask_bytes, "forward mask", label);

    /* backward regenerating the mask (forward without one) */
    CHECK_OK(cpu_backward_regen(c->dtype, &c->params, y2, x, n));
    dbuf_fill(&bx, x_used, c->x_offset, x, bytes);
    if (!c->in_place)
        dbuf_fill(&by, y_used, 0, NULL, 0);
    CHECK_OK(dropout_opencl_backward_regen(dcl, dev.queue, &c->params, c->dtype, out->mem,
                                           out_offset, bx.mem, c->x_offset, n, 0, NULL, NULL));
    dbuf_compare(out, out_used, out_offset, y2, bytes, "backward_regen dx", label);

    /* backward from a packed mask: the forward's (random bits in evaluation) */
    if (!train)
        random_input(rng, DROPOUT_DTYPE_BF16, mask, (mask_bytes + 1) / 2);
    CHECK_OK(cpu_backward_mask(c->dtype, &c->params, y2, x, n, mask, mask_bytes));
    dbuf_fill(&bx, x_used, c->x_offset, x, bytes);
    if (!c->in_place)
        dbuf_fill(&by, y_used, 0, NULL, 0);
    dbuf_fill(&bmask, m_used, c->mask_offset, mask, mask_bytes);
    CHECK_OK(dropout_opencl_backward_mask(dcl, dev.queue, &c->params, c->dtype, out->mem,
                                          out_offset, bx.mem, c->x_offset, n, bmask.mem,
                                          c->mask_offset, mask_bytes, 0, NULL, NULL));
    dbuf_compare(out, out_used, out_offset, y2, bytes, "backward_mask dx", label);
    dbuf_compare(&bmask, m_used, c->mask_offset, mask, mask_bytes, "backward_mask mask", label);

    /* mask export (the mode is ignored) */
    CHECK_OK(dropout_mask(&c->params, n, mask2, mask_bytes));
    dbuf_fill(&bmask, m_used, 0, NULL, 0);
    CHECK_OK(dropout_opencl_mask(dcl, dev.queue, &c->params, n, bmask.mem,
                                 c->mask_offset, mask_bytes, 0, NULL, NULL));
    dbuf_compare(&bmask, m_used, c->mask_offset, mask2, mask_bytes, "mask export", label);
    cases_run++;
    free(x);
    free(y);
    free(y2);
    free(mask);
    free(mask2);
}

/* ---- the cases ------------------------------------------------------------- */

static const double tie_heavy[] = {0.1, 0.3, 0.123456789};

static int dtype_count(void)
{
    return dropout_opencl_has_dtype(dcl, DROPOUT_DTYPE_F64) ? 4 : 3;
}

static int dtype_at(int k)
{
    static const int with_f64[] = {DROPOUT_DTYPE_F32, DROPOUT_DTYPE_F64, DROPOUT_DTYPE_BF16,
                                   DROPOUT_DTYPE_F16};
    static const int without[] = {DROPOUT_DTYPE_F32, DROPOUT_DTYPE_BF16, DROPOUT_DTYPE_F16};
    return dtype_count() == 4 ? with_f64[k % 4] : without[k % 3];
}

static void every_tail(test_rng *rng)
{
    for (size_t n = 1; n <= 80; n++) {
        test_case c;
        memset(&c, 0, sizeof c);
        c.dtype = dtype_at((int)n);
        size_t size = dropout_dtype_size(c.dtype);
        c.params.p = tie_heavy[n % 3];
        c.params.seed = test_rng_next(rng);
        c.params.stream = test_rng_next(rng);
        c.params.first = test_rng_below(rng, 1000); /* mostly not a multiple of 16 */
        c.n = n;
        c.x_offset = size * (size_t)test_rng_below(rng, 17);
        c.y_offset = size * (size_t)test_rng_below(rng, 17);
        c.mask_offset = (size_t)test_rng_below(rng, 5);
        run_case(&c, rng);
    }
    printf("  every length 1 ... 80 at unaligned first and offsets: done\n");
}

static void random_cases(test_rng *rng, int count)
{
    const double ps[] = {0.1, 0.3, 0.123456789, 0.0, 1.0, 0.5, 1e-6, 1e-12 /* T = 2^32 */,
                         1.0 - 1e-12 /* T = 0 */, -1 /* random */};
    /* PoCL compiles the kernel once per work-group size it meets (seconds
     * on a cold cache): a few sizes here, the odd ones in geometries(). */
    static const size_t locals[] = {0, 1, 16};
    for (int trial = 0; trial < count; trial++) {
        test_case c;
        memset(&c, 0, sizeof c);
        c.dtype = dtype_at((int)test_rng_below(rng, 4));
        size_t size = dropout_dtype_size(c.dtype);
        c.params.p = ps[trial % 10];
        if (c.params.p < 0)
            c.params.p = test_rng_unit(rng);
        c.params.seed = test_rng_next(rng);
        c.params.stream = trial % 3 == 0 ? test_rng_below(rng, 1u << 20) : test_rng_next(rng);
        c.n = 1 + (size_t)test_rng_below(rng, trial % 8 == 0 ? 20000 : 700);
        switch (trial % 4) {
        case 0: c.params.first = test_rng_below(rng, 1u << 20); break;
        case 1: c.params.first = ((uint64_t)1 << 32) * 16 - test_rng_below(rng, 300); break;
        case 2: c.params.first = test_rng_next(rng) >> 1; break;
        default: c.params.first = UINT64_MAX - c.n + 1 - test_rng_below(rng, 40); break;
        }
        c.params.mode = trial % 7 == 3 ? DROPOUT_EVAL : DROPOUT_TRAIN;
        c.in_place = trial % 5 == 1;
        c.x_offset = size * (size_t)test_rng_below(rng, 40);
        c.y_offset = c.in_place ? c.x_offset : size * (size_t)test_rng_below(rng, 40);
        c.mask_offset = (size_t)test_rng_below(rng, 9);
        size_t local = locals[test_rng_below(rng, 3)];
        size_t global = test_rng_below(rng, 3) == 0 ? 0 : 1 + (size_t)test_rng_below(rng, 300);
        if (local == 0 && global != 0)
            local = 64; /* a global size alone lets the runtime pick any local size */
        CHECK_OK(dropout_opencl_set_launch(dcl, global, local));
        run_case(&c, rng);
    }
    CHECK_OK(dropout_opencl_set_launch(dcl, 0, 0));
    printf("  %d random cases (seeds, streams, first, p, modes, in place, geometry): done\n",
           count);
}

static void geometries(test_rng *rng)
{
    static const size_t sizes[][2] = {{0, 0}, {1, 1}, {1, 0}, {7, 0}, {16, 16}, {100, 1},
                                      {1000, 64}, {65536, 16}};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        test_case c;
        memset(&c, 0, sizeof c);
        c.dtype = DROPOUT_DTYPE_F32;
        c.params.p = 0.3;
        c.params.seed = 0x123456789abcdefull;
        c.params.stream = (uint64_t)1 << 40;
        c.params.first = ((uint64_t)1 << 36) - 77;
        c.n = 30011;
        c.x_offset = 12;
        c.y_offset = 40;
        c.mask_offset = 3;
        CHECK_OK(dropout_opencl_set_launch(dcl, sizes[k][0], sizes[k][1]));
        run_case(&c, rng);
    }
    CHECK_OK(dropout_opencl_set_launch(dcl, 0, 0));
    printf("  %zu global/work-group sizes on one case: done\n", sizeof sizes / sizeof sizes[0]);
}

/* n = 10^7 once: forward with its mask, against the CPU. */
static void large(test_rng *rng)
{
    test_case c;
    memset(&c, 0, sizeof c);
    c.dtype = DROPOUT_DTYPE_F32;
    c.params.p = 0.123456789;
    c.params.seed = test_rng_next(rng);
    c.params.stream = test_rng_next(rng);
    c.params.first = ((uint64_t)1 << 32) - 5000001;
    c.n = 10000000;
    c.x_offset = 4;
    size_t bytes = c.n * sizeof(float), mask_bytes = DROPOUT_MASK_BYTES(c.n);
    float *x = test_malloc(bytes), *y = test_malloc(bytes), *got = test_malloc(bytes);
    uint8_t *mask = test_malloc(mask_bytes), *got_mask = test_malloc(mask_bytes);
    for (size_t k = 0; k < c.n; k++)
        x[k] = (float)((int)(k % 2001) - 1000) * 0.001f;
    double t0 = test_seconds();
    CHECK_OK(dropout_forward_f32(&c.params, y, x, c.n, mask, mask_bytes));
    double t1 = test_seconds();
    dbuf big_x = dbuf_new(bytes + 4), big_y = dbuf_new(bytes), big_m = dbuf_new(mask_bytes);
    REQUIRE(clEnqueueWriteBuffer(dev.queue, big_x.mem, CL_TRUE, 4, bytes, x, 0, NULL, NULL) ==
                CL_SUCCESS, "write");
    double t2 = test_seconds();
    CHECK_OK(dropout_opencl_forward(dcl, dev.queue, &c.params, c.dtype, big_y.mem, 0, big_x.mem,
                                    4, c.n, big_m.mem, 0, mask_bytes, 0, NULL, NULL));
    clFinish(dev.queue);
    double t3 = test_seconds();
    clEnqueueReadBuffer(dev.queue, big_y.mem, CL_TRUE, 0, bytes, got, 0, NULL, NULL);
    clEnqueueReadBuffer(dev.queue, big_m.mem, CL_TRUE, 0, mask_bytes, got_mask, 0, NULL, NULL);
    size_t bad = 0;
    for (size_t k = 0; k < c.n; k++)
        bad += bits_f32(got[k]) != bits_f32(y[k]);
    CHECK(bad == 0, "n = 10^7: %zu of y differ", bad);
    CHECK(memcmp(got_mask, mask, mask_bytes) == 0, "n = 10^7: the masks differ");
    printf("  n = 10^7 f32 forward + mask from first 2^32 - 5000001: %zu differences "
           "(CPU %.3f s, OpenCL %.3f s)\n", bad, t1 - t0, t3 - t2);
    dbuf_free(&big_x);
    dbuf_free(&big_y);
    dbuf_free(&big_m);
    free(x);
    free(y);
    free(got);
    free(mask);
    free(got_mask);
}

/* Every 16-bit pattern through bf16 and f16 forward (p 0.3: some kept,
 * some dropped, ties included): the device's rounding is the library's. */
static void every_half(void)
{
    const size_t n = 65536;
    uint16_t *x = test_malloc(n * 2), *y = test_malloc(n * 2);
    for (size_t k = 0; k < n; k++)
        x[k] = (uint16_t)k;
    for (int dtype = DROPOUT_DTYPE_BF16; dtype <= DROPOUT_DTYPE_F16; dtype++) {
        const double ps[] = {0.3, 1e-12};
        for (int k = 0; k < 2; k++) {
            dropout_params params = {ps[k], 5, 6, 7, DROPOUT_TRAIN};
            CHECK_OK(cpu_forward(dtype, &params, y, x, n, NULL, 0));
            dbuf_fill(&bx, n * 2 + PAD, 0, x, n * 2);
            dbuf_fill(&by, n * 2 + PAD, 0, NULL, 0);
            CHECK_OK(dropout_opencl_forward(dcl, dev.queue, &params, dtype, by.mem, 0, bx.mem, 0,
                                            n, NULL, 0, 0, 0, NULL, NULL));
            dbuf_compare(&by, n * 2 + PAD, 0, y, n * 2, "every 16-bit pattern",
                         dtype_names[dtype]);
        }
    }
    printf("  every bf16 and f16 bit pattern, p 0.3 and 1e-12: done\n");
    free(x);
    free(y);
}

/* ---- events ---------------------------------------------------------------- */

static void events(void)
{
    cl_int err;
    cl_event gate = clCreateUserEvent(dev.context, &err), done = NULL, marker = NULL;
    REQUIRE(err == CL_SUCCESS, "clCreateUserEvent");
    float x[40], y[40];
    uint8_t mask[5];
    for (int k = 0; k < 40; k++)
        x[k] = (float)k + 0.5f;
    dropout_params params = {0.5, 1, 2, 3, DROPOUT_TRAIN};
    CHECK_OK(dropout_forward_f32(&params, y, x, 40, mask, sizeof mask));
    dbuf_fill(&bx, 160 + PAD, 0, x, 160);
    dbuf_fill(&by, 160 + PAD, 0, NULL, 0);
    /* an out-of-order wait: the call must not run before the gate opens */
    CHECK_OK(dropout_opencl_forward(dcl, dev.queue, &params, DROPOUT_DTYPE_F32, by.mem, 0, bx.mem,
                                    0, 40, NULL, 0, 0, 1, &gate, &done));
    CHECK(done != NULL, "no event returned");
    cl_int state = CL_COMPLETE;
    clFlush(dev.queue);
    clGetEventInfo(done, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof state, &state, NULL);
    CHECK(state != CL_COMPLETE, "the call ran before its wait list completed");
    clSetUserEventStatus(gate, CL_COMPLETE);
    CHECK(clWaitForEvents(1, &done) == CL_SUCCESS, "waiting for the call's event");
    dbuf_compare(&by, 160 + PAD, 0, y, 160, "forward after a user event", "events");
    clReleaseEvent(done);
    /* nothing to do (n == 0, in-place evaluation) still gives an event */
    CHECK_OK(dropout_opencl_forward(dcl, dev.queue, &params, DROPOUT_DTYPE_F32, by.mem, 0, bx.mem,
                                    0, 0, NULL, 0, 0, 0, NULL, &marker));
    CHECK(marker != NULL && clWaitForEvents(1, &marker) == CL_SUCCESS, "n == 0: an event");
    if (marker)
        clReleaseEvent(marker);
    marker = NULL;
    params.mode = DROPOUT_EVAL;
    CHECK_OK(dropout_opencl_forward(dcl, dev.queue, &params, DROPOUT_DTYPE_F32, bx.mem, 0, bx.mem,
                                    0, 40, NULL, 0, 0, 0, NULL, &marker));
    CHECK(marker != NULL && clWaitForEvents(1, &marker) == CL_SUCCESS, "in-place eval: an event");
    if (marker)
        clReleaseEvent(marker);
    clReleaseEvent(gate);
    printf("  events: wait lists are waited for, every call returns its event: done\n");
}

/* ---- threads: one object, several host threads, each with its own queue ------ */

#define THREADS 4
#define THREAD_CALLS 25
#define THREAD_N 1000

typedef struct thread_work {
    int index;
    long mismatches;
    int failed_calls;
} thread_work;

static void *thread_main(void *arg)
{
    thread_work *w = arg;
    cl_int err;
    cl_command_queue queue = clCreateCommandQueue(dev.context, dev.device, 0, &err);
    cl_mem x = clCreateBuffer(dev.context, CL_MEM_READ_WRITE, THREAD_N * 4, NULL, &err);
    cl_mem y = clCreateBuffer(dev.context, CL_MEM_READ_WRITE, THREAD_N * 4, NULL, &err);
    float in[THREAD_N], want[THREAD_N], got[THREAD_N];
    for (int k = 0; k < THREAD_N; k++)
        in[k] = (float)(k + w->index);
    clEnqueueWriteBuffer(queue, x, CL_TRUE, 0, sizeof in, in, 0, NULL, NULL);
    for (int call = 0; call < THREAD_CALLS; call++) {
        dropout_params params = {0.3, (uint64_t)w->index, (uint64_t)call, (uint64_t)call * 7,
                                 DROPOUT_TRAIN};
        dropout_forward_f32(&params, want, in, THREAD_N, NULL, 0);
        if (dropout_opencl_forward(dcl, queue, &params, DROPOUT_DTYPE_F32, y, 0, x, 0, THREAD_N,
                                   NULL, 0, 0, 0, NULL, NULL) != DROPOUT_OK ||
            clEnqueueReadBuffer(queue, y, CL_TRUE, 0, sizeof got, got, 0, NULL, NULL) !=
                CL_SUCCESS) {
            w->failed_calls++;
            continue;
        }
        for (int k = 0; k < THREAD_N; k++)
            w->mismatches += bits_f32(got[k]) != bits_f32(want[k]);
    }
    clReleaseMemObject(x);
    clReleaseMemObject(y);
    clReleaseCommandQueue(queue);
    return NULL;
}

static void threads(void)
{
    pthread_t ids[THREADS];
    thread_work work[THREADS];
    for (int t = 0; t < THREADS; t++) {
        work[t] = (thread_work){t, 0, 0};
        REQUIRE(pthread_create(&ids[t], NULL, thread_main, &work[t]) == 0, "pthread_create");
    }
    long mismatches = 0;
    for (int t = 0; t < THREADS; t++) {
        pthread_join(ids[t], NULL);
        mismatches += work[t].mismatches;
        CHECK(work[t].failed_calls == 0, "thread %d: %d calls failed", t, work[t].failed_calls);
    }
    CHECK(mismatches == 0, "threads: %ld elements differ from the CPU", mismatches);
    printf("  %d host threads x %d calls on one object, own queues: %ld differences\n", THREADS,
           THREAD_CALLS, mismatches);
}

/* ---- errors: the CPU's status, nothing written, no event ---------------------- */

static cl_event no_event;

/* `call` passes &no_event as its event. */
#define CHECK_ERROR(call, expected)                                             \
    do {                                                                        \
        no_event = NULL;                                                        \
        CHECK_STATUS(call, expected);                                           \
        CHECK(no_event == NULL, "%s returned an event on error", #call);       \
    } while (0)

static void errors(void)
{
    const size_t n = 100, used = 400 + PAD;
    dropout_params ok = {0.5, 1, 2, 3, DROPOUT_TRAIN}, bad = ok;
    cl_mem X = bx.mem, Y = by.mem, M = bmask.mem;
    cl_command_queue Q = dev.queue;
    const int F32 = DROPOUT_DTYPE_F32;
    float x[100];
    for (int k = 0; k < 100; k++)
        x[k] = 1.0f + (float)k;
    dbuf_fill(&bx, used, 0, x, sizeof x);
    dbuf_fill(&by, used, 0, NULL, 0);
    dbuf_fill(&bmask, used, 0, NULL, 0);

    /* params: the same rules and order as the CPU */
    CHECK_ERROR(dropout_opencl_forward(dcl, Q, NULL, F32, Y, 0, X, 0, n, M, 0, 13, 0, NULL, &no_event),
                DROPOUT_ERROR_NULL_POINTER);
    const double bad_p[] = {NAN, -0.1, 1.5, -INFINITY};
    for (int k = 0; k < 4; k++) {
        bad.p = bad_p[k];
        CHECK_ERROR(dropout_opencl_forward(dcl, Q, &bad, F32, Y, 0, X, 0, n, M, 0, 13, 0, NULL, &no_event),
                    DROPOUT_ERROR_INVALID_P);
        CHECK_ERROR(dropout_opencl_backward_regen(dcl, Q, &bad, F32, Y, 0, X, 0, n, 0, NULL, &no_event),
                    DROPOUT_ERROR_INVALID_P);
        CHECK_ERROR(dropout_opencl_backward_mask(dcl, Q, &bad, F32, Y, 0, X, 0, n, M, 0, 13, 0, NULL, &no_event),
                    DROPOUT_ERROR_INVALID_P);
        CHECK_ERROR(dropout_opencl_mask(dcl, Q, &bad, n, M, 0, 13, 0, NULL, &no_event),
                    DROPOUT_ERROR_INVALID_P);
    }
    bad = ok;
    bad.mode = 7;
    CHECK_ERROR(dropout_opencl_forward(dcl, Q, &bad, F32, Y, 0, X, 0, n, M, 0, 13, 0, NULL, &no_event),
                DROPOUT_ERROR_INVALID_MODE);
    CHECK_ERROR(dropout_opencl_backward_mask(dcl, Q, &bad, F32, Y, 0, X, 0, n, M, 0, 13, 0, NULL, &no_event),
                DROPOUT_ERROR_INVALID_MODE);
    CHECK_OK(dropout_opencl_mask(dcl, Q, &bad, 0, M, 0, 13, 0, NULL, NULL)); /* mode ignored */
    bad = ok;
    bad.first = UINT64_MAX - 50;
    CHECK_ERROR(dropout_opencl_forward(dcl, Q, &bad, F32, Y, 0, X, 0, n, M, 0, 13, 0, NULL, &no_event),
                DROPOUT_ERROR_RANGE);
    CHECK_ERROR(dropout_opencl_mask(dcl, Q, &bad, n, M, 0, 13, 0, NULL, &no_event), DROPOUT_ERROR_RANGE);

    /* NULL objects */
    CHECK_ERROR(dropout_opencl_forward(NULL, Q, &ok, F32, Y, 0, X, 0, n, M, 0, 13, 0, NULL, &no_event),
                DROPOUT_ERROR_NULL_POINTER);
    CHECK_ERROR(dropout_opencl_forward(dcl, NULL, &ok, F32, Y, 0, X, 0, n, M, 0, 13, 0, NULL, &no_event),
                DROPOUT_ERROR_NULL_POINTER);
    CHECK_ERROR(dropout_opencl_forward(dcl, Q, &ok, F32, NULL, 0, X, 0, n, M, 0, 13, 0, NULL, &no_event),
                DROPOUT_ERROR_NULL_POINTER);
    CHECK_ERROR(dropout_opencl_forward(dcl, Q, &ok, F32, Y, 0, NULL, 0, n, M, 0, 13, 0, NULL, &no_event),
                DROPOUT_ERROR_NULL_POINTER);
    CHECK_ERROR(dropout_opencl_backward_mask(dcl, Q, &ok, F32, Y, 0, X, 0, n, NULL, 0, 13, 0, NULL, &no_event),
                DROPOUT_ERROR_NULL_POINTER);
    CHECK_ERROR(dropout_opencl_mask(dcl, Q, &ok, n, NULL, 0, 13, 0, NULL, &no_event),
                DROPOUT_ERROR_NULL_POINTER);
    CHECK_ERROR(dropout_opencl_mask(NULL, Q, &ok, n, M, 0, 13, 0, NULL, &no_event),
                DROPOUT_ERROR_NULL_POINTER);

    /* the mask's size */
    CHECK_ERROR(dropout_opencl_forward(dcl, Q, &ok, F32, Y, 0, X, 0, n, M, 0, 12, 0, NULL, &no_event),
                DROPOUT_ERROR_MASK_TOO_SMALL);
    CHECK_ERROR(dropout_opencl_backward_mask(dcl, Q, &ok, F32, Y, 0, X, 0, n, M, 0, 12, 0, NULL, &no_event),
                DROPOUT_ERROR_MASK_TOO_SMALL);
    CHECK_ERROR(dropout_opencl_mask(dcl, Q, &ok, n, M, 0, 12, 0, NULL, &no_event),
                DROPOUT_ERROR_MASK_TOO_SMALL);

    /* dtype */
    CHECK_ERROR(dropout_opencl_forward(dcl, Q, &ok, 9, Y, 0, X, 0, n, M, 0, 13, 0, NULL, &no_event),
                DROPOUT_ERROR_INVALID_DTYPE);
    CHECK_ERROR(dropout_opencl_backward_regen(dcl, Q, &ok, -1, Y, 0, X, 0, n, 0, NULL, &no_event),
                DROPOUT_ERROR_INVALID_DTYPE);

    /* ranges: misaligned offsets, beyond the buffer, foreign or bogus buffers */
    CHECK_ERROR(dropout_opencl_forward(dcl, Q, &ok, F32, Y, 2, X, 0, n, M, 0, 13, 0, NULL, &no_event),
                DROPOUT_ERROR_INVALID_ARGUMENT);
    CHECK_ERROR(dropout_opencl_forward(dcl, Q, &ok, F32, Y, 0, X, 6, n, M, 0, 13, 0, NULL, &no_event),
                DROPOUT_ERROR_INVALID_ARGUMENT);
    CHECK_ERROR(dropout_opencl_forward(dcl, Q, &ok, F32, Y, by.size - 396, X, 0, n, M, 0, 13, 0, NULL, &no_event),
                DROPOUT_ERROR_INVALID_ARGUMENT);
    CHECK_ERROR(dropout_opencl_forward(dcl, Q, &ok, F32, Y, 0, X, bx.size, n, M, 0, 13, 0, NULL, &no_event),
                DROPOUT_ERROR_INVALID_ARGUMENT);
    CHECK_ERROR(dropout_opencl_forward(dcl, Q, &ok, F32, Y, 0, X, 0, n, M, bmask.size - 12, 13, 0, NULL, &no_event),
                DROPOUT_ERROR_INVALID_ARGUMENT);
    CHECK_ERROR(dropout_opencl_forward(dcl, Q, &ok, F32, Y, 0, X, 0, SIZE_MAX / 2, M, 0, SIZE_MAX, 0, NULL, &no_event),
                DROPOUT_ERROR_INVALID_ARGUMENT);
    CHECK_ERROR(dropout_opencl_mask(dcl, Q, &ok, n, M, bmask.size, 13, 0, NULL, &no_event),
                DROPOUT_ERROR_INVALID_ARGUMENT);

    /* overlap: same buffer, sub-buffers, the mask inside the data */
    CHECK_ERROR(dropout_opencl_forward(dcl, Q, &ok, F32, X, 4, X, 0, n, M, 0, 13, 0, NULL, &no_event),
                DROPOUT_ERROR_OVERLAP);
    CHECK_ERROR(dropout_opencl_backward_regen(dcl, Q, &ok, F32, X, 0, X, 396, n, 0, NULL, &no_event),
                DROPOUT_ERROR_OVERLAP);
    CHECK_ERROR(dropout_opencl_forward(dcl, Q, &ok, F32, Y, 0, X, 0, n, Y, 300, 13, 0, NULL, &no_event),
                DROPOUT_ERROR_OVERLAP);
    cl_int err;
    cl_buffer_region region = {0, 512}, region2 = {256, 512};
    cl_uint align = 0;
    clGetDeviceInfo(dev.device, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof align, &align, NULL);
    if (align / 8 > 256)
        region2.origin = align / 8;
    cl_mem sub1 = clCreateSubBuffer(bx.mem, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION,
                                    &region, &err);
    REQUIRE(err == CL_SUCCESS, "sub-buffer: %s", dropout_opencl_status_string(err));
    cl_mem sub2 = clCreateSubBuffer(bx.mem, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION,
                                    &region2, &err);
    REQUIRE(err == CL_SUCCESS, "sub-buffer: %s", dropout_opencl_status_string(err));
    size_t shift = region2.origin;
    CHECK_ERROR(dropout_opencl_forward(dcl, Q, &ok, F32, sub2, 0, sub1, shift - 8, 16, NULL, 0, 0, 0, NULL, &no_event),
                DROPOUT_ERROR_OVERLAP);
    CHECK_OK(dropout_opencl_forward(dcl, Q, &ok, F32, sub2, 0, sub1, shift, 2, NULL, 0, 0, 0, NULL, NULL)); /* same range: in place */
    clFinish(Q);
    dbuf_fill(&bx, used, 0, x, sizeof x);

    /* queue of another context, wait lists */
    cl_context other = clCreateContext(NULL, 1, &dev.device, NULL, NULL, &err);
    REQUIRE(err == CL_SUCCESS, "second context");
    cl_command_queue other_queue = clCreateCommandQueue(other, dev.device, 0, &err);
    REQUIRE(err == CL_SUCCESS, "second queue");
    CHECK_ERROR(dropout_opencl_forward(dcl, other_queue, &ok, F32, Y, 0, X, 0, n, M, 0, 13, 0, NULL, &no_event),
                DROPOUT_ERROR_INVALID_ARGUMENT);
    cl_mem foreign = clCreateBuffer(other, CL_MEM_READ_WRITE, 4096, NULL, &err);
    REQUIRE(err == CL_SUCCESS, "foreign buffer");
    CHECK_ERROR(dropout_opencl_forward(dcl, Q, &ok, F32, foreign, 0, X, 0, n, M, 0, 13, 0, NULL, &no_event),
                DROPOUT_ERROR_INVALID_ARGUMENT);
    CHECK_ERROR(dropout_opencl_forward(dcl, Q, &ok, F32, Y, 0, X, 0, n, M, 0, 13, 2, NULL, &no_event),
                DROPOUT_ERROR_INVALID_ARGUMENT);

    /* DROPOUT_ERROR_DEVICE's OpenCL code: none so far in this thread */
    CHECK(dropout_opencl_cl_error() == CL_SUCCESS && dropout_opencl_error_string()[0] == '\0',
          "no device error yet");
    /* (PoCL enqueues whatever passes the host checks, so DROPOUT_ERROR_DEVICE
     * is exercised by opencl_cli, with no OpenCL runtime at all.) */

    /* set_launch, create */
    CHECK_STATUS(dropout_opencl_set_launch(dcl, 0, (size_t)1 << 40), DROPOUT_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(dropout_opencl_set_launch(NULL, 0, 0), DROPOUT_ERROR_NULL_POINTER);
    dropout_opencl *none = (dropout_opencl *)&ok;
    CHECK_STATUS(dropout_opencl_create(&none, NULL, dev.device), DROPOUT_ERROR_NULL_POINTER);
    CHECK(none == NULL, "create on error must set *out to NULL");
    CHECK_STATUS(dropout_opencl_create(NULL, dev.context, dev.device), DROPOUT_ERROR_NULL_POINTER);
    size_t count = 0;
    CHECK_STATUS(dropout_opencl_devices(NULL, 4, &count), DROPOUT_ERROR_NULL_POINTER);
    dropout_opencl_destroy(NULL);

    /* nothing above wrote a byte */
    dbuf_compare(&bx, used, 0, x, sizeof x, "x after the errors", "errors");
    dbuf_compare(&by, used, 0, NULL, 0, "y after the errors", "errors");
    dbuf_compare(&bmask, used, 0, NULL, 0, "mask after the errors", "errors");

    /* status strings */
    CHECK(strcmp(dropout_opencl_status_string(DROPOUT_ERROR_OVERLAP),
                 dropout_status_string(DROPOUT_ERROR_OVERLAP)) == 0, "positive codes: the CPU's");
    CHECK(strcmp(dropout_opencl_status_string(CL_OUT_OF_RESOURCES), "CL_OUT_OF_RESOURCES") == 0,
          "CL_OUT_OF_RESOURCES named");
    CHECK(strstr(dropout_opencl_status_string(-1001), "no OpenCL platform") != NULL, "-1001");
    CHECK(dropout_opencl_status_string(-12345) != NULL, "unknown codes");
    clReleaseMemObject(sub1);
    clReleaseMemObject(sub2);
    clReleaseMemObject(foreign);
    clReleaseCommandQueue(other_queue);
    clReleaseContext(other);
    printf("  every error path: the CPU's status, nothing written, no event: done\n");
}

int main(void)
{
    if (test_device_open(&dev) != 0)
        return 1;
    double t0 = test_seconds();
    int status = dropout_opencl_create(&dcl, dev.context, dev.device);
    REQUIRE(status == DROPOUT_OK, "dropout_opencl_create: %s", dropout_opencl_status_string(status));
    printf("device: %s; program built in %.2f s; f64 %s\n", dev.name, test_seconds() - t0,
           dropout_opencl_has_dtype(dcl, DROPOUT_DTYPE_F64) ? "yes" : "no (not tested)");
    bx = dbuf_new(200000);
    by = dbuf_new(200000);
    bmask = dbuf_new(4096);
    test_rng rng = {20261201};
    double t1 = test_seconds();
    double t = test_seconds();
#define TIMED(call) call; printf("    (%.2f s)\n", test_seconds() - t); t = test_seconds()
    TIMED(errors());
    TIMED(events());
    TIMED(threads());
    TIMED(every_tail(&rng));
    TIMED(random_cases(&rng, 160));
    TIMED(geometries(&rng));
    TIMED(every_half());
    TIMED(large(&rng));
    printf("%ld cases of 4 operations each, in %.2f s\n", cases_run, test_seconds() - t1);
    dbuf_free(&bx);
    dbuf_free(&by);
    dbuf_free(&bmask);
    dropout_opencl_destroy(dcl);
    test_device_close(&dev);
    return test_exit_code("test_opencl");
}
