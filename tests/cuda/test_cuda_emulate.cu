/*
 * test_cuda_emulate.cu — the CUDA backend without a GPU: every call is planned
 * by src/cuda/plan.h (the library's own host code), then its kernel's
 * per-thread body (cuda_thread in src/cuda/thread.cuh, the very function each
 * GPU thread runs) is run on the CPU for every (block, thread) of a launch,
 * and the output must equal libdropout's bit for bit.
 *
 *   - launch shapes: the library's own grid, one thread, odd block sizes,
 *     grids smaller than the work (grid-stride loops) and much larger;
 *   - every dtype (f32, f64, bf16, f16) and op: forward (training with and
 *     without mask, evaluation), backward from the mask, regenerating
 *     backward, mask export, and the graph variants ({seed, stream} read
 *     through a pointer);
 *   - n from 1 up with every tail length, first = 0 ... 15 and beyond 2^32,
 *     x and y misaligned against 16 bytes (and in place), p = 0, tiny, tie
 *     heavy, 1 - tiny, 1; inputs with NaN payloads, Inf, -0, subnormals;
 *   - a guard region after every output: nothing written past it;
 *   - every error path: the status the CPU returns, and no step planned.
 */
#include "test_util.h"

#include "cuda_cases.h"
#include "cuda_plan.h"

/* ---- running a plan on the CPU ----------------------------------------------- */

struct emulator {
    const cuda_plan *plan;
    unsigned grid, block;
    template <int D, int SOURCE> void run() const
    {
        const uint64_t threads = (uint64_t)grid * block;
        for (unsigned b = 0; b < grid; b++)
            for (unsigned t = 0; t < block; t++)
                cuda_thread<D, SOURCE>(plan->op, (uint64_t)b * block + t, threads);
    }
};

/* grid == 0: the library's own grid (cuda_plan_grid) and block size. */
static void emulate(const cuda_plan *plan, unsigned grid, unsigned block)
{
    switch (plan->step) {
    case CUDA_STEP_NONE: return;
    case CUDA_STEP_COPY: memmove(plan->copy_dst, plan->copy_src, plan->copy_bytes); return;
    case CUDA_STEP_ZERO: memset(plan->copy_dst, 0, plan->copy_bytes); return;
    case CUDA_STEP_KERNEL: break;
    }
    emulator e = {plan, grid ? grid : cuda_plan_grid(plan), grid ? block : CUDA_BLOCK};
    cuda_plan_visit(plan, e);
}

/* ---- the cases ----------------------------------------------------------------- */

typedef struct shape {
    unsigned grid, block;
} shape;
static const shape shapes[] = {{0, 0}, {1, 1}, {1, 32}, {3, 7}, {2, 33}, {5, 96}, {64, 128}};
#define SHAPES (sizeof shapes / sizeof shapes[0])



#define GUARD 64      /* bytes after every output that must stay untouched */
#define FILL 0xA5
#define MAX_OFFSET 32 /* bytes: pointer offsets 0 ... 31 from a 64-byte boundary */

typedef struct buffers {
    uint8_t *x, *y, *mask; /* y and mask: outputs; x may alias y (in place) */
    size_t n, size;
} buffers;

/* The CUDA backend's plan for the op (graph variants: {seed, stream} through
 * a pointer, as the kernel reads them from device memory). */
static int cuda_plan_call(cuda_plan *plan, int op, int dtype, const dropout_params *params,
                          const uint64_t *seed_stream, void *y, const void *x, size_t n,
                          uint8_t *mask, size_t mask_size)
{
    switch (op) {
    case OP_FORWARD:
    case OP_FORWARD_NOMASK:
    case OP_EVAL: return cuda_plan_forward(plan, params, NULL, dtype, y, x, n, mask, mask_size);
    case OP_FORWARD_GRAPH:
        return cuda_plan_forward(plan, params, seed_stream, dtype, y, x, n, mask, mask_size);
    case OP_BACKWARD_MASK:
        return cuda_plan_backward_mask(plan, params, dtype, y, x, n, mask, mask_size);
    case OP_BACKWARD_REGEN: return cuda_plan_forward(plan, params, NULL, dtype, y, x, n, NULL, 0);
    case OP_REGEN_GRAPH: return cuda_plan_forward(plan, params, seed_stream, dtype, y, x, n, NULL, 0);
    case OP_MASK: return cuda_plan_mask(plan, params, NULL, mask, mask_size, n);
    default: return cuda_plan_mask(plan, params, seed_stream, mask, mask_size, n);
    }
}

static long cases_run = 0, mismatches = 0;

/* One (op, dtype, params, n, offsets, in place) on every launch shape. */
static void check_case(test_rng *rng, int op, int dtype, dropout_params params, size_t n,
                       size_t x_off, size_t y_off, int in_place)
{
    const size_t size = cuda_dtype_size(dtype);
    const size_t bytes = n * size, mask_bytes = DROPOUT_MASK_BYTES(n);
    uint8_t *x_raw = (uint8_t *)test_malloc(bytes + 64 + MAX_OFFSET);
    uint8_t *y_cpu_raw = (uint8_t *)test_malloc(bytes + 64 + MAX_OFFSET + GUARD);
    uint8_t *y_gpu_raw = (uint8_t *)test_malloc(bytes + 64 + MAX_OFFSET + GUARD);
    uint8_t *mask_cpu = (uint8_t *)test_malloc(mask_bytes + GUARD);
    uint8_t *mask_gpu = (uint8_t *)test_malloc(mask_bytes + GUARD);
    uint8_t *mask_in = (uint8_t *)test_malloc(mask_bytes + 1);
    /* 64-byte aligned bases, then the offsets (a multiple of the element size) */
    uint8_t *x = (uint8_t *)(((uintptr_t)x_raw + 63) & ~(uintptr_t)63) + x_off;
    uint8_t *y_cpu = (uint8_t *)(((uintptr_t)y_cpu_raw + 63) & ~(uintptr_t)63) + y_off;
    uint8_t *y_gpu = (uint8_t *)(((uintptr_t)y_gpu_raw + 63) & ~(uintptr_t)63) + y_off;
    random_elements(rng, dtype, x, n);
    for (size_t b = 0; b < mask_bytes; b++) /* a random mask for backward_mask */
        mask_in[b] = (uint8_t)test_rng_next(rng);
    if (n % 8 && mask_bytes)
        mask_in[mask_bytes - 1] &= (uint8_t)((1u << (n % 8)) - 1u);
    const uint64_t seed_stream[2] = {params.seed, params.stream};
    if (op == OP_EVAL)
        params.mode = DROPOUT_EVAL;
    const int with_mask = op == OP_FORWARD || op == OP_FORWARD_GRAPH || op == OP_MASK ||
                          op == OP_MASK_GRAPH || op == OP_EVAL;
    uint8_t *mask_cpu_arg = op == OP_BACKWARD_MASK ? mask_in : with_mask ? mask_cpu : NULL;

    /* the CPU's answer */
    memset(y_cpu, FILL, bytes + GUARD);
    memset(mask_cpu, FILL, mask_bytes + GUARD);
    if (in_place)
        memcpy(y_cpu, x, bytes);
    int cpu_status = cpu_call(op, dtype, &params, y_cpu, in_place ? y_cpu : x, n, mask_cpu_arg,
                              mask_bytes);

    for (size_t s = 0; s < SHAPES; s++) {
        memset(y_gpu, FILL, bytes + GUARD);
        memset(mask_gpu, FILL, mask_bytes + GUARD);
        if (in_place)
            memcpy(y_gpu, x, bytes);
        uint8_t *mask_arg = op == OP_BACKWARD_MASK ? mask_in : with_mask ? mask_gpu : NULL;
        cuda_plan plan;
        int status = cuda_plan_call(&plan, op, dtype, &params, seed_stream, y_gpu,
                                    in_place ? y_gpu : x, n, mask_arg, mask_bytes);
        cases_run++;
        CHECK(status == cpu_status, "%s %s n %zu: status %d, CPU %d", op_names[op],
              dtype_names[dtype], n, status, cpu_status);
        if (status != DROPOUT_OK)
            continue;
        emulate(&plan, shapes[s].grid, shapes[s].block);
        const int y_same = op == OP_MASK || op == OP_MASK_GRAPH ||
                           memcmp(y_gpu, y_cpu, bytes + GUARD) == 0;
        const int mask_same = memcmp(mask_gpu, mask_cpu, mask_bytes + GUARD) == 0;
        if (!y_same || !mask_same) {
            mismatches++;
            size_t k = 0;
            while (!y_same && k < bytes + GUARD && y_gpu[k] == y_cpu[k])
                k++;
            CHECK(y_same && mask_same,
                  "%s %s p %.17g seed %#" PRIx64 " stream %#" PRIx64 " first %" PRIu64
                  " n %zu x+%zu y+%zu%s, grid %u block %u: %s differs (first at byte %zu: "
                  "%02x, CPU %02x)",
                  op_names[op], dtype_names[dtype], params.p, params.seed, params.stream,
                  params.first, n, x_off, y_off, in_place ? " in place" : "", shapes[s].grid,
                  shapes[s].block, y_same ? "mask" : "y", k,
                  y_same ? 0 : y_gpu[k < bytes + GUARD ? k : 0],
                  y_same ? 0 : y_cpu[k < bytes + GUARD ? k : 0]);
        }
    }
    free(x_raw), free(y_cpu_raw), free(y_gpu_raw), free(mask_cpu), free(mask_gpu), free(mask_in);
}

static const double probabilities[] = {0.0,  1e-12, 0.1,  0.3, 0.123456789,
                                       0.5,  0.75,  0.99, 1.0 - 1e-12, 1.0};
#define PROBABILITIES (sizeof probabilities / sizeof probabilities[0])

static void check_systematic(test_rng *rng)
{
    /* every tail length and head (first % 16), aligned and not */
    for (int dtype = 0; dtype < 4; dtype++)
        for (int op = 0; op < OP_KINDS; op++)
            for (size_t n = 1; n <= 40; n += (n < 20 ? 1 : 7))
                for (uint64_t first = 0; first < 16; first += (n % 3 == 0 ? 1 : 5)) {
                    dropout_params params = {};
                    params.p = probabilities[(n + first + (size_t)op) % PROBABILITIES];
                    params.seed = test_rng_next(rng);
                    params.stream = test_rng_next(rng);
                    params.first = first;
                    params.mode = DROPOUT_TRAIN;
                    const size_t size = cuda_dtype_size(dtype);
                    check_case(rng, op, dtype, params, n, size * (first % 4),
                               size * ((first + n) % 3), (int)((n + first) % 5 == 0));
                }
}

static void check_random(test_rng *rng, int cases)
{
    for (int c = 0; c < cases; c++) {
        const int dtype = (int)test_rng_below(rng, 4);
        const int op = (int)test_rng_below(rng, OP_KINDS);
        const size_t size = cuda_dtype_size(dtype);
        dropout_params params = {};
        params.p = test_rng_below(rng, 3) ? probabilities[test_rng_below(rng, PROBABILITIES)]
                                          : test_rng_unit(rng);
        params.seed = test_rng_next(rng);
        params.stream = test_rng_next(rng);
        switch (test_rng_below(rng, 3)) { /* first: small, beyond 2^32, near 2^64 */
        case 0: params.first = test_rng_below(rng, 1000); break;
        case 1: params.first = (1ull << 32) - 40 + test_rng_below(rng, 80); break;
        default: params.first = test_rng_next(rng) >> 4; break;
        }
        params.mode = DROPOUT_TRAIN;
        const size_t n = 1 + (size_t)test_rng_below(rng, test_rng_below(rng, 4) ? 600 : 5000);
        check_case(rng, op, dtype, params, n, size * test_rng_below(rng, 16 / size),
                   size * test_rng_below(rng, 16 / size), test_rng_below(rng, 4) == 0);
    }
}

/* ---- errors: the CPU's status, and nothing planned ------------------------------ */

static void check_errors(void)
{
    alignas(16) float buf[64] = {0};
    uint8_t mask[8] = {0};
    const uint64_t seed_stream[2] = {1, 2};
    const dropout_params good = {0.5, 1, 2, 0, DROPOUT_TRAIN};
    struct bad {
        const char *what;
        dropout_params params;
        int null_params;
        void *y;
        const void *x;
        size_t n;
        uint8_t *mask;
        size_t mask_size;
    } bads[] = {
        {"params NULL", good, 1, buf, buf + 32, 16, mask, 8},
        {"p NaN", {NAN, 1, 2, 0, DROPOUT_TRAIN}, 0, buf, buf + 32, 16, mask, 8},
        {"p < 0", {-0.1, 1, 2, 0, DROPOUT_TRAIN}, 0, buf, buf + 32, 16, mask, 8},
        {"p > 1", {1.5, 1, 2, 0, DROPOUT_TRAIN}, 0, buf, buf + 32, 16, mask, 8},
        {"mode", {0.5, 1, 2, 0, 7}, 0, buf, buf + 32, 16, mask, 8},
        {"range", {0.5, 1, 2, UINT64_MAX, DROPOUT_TRAIN}, 0, buf, buf + 32, 16, mask, 8},
        {"x NULL", good, 0, buf, NULL, 16, mask, 8},
        {"y NULL", good, 0, NULL, buf, 16, mask, 8},
        {"overlap", good, 0, buf + 1, buf, 16, mask, 8},
        {"mask small", good, 0, buf, buf + 32, 16, mask, 1},
        {"mask NULL", good, 0, buf, buf + 32, 16, NULL, 8},
    };
    int checked = 0;
    for (size_t b = 0; b < sizeof bads / sizeof bads[0]; b++)
        for (int op = 0; op < OP_KINDS; op++)
            for (int dtype = 0; dtype < 4; dtype++) {
                const struct bad *e = &bads[b];
                const dropout_params *params = e->null_params ? NULL : &e->params;
                int cpu = cpu_call(op, dtype, params, e->y, e->x, e->n, e->mask, e->mask_size);
                cuda_plan plan;
                int got = cuda_plan_call(&plan, op, dtype, params, seed_stream, e->y, e->x, e->n,
                                         e->mask, e->mask_size);
                CHECK(got == cpu, "%s, %s %s: status %d, CPU %d", e->what, op_names[op],
                      dtype_names[dtype], got, cpu);
                CHECK(got == DROPOUT_OK || plan.step == CUDA_STEP_NONE,
                      "%s, %s %s: an error status with a step planned", e->what, op_names[op],
                      dtype_names[dtype]);
                checked++;
            }
    /* the device's own rules: elements aligned to their size; a dtype */
    cuda_plan plan;
    CHECK(cuda_plan_forward(&plan, &good, NULL, DROPOUT_DTYPE_F32, buf,
                            (const char *)(buf + 32) + 2, 8, NULL, 0) == DROPOUT_ERROR_INVALID_ARGUMENT &&
              plan.step == CUDA_STEP_NONE,
          "a misaligned f32 x is not refused");
    CHECK(cuda_plan_backward_mask(&plan, &good, DROPOUT_DTYPE_F64, (char *)buf + 4, buf + 32, 4,
                                  mask, 8) == DROPOUT_ERROR_INVALID_ARGUMENT,
          "a misaligned f64 dx is not refused");
    CHECK(cuda_plan_forward(&plan, &good, NULL, 9, buf, buf + 32, 8, NULL, 0) ==
              DROPOUT_ERROR_INVALID_DTYPE,
          "dtype 9 is not refused");
    printf("  errors: %d (bad argument, op, dtype) triples give the CPU's status, nothing "
           "planned; misalignment and dtype refused\n", checked);
}

int main(void)
{
    test_rng rng = {20261201};
    check_errors();
    check_systematic(&rng);
    check_random(&rng, 1500);
    printf("  %ld emulated launches (%zu shapes per case: library grid, 1x1, 1x32, 3x7, 2x33, "
           "5x96, 64x128), %ld differ from libdropout\n",
           cases_run, SHAPES, mismatches);
    return test_exit_code("test_cuda_emulate");
}
