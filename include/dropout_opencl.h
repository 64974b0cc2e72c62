/*
 * dropout_opencl.h — the dropout operations on OpenCL devices (libdropout_opencl,
 * CMake target dropout::opencl).
 *
 * Same arguments, same semantics and the same bits as the CPU calls of
 * dropout.h: a dropout_params with p, seed, stream, first and mode; the
 * packed mask format of docs/SPEC.md section 3; the same status codes; on a
 * bad argument nothing is enqueued and nothing is written.  The mask
 * decision is include/dropout_mask_v1.h, compiled into the kernels.
 *
 * ---------------------------------------------------------------------------
 * The model
 * ---------------------------------------------------------------------------
 * Buffers are cl_mem objects with byte offsets (as in clEnqueueCopyBuffer);
 * a data offset must be a multiple of the element size.  Every operation is
 * enqueued on the caller's command queue and returns at once: it waits for
 * `wait_count` events of `wait_list` and, if `event` is not NULL, returns an
 * event for its own completion there (release it with clReleaseEvent).
 * Nothing is allocated per call: the program is built once, when the caller
 * creates a dropout_opencl context object for a (cl_context, device).
 *
 *     dropout_opencl *dcl;
 *     int status = dropout_opencl_create(&dcl, context, device);
 *     dropout_params params = {.p = 0.1, .seed = 42, .stream = step};
 *     status = dropout_opencl_forward(dcl, queue, &params, DROPOUT_DTYPE_F32,
 *                                     y, 0, x, 0, n, mask, 0, mask_bytes,
 *                                     0, NULL, &done);
 *     ...
 *     dropout_opencl_destroy(dcl);
 *
 * Return values: DROPOUT_OK (0), or a dropout_status: the CPU's codes for a
 * bad argument (nothing enqueued), and DROPOUT_ERROR_DEVICE (as for every
 * device backend) when the OpenCL runtime refused a call or there is none;
 * dropout_opencl_cl_error() then gives the CL_* code and
 * dropout_opencl_error_string() its name.
 *
 * Kernels: one work-item per 16-element block of the call (call elements
 * 16g ... 16g + 15 and bytes 2g, 2g + 1 of the packed mask); a launch with
 * fewer work-items than blocks loops over them (grid stride), so any global
 * and work-group size computes the same bits (dropout_opencl_set_launch
 * chooses them; the default is one work-item per block, 64 to a group).
 *
 * Devices: kept f32 elements are one IEEE multiply, so the device must
 * support single-precision denormals and round-to-nearest (the OpenCL
 * device query CL_DEVICE_SINGLE_FP_CONFIG; every current GPU and PoCL
 * does).  f64 needs cl_khr_fp64 (dropout_opencl_has_dtype says).
 *
 * A dropout_opencl object may be used from several host threads at once
 * (calls on it are serialized while they set the kernel's arguments and
 * enqueue it; the kernels themselves run concurrently).
 */
#ifndef DROPOUT_OPENCL_H
#define DROPOUT_OPENCL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#if defined(__APPLE__)
#include <OpenCL/opencl.h>
#else
#include <CL/cl.h>
#endif

#include "dropout.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The context object: the program built for one device of a cl_context. */
typedef struct dropout_opencl dropout_opencl;

/* Build the kernels for `device` of `context` (both retained until destroy).
 * OpenCL compilers take from milliseconds (cached) to seconds: create one
 * object per (context, device) and keep it.  On error *out is NULL;
 * DROPOUT_ERROR_DEVICE with CL_INVALID_DEVICE if the device lacks f32
 * denormals or round-to-nearest, with CL_BUILD_PROGRAM_FAILURE if the kernels
 * do not build (a broken compiler). */
DROPOUT_API int dropout_opencl_create(dropout_opencl **out, cl_context context,
                                      cl_device_id device);
/* NULL is a no-op. */
DROPOUT_API void dropout_opencl_destroy(dropout_opencl *dcl);

/* 1 if the device runs this dtype (f64 needs cl_khr_fp64), else 0. */
DROPOUT_API int dropout_opencl_has_dtype(const dropout_opencl *dcl, int dtype);

/* Launch geometry of every later call: global_size work-items in groups of
 * local_size.  0 for either means "choose" (the default for both).  A global
 * size that is not a multiple of local_size is rounded up to one; the grid-
 * stride loop makes any size compute the same bits.  DROPOUT_ERROR_INVALID_ARGUMENT
 * if local_size exceeds what the kernel allows on this device. */
DROPOUT_API int dropout_opencl_set_launch(dropout_opencl *dcl, size_t global_size,
                                          size_t local_size);

/* Names a return value: dropout_status_string(), except that
 * DROPOUT_ERROR_DEVICE names this thread's last OpenCL error, and a negative
 * OpenCL code (from a CL call of your own) gets its CL_* name.  Never NULL. */
DROPOUT_API const char *dropout_opencl_status_string(int status);

/* The OpenCL error (CL_*, negative) behind this thread's most recent
 * DROPOUT_ERROR_DEVICE, CL_SUCCESS if none; and its name with the code,
 * e.g. "CL_OUT_OF_RESOURCES (-5)" ("" if none). */
DROPOUT_API int dropout_opencl_cl_error(void);
DROPOUT_API const char *dropout_opencl_error_string(void);

/* The OpenCL devices of every platform, in platform order then device order:
 * the index is what `dropout --device opencl --cl-device N` takes.  Writes
 * up to `capacity` ids (devices may be NULL when capacity is 0) and the
 * total count to *count.  A machine without an OpenCL runtime (no ICD) gives
 * DROPOUT_ERROR_DEVICE with CL_PLATFORM_NOT_FOUND_KHR (-1001). */
DROPOUT_API int dropout_opencl_devices(cl_device_id *devices, size_t capacity,
                                       size_t *count);

/* ---- the operations (dtype: DROPOUT_DTYPE_F32, _F64, _BF16, _F16) --------
 * Each mirrors the CPU call of dropout.h with the same name; bf16 and f16
 * buffers hold 16-bit integers (a kept element is (float)x * s_f32 rounded
 * to nearest-even once). */

/* dropout_forward_<dtype>: training writes y = keep ? x * s : +0.0 and, if
 * mask is not NULL, the packed mask (mask_size bytes available at
 * mask_offset, >= ceil(n / 8)); evaluation copies x to y bitwise and leaves
 * the mask alone.  y == x with the same offset is in place. */
DROPOUT_API int dropout_opencl_forward(dropout_opencl *dcl, cl_command_queue queue,
                                       const dropout_params *params, int dtype,
                                       cl_mem y, size_t y_offset,
                                       cl_mem x, size_t x_offset, size_t n,
                                       cl_mem mask, size_t mask_offset, size_t mask_size,
                                       cl_uint wait_count, const cl_event *wait_list,
                                       cl_event *event);

/* dropout_backward_mask_<dtype>: dx = keep ? dy * s : +0.0 with keep from a
 * packed mask (only params->p and mode are used); evaluation: dx = dy, and
 * the mask may be NULL. */
DROPOUT_API int dropout_opencl_backward_mask(dropout_opencl *dcl, cl_command_queue queue,
                                             const dropout_params *params, int dtype,
                                             cl_mem dx, size_t dx_offset,
                                             cl_mem dy, size_t dy_offset, size_t n,
                                             cl_mem mask, size_t mask_offset,
                                             size_t mask_size, cl_uint wait_count,
                                             const cl_event *wait_list, cl_event *event);

/* dropout_backward_regen_<dtype>: the forward's mask regenerated from
 * (seed, stream, first, p); no memory. */
DROPOUT_API int dropout_opencl_backward_regen(dropout_opencl *dcl, cl_command_queue queue,
                                              const dropout_params *params, int dtype,
                                              cl_mem dx, size_t dx_offset,
                                              cl_mem dy, size_t dy_offset, size_t n,
                                              cl_uint wait_count, const cl_event *wait_list,
                                              cl_event *event);

/* dropout_mask: the packed mask alone (params->mode is ignored). */
DROPOUT_API int dropout_opencl_mask(dropout_opencl *dcl, cl_command_queue queue,
                                    const dropout_params *params, size_t n,
                                    cl_mem mask, size_t mask_offset, size_t mask_size,
                                    cl_uint wait_count, const cl_event *wait_list,
                                    cl_event *event);

#ifdef __cplusplus
}
#endif

#endif /* DROPOUT_OPENCL_H */
