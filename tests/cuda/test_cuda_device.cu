/*
 * test_cuda_device.cu — the CUDA backend on a GPU, bit for bit against the
 * CPU library (registered only where cmake/cuda.cmake found a GPU; run by
 * tests/gpu/run.sh):
 *   1. the mask header's device path (__umulhi) against its host path:
 *      Philox words and keep bits of random blocks, tie-heavy p;
 *   2. every public operation and dtype on random cases: seeds, streams and
 *      first up to 2^64, tie-heavy p, p = 0 / tiny / 1, n with every tail,
 *      device pointers offset from 16 bytes, in place; NaN payloads, Inf,
 *      subnormals in the data; a guard after every output;
 *   3. the kernels' body under odd launch shapes, grids smaller and larger
 *      than the work, on the device;
 *   4. the graph variants: one captured graph (forward + advance) replayed
 *      three times gives the masks of streams s, s + 1, s + 2;
 *   5. errors: the CPU's status and nothing written; a large call
 *      (n = 2^26 + 13) against the CPU.
 */
#include <cuda_runtime.h>

#include "test_util.h"

#include "cuda_cases.h"
#include "dropout_cuda.h"

#define CUDA_REQUIRE(call)                                                                 \
    do {                                                                                   \
        cudaError_t err_ = (call);                                                         \
        REQUIRE(err_ == cudaSuccess, "%s: %s", #call, cudaGetErrorString(err_));           \
    } while (0)

static const double tie_heavy[] = {0.0, 1e-12, 0.1, 0.3, 0.123456789, 0.5, 0.9, 1.0 - 1e-12, 1.0};
#define TIE_HEAVY (sizeof tie_heavy / sizeof tie_heavy[0])

/* ---- 1. the header on the device ----------------------------------------------- */

__global__ void header_kernel(const uint64_t *seeds, const uint64_t *streams,
                              const uint64_t *blocks, const uint64_t *thresholds, uint32_t *words,
                              uint32_t *bits, int count)
{
    int k = blockIdx.x * blockDim.x + threadIdx.x;
    if (k >= count)
        return;
    dropout_mask_v1_stream ms = dropout_mask_v1_stream_make(seeds[k], streams[k], thresholds[k]);
    dropout_mask_v1_words w = dropout_mask_v1_block(ms, blocks[k]);
    for (int j = 0; j < 4; j++)
        words[4 * k + j] = w.w[j];
    bits[2 * k] = dropout_mask_v1_keep_bits16(ms, blocks[k]);
    bits[2 * k + 1] = cuda_keep_bits16(ms, blocks[k]);
}

static void check_header(test_rng *rng)
{
    enum { COUNT = 4096 };
    uint64_t *h = (uint64_t *)test_malloc(4 * COUNT * sizeof(uint64_t));
    uint64_t *seeds = h, *streams = h + COUNT, *blocks = h + 2 * COUNT, *thresholds = h + 3 * COUNT;
    for (int k = 0; k < COUNT; k++) {
        seeds[k] = test_rng_next(rng);
        streams[k] = test_rng_next(rng);
        blocks[k] = test_rng_next(rng) >> (k % 2 ? 4 : 40);
        thresholds[k] = dropout_mask_v1_threshold(tie_heavy[k % TIE_HEAVY]);
    }
    uint64_t *d;
    uint32_t *d_words, *d_bits;
    CUDA_REQUIRE(cudaMalloc(&d, 4 * COUNT * sizeof(uint64_t)));
    CUDA_REQUIRE(cudaMalloc(&d_words, 4 * COUNT * sizeof(uint32_t)));
    CUDA_REQUIRE(cudaMalloc(&d_bits, 2 * COUNT * sizeof(uint32_t)));
    CUDA_REQUIRE(cudaMemcpy(d, h, 4 * COUNT * sizeof(uint64_t), cudaMemcpyHostToDevice));
    header_kernel<<<COUNT / 128, 128>>>(d, d + COUNT, d + 2 * COUNT, d + 3 * COUNT, d_words,
                                        d_bits, COUNT);
    CUDA_REQUIRE(cudaGetLastError());
    uint32_t *words = (uint32_t *)test_malloc(4 * COUNT * sizeof(uint32_t));
    uint32_t *bits = (uint32_t *)test_malloc(2 * COUNT * sizeof(uint32_t));
    CUDA_REQUIRE(cudaMemcpy(words, d_words, 4 * COUNT * sizeof(uint32_t), cudaMemcpyDeviceToHost));
    CUDA_REQUIRE(cudaMemcpy(bits, d_bits, 2 * COUNT * sizeof(uint32_t), cudaMemcpyDeviceToHost));
    int bad = 0;
    for (int k = 0; k < COUNT; k++) {
        dropout_mask_v1_stream ms = dropout_mask_v1_stream_make(seeds[k], streams[k], thresholds[k]);
        dropout_mask_v1_words w = dropout_mask_v1_block(ms, blocks[k]);
        uint32_t expected = dropout_mask_v1_keep_bits16(ms, blocks[k]);
        int same = memcmp(w.w, words + 4 * k, 16) == 0 && bits[2 * k] == expected &&
                   bits[2 * k + 1] == expected;
        bad += !same;
        CHECK(same, "block %" PRIu64 " seed %#" PRIx64 ": device words/bits differ from the host",
              blocks[k], seeds[k]);
    }
    printf("  header on the device: %d blocks (Philox words, keep_bits16, cuda_keep_bits16), "
           "%d differ from the host pass\n", COUNT, bad);
    cudaFree(d), cudaFree(d_words), cudaFree(d_bits);
    free(h), free(words), free(bits);
}

/* ---- 2. the public API against the CPU ---------------------------------------- */

/* The public CUDA call (graph variants: seed_stream is a device pointer). */
static int device_call(int op, int dtype, const dropout_params *params, const uint64_t *seed_stream,
                       void *y, const void *x, size_t n, uint8_t *mask, size_t mask_size,
                       cudaStream_t stream)
{
    switch (op) {
    case OP_FORWARD: case OP_FORWARD_NOMASK: case OP_EVAL:
        switch (dtype) {
        case DROPOUT_DTYPE_F32: return dropout_cuda_forward_f32(params, (float *)y, (const float *)x, n, mask, mask_size, stream);
        case DROPOUT_DTYPE_F64: return dropout_cuda_forward_f64(params, (double *)y, (const double *)x, n, mask, mask_size, stream);
        case DROPOUT_DTYPE_BF16: return dropout_cuda_forward_bf16(params, (uint16_t *)y, (const uint16_t *)x, n, mask, mask_size, stream);
        default: return dropout_cuda_forward_f16(params, (uint16_t *)y, (const uint16_t *)x, n, mask, mask_size, stream);
        }
    case OP_BACKWARD_MASK:
        switch (dtype) {
        case DROPOUT_DTYPE_F32: return dropout_cuda_backward_mask_f32(params, (float *)y, (const float *)x, n, mask, mask_size, stream);
        case DROPOUT_DTYPE_F64: return dropout_cuda_backward_mask_f64(params, (double *)y, (const double *)x, n, mask, mask_size, stream);
        case DROPOUT_DTYPE_BF16: return dropout_cuda_backward_mask_bf16(params, (uint16_t *)y, (const uint16_t *)x, n, mask, mask_size, stream);
        default: return dropout_cuda_backward_mask_f16(params, (uint16_t *)y, (const uint16_t *)x, n, mask, mask_size, stream);
        }
    case OP_BACKWARD_REGEN:
        switch (dtype) {
        case DROPOUT_DTYPE_F32: return dropout_cuda_backward_regen_f32(params, (float *)y, (const float *)x, n, stream);
        case DROPOUT_DTYPE_F64: return dropout_cuda_backward_regen_f64(params, (double *)y, (const double *)x, n, stream);
        case DROPOUT_DTYPE_BF16: return dropout_cuda_backward_regen_bf16(params, (uint16_t *)y, (const uint16_t *)x, n, stream);
        default: return dropout_cuda_backward_regen_f16(params, (uint16_t *)y, (const uint16_t *)x, n, stream);
        }
    case OP_MASK: return dropout_cuda_mask(params, n, mask, mask_size, stream);
    case OP_FORWARD_GRAPH:
        return dropout_cuda_forward_graph(params, seed_stream, dtype, y, x, n, mask, mask_size, stream);
    case OP_REGEN_GRAPH:
        return dropout_cuda_backward_regen_graph(params, seed_stream, dtype, y, x, n, stream);
    default: return dropout_cuda_mask_graph(params, seed_stream, n, mask, mask_size, stream);
    }
}

#define GUARD 256
#define FILL 0xA5

typedef struct device_buffers {
    uint8_t *x, *y, *mask_out, *mask_in; /* device, each with room for offsets and a guard */
    uint64_t *seed_stream;
    size_t capacity;                     /* bytes of x and y */
} device_buffers;

static long api_cases = 0, api_differ = 0;

/* One case through the public API; returns 1 if the device equals the CPU. */
static int check_api_case(test_rng *rng, device_buffers *d, cudaStream_t stream, int op, int dtype,
                          dropout_params params, size_t n, size_t x_off, size_t y_off, int in_place)
{
    const size_t size = cuda_dtype_size(dtype), bytes = n * size, mask_bytes = DROPOUT_MASK_BYTES(n);
    REQUIRE(bytes + 64 + GUARD <= d->capacity, "case too large");
    uint8_t *x = (uint8_t *)test_malloc(bytes), *y_cpu = (uint8_t *)test_malloc(bytes + GUARD),
            *y_dev = (uint8_t *)test_malloc(bytes + GUARD);
    uint8_t *mask_in = (uint8_t *)test_malloc(mask_bytes + 1),
            *mask_cpu = (uint8_t *)test_malloc(mask_bytes + GUARD),
            *mask_dev = (uint8_t *)test_malloc(mask_bytes + GUARD);
    random_elements(rng, dtype, x, n);
    for (size_t b = 0; b < mask_bytes; b++)
        mask_in[b] = (uint8_t)test_rng_next(rng);
    if (n % 8)
        mask_in[mask_bytes - 1] &= (uint8_t)((1u << (n % 8)) - 1u);
    if (op == OP_EVAL)
        params.mode = DROPOUT_EVAL;
    const int with_mask = op == OP_FORWARD || op == OP_FORWARD_GRAPH || op == OP_MASK ||
                          op == OP_MASK_GRAPH || op == OP_EVAL;

    memset(y_cpu, FILL, bytes + GUARD);
    memset(mask_cpu, FILL, mask_bytes + GUARD);
    if (in_place)
        memcpy(y_cpu, x, bytes);
    int cpu_status = cpu_call(op, dtype, &params, y_cpu, in_place ? y_cpu : x, n,
                              op == OP_BACKWARD_MASK ? mask_in : with_mask ? mask_cpu : NULL, mask_bytes);

    uint8_t *dx = d->x + x_off, *dy = d->y + y_off;
    CUDA_REQUIRE(cudaMemset(d->y, FILL, d->capacity));
    CUDA_REQUIRE(cudaMemset(d->mask_out, FILL, mask_bytes + GUARD));
    CUDA_REQUIRE(cudaMemcpy(in_place ? dy : dx, x, bytes, cudaMemcpyHostToDevice));
    CUDA_REQUIRE(cudaMemcpy(d->mask_in, mask_in, mask_bytes, cudaMemcpyHostToDevice));
    const uint64_t seed_stream[2] = {params.seed, params.stream};
    CUDA_REQUIRE(cudaMemcpy(d->seed_stream, seed_stream, sizeof seed_stream, cudaMemcpyHostToDevice));
    int status = device_call(op, dtype, &params, d->seed_stream, dy, in_place ? dy : dx, n,
                             op == OP_BACKWARD_MASK ? d->mask_in : with_mask ? d->mask_out : NULL,
                             mask_bytes, stream);
    CUDA_REQUIRE(cudaStreamSynchronize(stream));
    CUDA_REQUIRE(cudaMemcpy(y_dev, dy, bytes + GUARD, cudaMemcpyDeviceToHost));
    CUDA_REQUIRE(cudaMemcpy(mask_dev, d->mask_out, mask_bytes + GUARD, cudaMemcpyDeviceToHost));
    api_cases++;
    CHECK(status == cpu_status, "%s %s n %zu: status %d, CPU %d", op_names[op], dtype_names[dtype],
          n, status, cpu_status);
    int same = status == cpu_status;
    if (same && status == DROPOUT_OK) {
        const int y_same = op == OP_MASK || op == OP_MASK_GRAPH || memcmp(y_dev, y_cpu, bytes + GUARD) == 0;
        const int mask_same = memcmp(mask_dev, mask_cpu, mask_bytes + GUARD) == 0;
        same = y_same && mask_same;
        if (!same) {
            size_t k = 0;
            while (!y_same && k < bytes + GUARD && y_dev[k] == y_cpu[k])
                k++;
            CHECK(same, "%s %s p %.17g seed %#" PRIx64 " stream %#" PRIx64 " first %" PRIu64
                  " n %zu x+%zu y+%zu%s: %s differs from the CPU (byte %zu)", op_names[op],
                  dtype_names[dtype], params.p, params.seed, params.stream, params.first, n,
                  x_off, y_off, in_place ? " in place" : "", y_same ? "mask" : "y", k);
        }
    }
    api_differ += !same;
    free(x), free(y_cpu), free(y_dev), free(mask_in), free(mask_cpu), free(mask_dev);
    return same;
}

static void check_api(test_rng *rng, device_buffers *d, cudaStream_t stream)
{
    /* every tail and head, then random cases up to 2^20 elements */
    for (int dtype = 0; dtype < 4; dtype++)
        for (int op = 0; op < OP_KINDS; op++)
            for (size_t n = 1; n <= 48; n++) {
                dropout_params params = {};
                params.p = tie_heavy[(n + (size_t)op) % TIE_HEAVY];
                params.seed = test_rng_next(rng);
                params.stream = test_rng_next(rng);
                params.first = n % 17;
                params.mode = DROPOUT_TRAIN;
                const size_t size = cuda_dtype_size(dtype);
                check_api_case(rng, d, stream, op, dtype, params, n, size * (n % (16 / size)),
                               size * ((n / 3) % (16 / size)), n % 7 == 0);
            }
    for (int c = 0; c < 600; c++) {
        const int dtype = (int)test_rng_below(rng, 4), op = (int)test_rng_below(rng, OP_KINDS);
        const size_t size = cuda_dtype_size(dtype);
        dropout_params params = {};
        params.p = test_rng_below(rng, 3) ? tie_heavy[test_rng_below(rng, TIE_HEAVY)] : test_rng_unit(rng);
        params.seed = test_rng_next(rng);
        params.stream = test_rng_next(rng);
        params.first = test_rng_below(rng, 2) ? test_rng_next(rng) >> 2 : test_rng_below(rng, 1u << 20);
        params.mode = DROPOUT_TRAIN;
        const size_t n = 1 + (size_t)test_rng_below(rng, test_rng_below(rng, 8) ? 5000 : (1u << 20));
        check_api_case(rng, d, stream, op, dtype, params, n, size * test_rng_below(rng, 16 / size),
                       size * test_rng_below(rng, 16 / size), test_rng_below(rng, 4) == 0);
    }
    printf("  public API: %ld cases (every op and dtype), %ld differ from libdropout\n", api_cases,
           api_differ);
}

/* ---- 3. launch shapes on the device ------------------------------------------------ */

template <int D, int SOURCE> __global__ void shape_kernel(const cuda_op op)
{
    cuda_thread<D, SOURCE>(op, (uint64_t)blockIdx.x * blockDim.x + threadIdx.x,
                           (uint64_t)gridDim.x * blockDim.x);
}

struct shape_launcher {
    const cuda_plan *plan;
    unsigned grid, block;
    template <int D, int SOURCE> void run() const
    {
        shape_kernel<D, SOURCE><<<grid, block>>>(plan->op);
    }
};

static void check_shapes(test_rng *rng, device_buffers *d)
{
    static const unsigned shapes[][2] = {{1, 1}, {1, 32}, {3, 7}, {2, 33}, {5, 96}, {7, 1000},
                                         {1000, 61}, {4096, 256}};
    int cases = 0, differ = 0;
    for (int dtype = 0; dtype < 4; dtype++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            const size_t size = cuda_dtype_size(dtype), n = 1 + (size_t)test_rng_below(rng, 100000);
            dropout_params params = {0.3, test_rng_next(rng), test_rng_next(rng),
                                     test_rng_next(rng) >> 3, DROPOUT_TRAIN};
            uint8_t *x = (uint8_t *)test_malloc(n * size), *y_cpu = (uint8_t *)test_malloc(n * size),
                    *y_dev = (uint8_t *)test_malloc(n * size);
            uint8_t *m_cpu = (uint8_t *)test_malloc(DROPOUT_MASK_BYTES(n)),
                    *m_dev = (uint8_t *)test_malloc(DROPOUT_MASK_BYTES(n));
            random_elements(rng, dtype, x, n);
            CUDA_REQUIRE(cudaMemcpy(d->x + size, x, n * size, cudaMemcpyHostToDevice));
            cpu_call(OP_FORWARD, dtype, &params, y_cpu, x, n, m_cpu, DROPOUT_MASK_BYTES(n));
            cuda_plan plan;
            REQUIRE(cuda_plan_forward(&plan, &params, NULL, dtype, d->y, d->x + size, n, d->mask_out,
                                      DROPOUT_MASK_BYTES(n)) == DROPOUT_OK, "plan");
            shape_launcher l = {&plan, shapes[s][0], shapes[s][1]};
            cuda_plan_visit(&plan, l);
            CUDA_REQUIRE(cudaGetLastError());
            CUDA_REQUIRE(cudaMemcpy(y_dev, d->y, n * size, cudaMemcpyDeviceToHost));
            CUDA_REQUIRE(cudaMemcpy(m_dev, d->mask_out, DROPOUT_MASK_BYTES(n), cudaMemcpyDeviceToHost));
            int same = memcmp(y_dev, y_cpu, n * size) == 0 &&
                       memcmp(m_dev, m_cpu, DROPOUT_MASK_BYTES(n)) == 0;
            CHECK(same, "%s n %zu grid %u block %u: differs from the CPU", dtype_names[dtype], n,
                  shapes[s][0], shapes[s][1]);
            cases++, differ += !same;
            free(x), free(y_cpu), free(y_dev), free(m_cpu), free(m_dev);
        }
    printf("  launch shapes on the device: %d cases (1x1 ... 4096x256, grids smaller and larger "
           "than the work), %d differ\n", cases, differ);
}

/* ---- 4. CUDA graphs -------------------------------------------------------------- */

static void check_graph(test_rng *rng, device_buffers *d, cudaStream_t stream)
{
    const size_t n = 100003;
    float *x = (float *)test_malloc(n * sizeof(float)), *y = (float *)test_malloc(n * sizeof(float)),
          *y_cpu = (float *)test_malloc(n * sizeof(float));
    uint8_t *m = (uint8_t *)test_malloc(DROPOUT_MASK_BYTES(n)), *m_cpu = (uint8_t *)test_malloc(DROPOUT_MASK_BYTES(n));
    random_elements(rng, DROPOUT_DTYPE_F32, (uint8_t *)x, n);
    const uint64_t seed_stream[2] = {test_rng_next(rng), test_rng_next(rng)};
    CUDA_REQUIRE(cudaMemcpy(d->x, x, n * sizeof(float), cudaMemcpyHostToDevice));
    CUDA_REQUIRE(cudaMemcpy(d->seed_stream, seed_stream, sizeof seed_stream, cudaMemcpyHostToDevice));
    dropout_params params = {0.1, 0, 0, 12345, DROPOUT_TRAIN};
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    CUDA_REQUIRE(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
    int s1 = dropout_cuda_forward_graph(&params, d->seed_stream, DROPOUT_DTYPE_F32, d->y, d->x, n,
                                        d->mask_out, DROPOUT_MASK_BYTES(n), stream);
    int s2 = dropout_cuda_advance_graph(d->seed_stream, 1, stream);
    CUDA_REQUIRE(cudaStreamEndCapture(stream, &graph));
    CHECK(s1 == DROPOUT_OK && s2 == DROPOUT_OK, "capture: statuses %d %d", s1, s2);
    CUDA_REQUIRE(cudaGraphInstantiate(&exec, graph, 0));
    int same_all = 1;
    for (int replay = 0; replay < 3; replay++) {
        CUDA_REQUIRE(cudaGraphLaunch(exec, stream));
        CUDA_REQUIRE(cudaStreamSynchronize(stream));
        CUDA_REQUIRE(cudaMemcpy(y, d->y, n * sizeof(float), cudaMemcpyDeviceToHost));
        CUDA_REQUIRE(cudaMemcpy(m, d->mask_out, DROPOUT_MASK_BYTES(n), cudaMemcpyDeviceToHost));
        dropout_params cpu = params;
        cpu.seed = seed_stream[0];
        cpu.stream = seed_stream[1] + (uint64_t)replay;
        CHECK_OK(dropout_forward_f32(&cpu, y_cpu, x, n, m_cpu, DROPOUT_MASK_BYTES(n)));
        int same = memcmp(y, y_cpu, n * sizeof(float)) == 0 && memcmp(m, m_cpu, DROPOUT_MASK_BYTES(n)) == 0;
        CHECK(same, "graph replay %d: not the CPU's stream %" PRIu64, replay, cpu.stream);
        same_all &= same;
    }
    uint64_t after[2];
    CUDA_REQUIRE(cudaMemcpy(after, d->seed_stream, sizeof after, cudaMemcpyDeviceToHost));
    CHECK(after[0] == seed_stream[0] && after[1] == seed_stream[1] + 3, "advance: stream %" PRIu64
          ", expected %" PRIu64, after[1], seed_stream[1] + 3);
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
    printf("  CUDA graph: forward_graph + advance_graph captured once, 3 replays = CPU streams "
           "s, s+1, s+2: %s\n", same_all ? "yes" : "NO");
    free(x), free(y), free(y_cpu), free(m), free(m_cpu);
}

/* ---- 5. errors, and one large call ----------------------------------------------- */

static void check_errors_and_large(test_rng *rng, device_buffers *d, cudaStream_t stream)
{
    /* an error writes nothing: the output keeps its fill */
    CUDA_REQUIRE(cudaMemset(d->y, FILL, 4096));
    dropout_params bad = {1.5, 1, 2, 0, DROPOUT_TRAIN};
    CHECK_STATUS(dropout_cuda_forward_f32(&bad, (float *)d->y, (const float *)d->x, 256, NULL, 0, stream),
                 DROPOUT_ERROR_INVALID_P);
    dropout_params good = {0.5, 1, 2, 0, DROPOUT_TRAIN};
    CHECK_STATUS(dropout_cuda_forward_f32(&good, (float *)d->y, (const float *)(d->x + 2), 256, NULL, 0, stream),
                 DROPOUT_ERROR_INVALID_ARGUMENT);
    CHECK_STATUS(dropout_cuda_forward_bf16(&good, (uint16_t *)d->y, (const uint16_t *)d->y + 1, 256,
                                           NULL, 0, stream), DROPOUT_ERROR_OVERLAP);
    CHECK_STATUS(dropout_cuda_forward_graph(&good, NULL, DROPOUT_DTYPE_F32, d->y, d->x, 256, NULL,
                                            0, stream), DROPOUT_ERROR_NULL_POINTER);
    CHECK_STATUS(dropout_cuda_mask(&good, 256, d->mask_out, 1, stream), DROPOUT_ERROR_MASK_TOO_SMALL);
    CUDA_REQUIRE(cudaStreamSynchronize(stream));
    uint8_t out[4096];
    CUDA_REQUIRE(cudaMemcpy(out, d->y, sizeof out, cudaMemcpyDeviceToHost));
    int untouched = 1;
    for (size_t k = 0; k < sizeof out; k++)
        untouched &= out[k] == FILL;
    CHECK(untouched, "an error call wrote to the output");
    int count = 0;
    CHECK_OK(dropout_cuda_device_count(&count));
    char name[128];
    CHECK_OK(dropout_cuda_device_name(name, sizeof name));
    printf("  errors: statuses as the CPU, nothing written; device: %s (%d found)\n", name, count);

    /* n = 2^26 + 13 f32 with a mask, first beyond 2^32, tie-heavy p */
    const size_t n = (1u << 26) + 13;
    dropout_params params = {0.123456789, test_rng_next(rng), test_rng_next(rng), (1ull << 35) + 3,
                             DROPOUT_TRAIN};
    float *x = (float *)test_malloc(n * 4), *y = (float *)test_malloc(n * 4), *y_cpu = (float *)test_malloc(n * 4);
    uint8_t *m = (uint8_t *)test_malloc(DROPOUT_MASK_BYTES(n)), *m_cpu = (uint8_t *)test_malloc(DROPOUT_MASK_BYTES(n));
    random_elements(rng, DROPOUT_DTYPE_F32, (uint8_t *)x, n);
    float *dx, *dy;
    uint8_t *dm;
    CUDA_REQUIRE(cudaMalloc(&dx, n * 4));
    CUDA_REQUIRE(cudaMalloc(&dy, n * 4));
    CUDA_REQUIRE(cudaMalloc(&dm, DROPOUT_MASK_BYTES(n)));
    CUDA_REQUIRE(cudaMemcpy(dx, x, n * 4, cudaMemcpyHostToDevice));
    CHECK_OK(dropout_cuda_forward_f32(&params, dy, dx, n, dm, DROPOUT_MASK_BYTES(n), stream));
    CHECK_OK(dropout_cuda_synchronize(stream));
    CUDA_REQUIRE(cudaMemcpy(y, dy, n * 4, cudaMemcpyDeviceToHost));
    CUDA_REQUIRE(cudaMemcpy(m, dm, DROPOUT_MASK_BYTES(n), cudaMemcpyDeviceToHost));
    CHECK_OK(dropout_forward_f32(&params, y_cpu, x, n, m_cpu, DROPOUT_MASK_BYTES(n)));
    int same = memcmp(y, y_cpu, n * 4) == 0 && memcmp(m, m_cpu, DROPOUT_MASK_BYTES(n)) == 0;
    CHECK(same, "n = 2^26 + 13: the device differs from the CPU");
    printf("  large: f32 forward of 2^26 + 13 elements at first 2^35 + 3, p 0.123456789: %s\n",
           same ? "bit-identical to the CPU" : "DIFFERS");
    cudaFree(dx), cudaFree(dy), cudaFree(dm);
    free(x), free(y), free(y_cpu), free(m), free(m_cpu);
}

int main(void)
{
    int count = 0;
    int status = dropout_cuda_device_count(&count);
    REQUIRE(status == DROPOUT_OK && count > 0, "no CUDA device: %s", dropout_cuda_error_string());
    test_rng rng = {0xC0DA};
    cudaStream_t stream;
    CUDA_REQUIRE(cudaStreamCreate(&stream));
    device_buffers d;
    d.capacity = (8u << 20) * 8 + 4096;
    CUDA_REQUIRE(cudaMalloc(&d.x, d.capacity));
    CUDA_REQUIRE(cudaMalloc(&d.y, d.capacity));
    CUDA_REQUIRE(cudaMalloc(&d.mask_out, d.capacity / 8 + GUARD));
    CUDA_REQUIRE(cudaMalloc(&d.mask_in, d.capacity / 8 + GUARD));
    CUDA_REQUIRE(cudaMalloc(&d.seed_stream, 2 * sizeof(uint64_t)));
    check_header(&rng);
    check_api(&rng, &d, stream);
    check_shapes(&rng, &d);
    check_graph(&rng, &d, stream);
    check_errors_and_large(&rng, &d, stream);
    cudaFree(d.x), cudaFree(d.y), cudaFree(d.mask_out), cudaFree(d.mask_in), cudaFree(d.seed_stream);
    cudaStreamDestroy(stream);
    return test_exit_code("test_cuda_device");
}
