/*
 * dropout_cuda.cu — the CUDA backend's public functions (include/dropout_cuda.h):
 * plan the call on the host (plan.h), then enqueue its one step on the
 * caller's stream.  The kernels are one line each around thread.cuh's
 * per-thread body.
 */
#include <cuda_runtime.h>

#include <stdio.h>

#include "dropout_cuda.h"
#include "cuda_plan.h"

/* ---- the kernels: <dtype, source of the keep bits> -------------------------- */

template <int D, int SOURCE> __global__ void cuda_kernel(const cuda_op op)
{
    cuda_thread<D, SOURCE>(op, (uint64_t)blockIdx.x * blockDim.x + threadIdx.x,
                           (uint64_t)gridDim.x * blockDim.x);
}

__global__ void cuda_advance_kernel(uint64_t *seed_stream, uint64_t count)
{
    seed_stream[1] += count;
}

/* ---- errors --------------------------------------------------------------- */

static thread_local const char *cuda_last_error = "";

static int cuda_fail(cudaError_t err)
{
    if (err == cudaSuccess)
        return DROPOUT_OK;
    cuda_last_error = cudaGetErrorString(err);
    return DROPOUT_ERROR_DEVICE;
}

extern "C" const char *dropout_cuda_error_string(void)
{
    return cuda_last_error;
}

/* ---- running a plan --------------------------------------------------------- */

/* Launches the plan's kernel (cuda_plan_visit picks the instantiation). */
struct cuda_launcher {
    const cuda_plan *plan;
    cudaStream_t stream;
    template <int D, int SOURCE> void run() const
    {
        cuda_kernel<D, SOURCE><<<cuda_plan_grid(plan), CUDA_BLOCK, 0, stream>>>(plan->op);
    }
};

static int cuda_run(const cuda_plan *plan, int status, struct CUstream_st *stream)
{
    if (status != DROPOUT_OK)
        return status;
    cudaStream_t s = (cudaStream_t)stream;
    switch (plan->step) {
    case CUDA_STEP_NONE:
        return DROPOUT_OK;
    case CUDA_STEP_COPY:
        return cuda_fail(cudaMemcpyAsync(plan->copy_dst, plan->copy_src, plan->copy_bytes,
                                         cudaMemcpyDeviceToDevice, s));
    case CUDA_STEP_ZERO:
        return cuda_fail(cudaMemsetAsync(plan->copy_dst, 0, plan->copy_bytes, s));
    case CUDA_STEP_KERNEL: break;
    }
    cuda_launcher launcher = {plan, s};
    cuda_plan_visit(plan, launcher);
    return cuda_fail(cudaGetLastError());
}

/* ---- the operations --------------------------------------------------------- */

#define CUDA_TYPED_OPS(suffix, type, dtype)                                                     \
    extern "C" int dropout_cuda_forward_##suffix(const dropout_params *params, type *y,        \
                                                 const type *x, size_t n, uint8_t *mask,       \
                                                 size_t mask_size, struct CUstream_st *stream) \
    {                                                                                           \
        cuda_plan plan;                                                                         \
        int status = cuda_plan_forward(&plan, params, NULL, dtype, y, x, n, mask, mask_size);   \
        return cuda_run(&plan, status, stream);                                                 \
    }                                                                                           \
    extern "C" int dropout_cuda_backward_regen_##suffix(const dropout_params *params,          \
                                                        type *dx, const type *dy, size_t n,    \
                                                        struct CUstream_st *stream)            \
    {                                                                                           \
        cuda_plan plan;                                                                         \
        int status = cuda_plan_forward(&plan, params, NULL, dtype, dx, dy, n, NULL, 0);         \
        return cuda_run(&plan, status, stream);                                                 \
    }                                                                                           \
    extern "C" int dropout_cuda_backward_mask_##suffix(                                         \
        const dropout_params *params, type *dx, const type *dy, size_t n, const uint8_t *mask, \
        size_t mask_size, struct CUstream_st *stream)                                           \
    {                                                                                           \
        cuda_plan plan;                                                                         \
        int status = cuda_plan_backward_mask(&plan, params, dtype, dx, dy, n, mask, mask_size); \
        return cuda_run(&plan, status, stream);                                                 \
    }

CUDA_TYPED_OPS(f32, float, DROPOUT_DTYPE_F32)
CUDA_TYPED_OPS(f64, double, DROPOUT_DTYPE_F64)
CUDA_TYPED_OPS(bf16, uint16_t, DROPOUT_DTYPE_BF16)
CUDA_TYPED_OPS(f16, uint16_t, DROPOUT_DTYPE_F16)

extern "C" int dropout_cuda_mask(const dropout_params *params, size_t n, uint8_t *mask,
                                 size_t mask_size, struct CUstream_st *stream)
{
    cuda_plan plan;
    int status = cuda_plan_mask(&plan, params, NULL, mask, mask_size, n);
    return cuda_run(&plan, status, stream);
}

/* ---- CUDA graphs: (seed, stream) from device memory ------------------------- */

extern "C" int dropout_cuda_forward_graph(const dropout_params *params,
                                          const uint64_t *seed_stream, int dtype, void *y,
                                          const void *x, size_t n, uint8_t *mask,
                                          size_t mask_size, struct CUstream_st *stream)
{
    cuda_plan plan;
    int status = cuda_plan_forward(&plan, params, seed_stream, dtype, y, x, n, mask, mask_size);
    if (status == DROPOUT_OK && seed_stream == NULL)
        status = DROPOUT_ERROR_NULL_POINTER;
    return cuda_run(&plan, status, stream);
}

extern "C" int dropout_cuda_backward_regen_graph(const dropout_params *params,
                                                 const uint64_t *seed_stream, int dtype,
                                                 void *dx, const void *dy, size_t n,
                                                 struct CUstream_st *stream)
{
    return dropout_cuda_forward_graph(params, seed_stream, dtype, dx, dy, n, NULL, 0, stream);
}

extern "C" int dropout_cuda_mask_graph(const dropout_params *params, const uint64_t *seed_stream,
                                       size_t n, uint8_t *mask, size_t mask_size,
                                       struct CUstream_st *stream)
{
    cuda_plan plan;
    int status = cuda_plan_mask(&plan, params, seed_stream, mask, mask_size, n);
    if (status == DROPOUT_OK && seed_stream == NULL)
        status = DROPOUT_ERROR_NULL_POINTER;
    return cuda_run(&plan, status, stream);
}

extern "C" int dropout_cuda_advance_graph(uint64_t *seed_stream, uint64_t count,
                                          struct CUstream_st *stream)
{
    if (seed_stream == NULL)
        return DROPOUT_ERROR_NULL_POINTER;
    cuda_advance_kernel<<<1, 1, 0, (cudaStream_t)stream>>>(seed_stream, count);
    return cuda_fail(cudaGetLastError());
}

/* ---- runtime helpers -------------------------------------------------------- */

extern "C" int dropout_cuda_device_count(int *count)
{
    if (count == NULL)
        return DROPOUT_ERROR_NULL_POINTER;
    *count = 0;
    int found = 0;
    int status = cuda_fail(cudaGetDeviceCount(&found));
    if (status == DROPOUT_OK && found == 0)
        status = cuda_fail(cudaErrorNoDevice);
    if (status == DROPOUT_OK)
        *count = found;
    return status;
}

extern "C" int dropout_cuda_device_name(char *name, size_t size)
{
    if (name == NULL || size == 0)
        return DROPOUT_ERROR_NULL_POINTER;
    int device = 0;
    cudaDeviceProp prop;
    int status = cuda_fail(cudaGetDevice(&device));
    if (status == DROPOUT_OK)
        status = cuda_fail(cudaGetDeviceProperties(&prop, device));
    if (status == DROPOUT_OK)
        snprintf(name, size, "%s, sm_%d%d, %d SMs", prop.name, prop.major, prop.minor,
                 prop.multiProcessorCount);
    return status;
}

extern "C" int dropout_cuda_alloc(void **ptr, size_t bytes)
{
    if (ptr == NULL)
        return DROPOUT_ERROR_NULL_POINTER;
    void *p = NULL;
    int status = cuda_fail(cudaMalloc(&p, bytes));
    if (status == DROPOUT_OK)
        *ptr = p;
    return status;
}

extern "C" int dropout_cuda_free(void *ptr)
{
    return cuda_fail(cudaFree(ptr));
}

extern "C" int dropout_cuda_copy(void *dst, const void *src, size_t bytes,
                                 struct CUstream_st *stream)
{
    if (bytes == 0)
        return DROPOUT_OK;
    if (dst == NULL || src == NULL)
        return DROPOUT_ERROR_NULL_POINTER;
    return cuda_fail(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, (cudaStream_t)stream));
}

extern "C" int dropout_cuda_synchronize(struct CUstream_st *stream)
{
    return cuda_fail(cudaStreamSynchronize((cudaStream_t)stream));
}
