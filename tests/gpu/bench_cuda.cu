/*
 * bench_cuda.cu — the CUDA backend against the speed of memory: each
 * operation is timed against cudaMemcpyAsync device-to-device on the same
 * buffers (x -> y), the two sides in turn, several rounds, and the table
 * gives the effective bandwidth of each (bytes read + written / time) and
 * their ratio, min .. max over the rounds (median in brackets).
 *
 *   bench_cuda [log2_n]      (default 28: n = 2^28 elements, 1 GiB of f32)
 *
 * Targets (issue 13): f32 forward >= 0.90 of the copy, bf16 forward >= 0.85.
 * A benchmark, not a test: it prints, it does not fail on speed.
 */
#include <cuda_runtime.h>

#include <algorithm>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dropout_cuda.h"

#define CUDA_REQUIRE(call)                                                              \
    do {                                                                                \
        cudaError_t err_ = (call);                                                      \
        if (err_ != cudaSuccess) {                                                      \
            fprintf(stderr, "bench_cuda: %s: %s\n", #call, cudaGetErrorString(err_));   \
            exit(2);                                                                    \
        }                                                                               \
    } while (0)

enum { ROUNDS = 11, REPS = 5 };

typedef enum op_kind { FORWARD, FORWARD_MASK, BACKWARD_MASK, BACKWARD_REGEN, MASK_ONLY } op_kind;

typedef struct bench_case {
    const char *name;
    op_kind op;
    int dtype;
    int shift; /* n = 2^(log2_n - shift) */
    double target;
} bench_case;

static const bench_case cases[] = {
    {"forward", FORWARD, DROPOUT_DTYPE_F32, 0, 0.90},
    {"forward + mask", FORWARD_MASK, DROPOUT_DTYPE_F32, 0, 0},
    {"backward_mask", BACKWARD_MASK, DROPOUT_DTYPE_F32, 0, 0},
    {"backward_regen", BACKWARD_REGEN, DROPOUT_DTYPE_F32, 0, 0},
    {"forward", FORWARD, DROPOUT_DTYPE_BF16, 0, 0.85},
    {"forward + mask", FORWARD_MASK, DROPOUT_DTYPE_BF16, 0, 0},
    {"backward_mask", BACKWARD_MASK, DROPOUT_DTYPE_BF16, 0, 0},
    {"backward_regen", BACKWARD_REGEN, DROPOUT_DTYPE_BF16, 0, 0},
    {"forward", FORWARD, DROPOUT_DTYPE_F16, 0, 0},
    {"forward", FORWARD, DROPOUT_DTYPE_F64, 1, 0},
    {"backward_mask", BACKWARD_MASK, DROPOUT_DTYPE_F64, 1, 0},
};
static const char *dtype_names[] = {"f32", "f64", "bf16", "f16"};

static size_t dtype_size(int dtype)
{
    return dtype == DROPOUT_DTYPE_F64 ? 8 : dtype == DROPOUT_DTYPE_F32 ? 4 : 2;
}

static int run_op(const bench_case *c, const dropout_params *params, void *y, const void *x,
                  size_t n, uint8_t *mask, cudaStream_t s)
{
    const size_t mb = DROPOUT_MASK_BYTES(n);
    uint8_t *m = c->op == FORWARD_MASK ? mask : NULL;
    switch (c->op) {
    case FORWARD:
    case FORWARD_MASK:
        switch (c->dtype) {
        case DROPOUT_DTYPE_F32: return dropout_cuda_forward_f32(params, (float *)y, (const float *)x, n, m, mb, s);
        case DROPOUT_DTYPE_F64: return dropout_cuda_forward_f64(params, (double *)y, (const double *)x, n, m, mb, s);
        case DROPOUT_DTYPE_BF16: return dropout_cuda_forward_bf16(params, (uint16_t *)y, (const uint16_t *)x, n, m, mb, s);
        default: return dropout_cuda_forward_f16(params, (uint16_t *)y, (const uint16_t *)x, n, m, mb, s);
        }
    case BACKWARD_MASK:
        switch (c->dtype) {
        case DROPOUT_DTYPE_F32: return dropout_cuda_backward_mask_f32(params, (float *)y, (const float *)x, n, mask, mb, s);
        case DROPOUT_DTYPE_F64: return dropout_cuda_backward_mask_f64(params, (double *)y, (const double *)x, n, mask, mb, s);
        case DROPOUT_DTYPE_BF16: return dropout_cuda_backward_mask_bf16(params, (uint16_t *)y, (const uint16_t *)x, n, mask, mb, s);
        default: return dropout_cuda_backward_mask_f16(params, (uint16_t *)y, (const uint16_t *)x, n, mask, mb, s);
        }
    case BACKWARD_REGEN:
        switch (c->dtype) {
        case DROPOUT_DTYPE_F32: return dropout_cuda_backward_regen_f32(params, (float *)y, (const float *)x, n, s);
        case DROPOUT_DTYPE_F64: return dropout_cuda_backward_regen_f64(params, (double *)y, (const double *)x, n, s);
        case DROPOUT_DTYPE_BF16: return dropout_cuda_backward_regen_bf16(params, (uint16_t *)y, (const uint16_t *)x, n, s);
        default: return dropout_cuda_backward_regen_f16(params, (uint16_t *)y, (const uint16_t *)x, n, s);
        }
    default:
        return dropout_cuda_mask(params, n, mask, mb, s);
    }
}

/* Milliseconds per call of REPS back-to-back calls of one side. */
static float time_side(int copy, const bench_case *c, const dropout_params *params, void *y,
                       const void *x, size_t n, uint8_t *mask, cudaStream_t s, cudaEvent_t e0,
                       cudaEvent_t e1)
{
    CUDA_REQUIRE(cudaEventRecord(e0, s));
    for (int r = 0; r < REPS; r++) {
        if (copy) {
            CUDA_REQUIRE(cudaMemcpyAsync(y, x, n * dtype_size(c->dtype), cudaMemcpyDeviceToDevice, s));
        } else if (run_op(c, params, y, x, n, mask, s) != DROPOUT_OK) {
            fprintf(stderr, "bench_cuda: %s %s failed: %s\n", c->name, dtype_names[c->dtype],
                    dropout_cuda_error_string());
            exit(2);
        }
    }
    CUDA_REQUIRE(cudaEventRecord(e1, s));
    CUDA_REQUIRE(cudaEventSynchronize(e1));
    float ms = 0;
    CUDA_REQUIRE(cudaEventElapsedTime(&ms, e0, e1));
    return ms / REPS;
}

int main(int argc, char **argv)
{
    const int log2_n = argc > 1 ? atoi(argv[1]) : 28;
    if (log2_n < 10 || log2_n > 31) {
        fprintf(stderr, "bench_cuda: log2_n must be 10 ... 31\n");
        return 2;
    }
    char device[128];
    if (dropout_cuda_device_name(device, sizeof device) != DROPOUT_OK) {
        fprintf(stderr, "bench_cuda: no CUDA device: %s\n", dropout_cuda_error_string());
        return 2;
    }
    const size_t n_max = (size_t)1 << log2_n;
    void *x, *y;
    uint8_t *mask;
    CUDA_REQUIRE(cudaMalloc(&x, n_max * 4));
    CUDA_REQUIRE(cudaMalloc(&y, n_max * 4));
    CUDA_REQUIRE(cudaMalloc(&mask, n_max / 8));
    CUDA_REQUIRE(cudaMemset(x, 0x3C, n_max * 4)); /* finite values in every dtype */
    cudaStream_t s;
    cudaEvent_t e0, e1;
    CUDA_REQUIRE(cudaStreamCreate(&s));
    CUDA_REQUIRE(cudaEventCreate(&e0));
    CUDA_REQUIRE(cudaEventCreate(&e1));
    const dropout_params params = {0.1, 0x123456789abcdefull, 42, 0, DROPOUT_TRAIN};
    /* a mask for the backward_mask rows */
    CUDA_REQUIRE(dropout_cuda_mask(&params, n_max, mask, n_max / 8, s) == DROPOUT_OK
                     ? cudaSuccess : cudaErrorUnknown);

    printf("bench_cuda: %s; p = 0.1; %d rounds of %d calls per side, copy and op in turn\n",
           device, ROUNDS, REPS);
    printf("%-16s %-5s %-6s %-22s %-22s %-26s %s\n", "op", "dtype", "n", "copy GB/s (min..max)",
           "op GB/s (min..max)", "ratio min..max [median]", "target");
    int misses = 0;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const bench_case *c = &cases[k];
        const size_t size = dtype_size(c->dtype);
        const size_t n = (size_t)1 << (log2_n - c->shift);
        const double copy_bytes = 2.0 * (double)(n * size);
        double op_bytes = copy_bytes;
        if (c->op == FORWARD_MASK || c->op == BACKWARD_MASK)
            op_bytes += (double)DROPOUT_MASK_BYTES(n);
        for (int w = 0; w < 2; w++) { /* warm up both sides */
            time_side(1, c, &params, y, x, n, mask, s, e0, e1);
            time_side(0, c, &params, y, x, n, mask, s, e0, e1);
        }
        double copy_gbs[ROUNDS], op_gbs[ROUNDS], ratio[ROUNDS];
        for (int r = 0; r < ROUNDS; r++) {
            float t_copy = time_side(1, c, &params, y, x, n, mask, s, e0, e1);
            float t_op = time_side(0, c, &params, y, x, n, mask, s, e0, e1);
            copy_gbs[r] = copy_bytes / (t_copy * 1e6);
            op_gbs[r] = op_bytes / (t_op * 1e6);
            ratio[r] = op_gbs[r] / copy_gbs[r];
        }
        std::sort(copy_gbs, copy_gbs + ROUNDS);
        std::sort(op_gbs, op_gbs + ROUNDS);
        std::sort(ratio, ratio + ROUNDS);
        char copy_col[32], op_col[32], ratio_col[40], target_col[32] = "-";
        snprintf(copy_col, sizeof copy_col, "%.0f..%.0f", copy_gbs[0], copy_gbs[ROUNDS - 1]);
        snprintf(op_col, sizeof op_col, "%.0f..%.0f", op_gbs[0], op_gbs[ROUNDS - 1]);
        snprintf(ratio_col, sizeof ratio_col, "%.3f..%.3f [%.3f]", ratio[0], ratio[ROUNDS - 1],
                 ratio[ROUNDS / 2]);
        if (c->target > 0) {
            const int met = ratio[ROUNDS / 2] >= c->target;
            misses += !met;
            snprintf(target_col, sizeof target_col, ">= %.2f: %s", c->target, met ? "met" : "MISSED");
        }
        char n_col[16];
        snprintf(n_col, sizeof n_col, "2^%d", log2_n - c->shift);
        printf("%-16s %-5s %-6s %-22s %-22s %-26s %s\n", c->name, dtype_names[c->dtype], n_col,
               copy_col, op_col, ratio_col, target_col);
    }
    printf("bench_cuda: GB/s counts bytes read + written (the mask's n/8 bytes included where "
           "an op reads or writes one); targets judged on the median ratio: %s\n",
           misses ? "some MISSED" : "all met");
    cudaFree(x), cudaFree(y), cudaFree(mask);
    return 0;
}
