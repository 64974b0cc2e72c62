/*
 * dropout_cuda.h — the CUDA backend (libdropout_cuda, CMake target
 * dropout::cuda): the tier 2 operations of dropout.h on NVIDIA GPUs, with the
 * very same bits as the CPU library.
 *
 * Including it needs no CUDA header: a stream is a `struct CUstream_st *`,
 * which is what cudaStream_t and CUstream are (pass
 * torch.cuda.current_stream().cuda_stream, a cupy stream's .ptr, or NULL for
 * the legacy default stream).
 *
 * ---------------------------------------------------------------------------
 * The contract
 * ---------------------------------------------------------------------------
 * Every call takes the arguments of its CPU twin in dropout.h (the same
 * dropout_params with `first`, the packed mask format of docs/SPEC.md
 * section 3, the same status codes) plus a stream, and computes exactly what
 * the CPU computes, bit for bit: same mask, same scale s rounded the same way,
 * one multiply per kept element (bf16/f16 in f32, rounded to nearest-even
 * once), +0.0 for dropped ones, NaN payloads kept as an x86 or Arm multiply
 * keeps them.  The mask of element i depends on (seed, stream, first + i, p)
 * only: not on the GPU model, grid, alignment or dtype.
 *
 *   - Pointers (x, y, dx, dy, mask) are device pointers (cudaMalloc, managed
 *     or mapped memory) of the calling thread's current device; elements
 *     aligned to their size.  The params struct is read on the host, during
 *     the call.
 *   - Asynchronous: the work is enqueued on `stream` and the call returns;
 *     nothing is allocated and nothing synchronizes.  Outputs are ready when
 *     the stream says so.  Calls can be captured in a CUDA graph; the *_graph
 *     variants below also read (seed, stream) from device memory, so one
 *     captured graph draws a fresh mask at every replay.
 *   - Arguments are validated on the host, before anything is enqueued: on
 *     any error status nothing is enqueued and no output byte is written.
 *     Misaligned elements give DROPOUT_ERROR_INVALID_ARGUMENT; a missing
 *     device or driver, or a launch the runtime refuses (say, a GPU older
 *     than sm_80, for which the library has neither machine code nor PTX),
 *     gives DROPOUT_ERROR_DEVICE, and dropout_cuda_error_string() says what
 *     the runtime said.  Errors of the kernel itself (a bad device pointer)
 *     surface, as with any CUDA library, at the next synchronization.
 *   - In-place (y == x, dx == dy) is allowed; partial overlap is not
 *     (DROPOUT_ERROR_OVERLAP).
 *
 * One thread per 16-element block of the mask index space (one Philox call
 * per thread), 16-byte loads and stores where the data is aligned, a
 * grid-stride loop.  A mask written at a `first` that is not a multiple of 8
 * costs a second Philox call per block (its bytes straddle blocks).
 */
#ifndef DROPOUT_CUDA_H
#define DROPOUT_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "dropout.h"

#ifdef __cplusplus
extern "C" {
#endif

struct CUstream_st; /* cudaStream_t == CUstream == struct CUstream_st * */

/* ===========================================================================
 * The operations: dropout.h's tier 2, on the device
 * ======================================================================== */

/* Training: y = keep ? x * s : +0.0, and the packed mask if mask != NULL.
 * Evaluation: y = x bitwise (a device-to-device copy, none when y == x); the
 * mask is not written. */
DROPOUT_API int dropout_cuda_forward_f32(const dropout_params *params, float *y,
                                         const float *x, size_t n, uint8_t *mask,
                                         size_t mask_size, struct CUstream_st *stream);
DROPOUT_API int dropout_cuda_forward_f64(const dropout_params *params, double *y,
                                         const double *x, size_t n, uint8_t *mask,
                                         size_t mask_size, struct CUstream_st *stream);
DROPOUT_API int dropout_cuda_forward_bf16(const dropout_params *params, uint16_t *y,
                                          const uint16_t *x, size_t n, uint8_t *mask,
                                          size_t mask_size, struct CUstream_st *stream);
DROPOUT_API int dropout_cuda_forward_f16(const dropout_params *params, uint16_t *y,
                                         const uint16_t *x, size_t n, uint8_t *mask,
                                         size_t mask_size, struct CUstream_st *stream);

/* Backward from the packed mask a forward wrote: only params->p and
 * params->mode are used.  dx = keep ? dy * s : +0.0; evaluation: dx = dy. */
DROPOUT_API int dropout_cuda_backward_mask_f32(const dropout_params *params, float *dx,
                                               const float *dy, size_t n, const uint8_t *mask,
                                               size_t mask_size, struct CUstream_st *stream);
DROPOUT_API int dropout_cuda_backward_mask_f64(const dropout_params *params, double *dx,
                                               const double *dy, size_t n, const uint8_t *mask,
                                               size_t mask_size, struct CUstream_st *stream);
DROPOUT_API int dropout_cuda_backward_mask_bf16(const dropout_params *params, uint16_t *dx,
                                                const uint16_t *dy, size_t n,
                                                const uint8_t *mask, size_t mask_size,
                                                struct CUstream_st *stream);
DROPOUT_API int dropout_cuda_backward_mask_f16(const dropout_params *params, uint16_t *dx,
                                               const uint16_t *dy, size_t n,
                                               const uint8_t *mask, size_t mask_size,
                                               struct CUstream_st *stream);

/* Backward regenerating the forward's mask from the same params: no mask
 * memory at all. */
DROPOUT_API int dropout_cuda_backward_regen_f32(const dropout_params *params, float *dx,
                                                const float *dy, size_t n,
                                                struct CUstream_st *stream);
DROPOUT_API int dropout_cuda_backward_regen_f64(const dropout_params *params, double *dx,
                                                const double *dy, size_t n,
                                                struct CUstream_st *stream);
DROPOUT_API int dropout_cuda_backward_regen_bf16(const dropout_params *params, uint16_t *dx,
                                                 const uint16_t *dy, size_t n,
                                                 struct CUstream_st *stream);
DROPOUT_API int dropout_cuda_backward_regen_f16(const dropout_params *params, uint16_t *dx,
                                                const uint16_t *dy, size_t n,
                                                struct CUstream_st *stream);

/* The packed mask alone (params->mode is ignored). */
DROPOUT_API int dropout_cuda_mask(const dropout_params *params, size_t n,
                                  uint8_t *mask, size_t mask_size, struct CUstream_st *stream);

/* ===========================================================================
 * CUDA graphs: (seed, stream) in device memory
 * ===========================================================================
 * seed_stream is a device pointer to two uint64_t, {seed, stream}, read by
 * the kernel when it runs (params->seed and params->stream are ignored; p,
 * first and mode are taken from params during the call, as usual).  Capture
 * the calls once, add dropout_cuda_advance_graph() after them, and every
 * replay uses the next stream: what a dropout layer does, without leaving
 * the graph.  dtype is a dropout_dtype; y/x/dx/dy point at elements of it.
 */
DROPOUT_API int dropout_cuda_forward_graph(const dropout_params *params,
                                           const uint64_t *seed_stream, int dtype, void *y,
                                           const void *x, size_t n, uint8_t *mask,
                                           size_t mask_size, struct CUstream_st *stream);
DROPOUT_API int dropout_cuda_backward_regen_graph(const dropout_params *params,
                                                  const uint64_t *seed_stream, int dtype,
                                                  void *dx, const void *dy, size_t n,
                                                  struct CUstream_st *stream);
DROPOUT_API int dropout_cuda_mask_graph(const dropout_params *params,
                                        const uint64_t *seed_stream, size_t n,
                                        uint8_t *mask, size_t mask_size,
                                        struct CUstream_st *stream);
/* seed_stream[1] += count, on the device, in stream order. */
DROPOUT_API int dropout_cuda_advance_graph(uint64_t *seed_stream, uint64_t count,
                                           struct CUstream_st *stream);

/* ===========================================================================
 * Runtime helpers, for programs that include no CUDA header (the dropout
 * CLI, ctypes)
 * ======================================================================== */
/* *count = the number of CUDA devices; DROPOUT_ERROR_DEVICE (and *count = 0)
 * when there is no driver or no device. */
DROPOUT_API int dropout_cuda_device_count(int *count);
/* "NVIDIA H200, sm_90, 132 SMs" for the current device, into name[size]. */
DROPOUT_API int dropout_cuda_device_name(char *name, size_t size);
/* cudaMalloc / cudaFree. */
DROPOUT_API int dropout_cuda_alloc(void **ptr, size_t bytes);
DROPOUT_API int dropout_cuda_free(void *ptr);
/* cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, stream): any direction. */
DROPOUT_API int dropout_cuda_copy(void *dst, const void *src, size_t bytes,
                                  struct CUstream_st *stream);
/* cudaStreamSynchronize(stream): DROPOUT_ERROR_DEVICE if the stream's work
 * failed. */
DROPOUT_API int dropout_cuda_synchronize(struct CUstream_st *stream);
/* What the CUDA runtime said at this thread's most recent
 * DROPOUT_ERROR_DEVICE ("no CUDA-capable device is detected"); "" if none. */
DROPOUT_API const char *dropout_cuda_error_string(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DROPOUT_CUDA_H */
