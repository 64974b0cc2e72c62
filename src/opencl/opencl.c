/*
 * opencl.c — libdropout_opencl: the operations of dropout.h on cl_mem
 * buffers, enqueued on the caller's queue (include/dropout_opencl.h).
 *
 * Data flows as in the CPU library: validate everything on the host (the
 * same rules, from validate.h, plus the cl_mem ranges), decide what the call
 * does without random numbers (evaluation and p == 0 copy bitwise), then
 * enqueue the one kernel of kernels.cl with `flags` saying which parts run.
 * Each call is exactly one enqueue (a kernel, or a marker when there is
 * nothing to do), so its event is the call's event and nothing is allocated.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dropout_opencl.h"
#include "mask.h"
#include "validate.h"

/* kernels.cl with include/dropout_mask_v1.h pasted in (embed.cmake). */
extern const unsigned char dropout_opencl_kernels_source[];

/* The kernel's `flags` (kernels.cl has the same values). */
#define FLAG_BITS_FROM_MASK 1u
#define FLAG_WRITE_MASK 2u
#define FLAG_DATA 4u
#define FLAG_COPY 8u

#define DEFAULT_LOCAL_SIZE 64

struct dropout_opencl {
    cl_context context;
    cl_device_id device;
    cl_program program;
    cl_kernel kernel;        /* dropout_apply: one block per work-item      */
    cl_kernel strided;       /* dropout_apply_strided: fewer work-items     */
    int has_fp64;
    size_t max_local_size;   /* CL_KERNEL_WORK_GROUP_SIZE of both           */
    size_t global_size;      /* dropout_opencl_set_launch; 0 = choose      */
    size_t local_size;
    pthread_mutex_t lock;    /* kernel arguments are shared state          */
};

/* One kernel launch: what kernels.cl's dropout_apply takes. */
typedef struct launch {
    cl_ulong seed, stream, threshold, first, n;
    cl_uint flags;
    cl_int dtype;
    cl_float s32;
    cl_ulong s64_bits;
    cl_mem in, out, mask;
    cl_ulong in_offset, out_offset, mask_offset;
} launch;

/* The OpenCL error of this thread's most recent DROPOUT_ERROR_DEVICE. */
static _Thread_local cl_int last_cl_error = CL_SUCCESS;
static _Thread_local char last_message[192];

/* ---- status strings ------------------------------------------------------- */

static const struct {
    int code;
    const char *name;
} cl_errors[] = {
    {-1, "CL_DEVICE_NOT_FOUND"}, {-2, "CL_DEVICE_NOT_AVAILABLE"},
    {-3, "CL_COMPILER_NOT_AVAILABLE"}, {-4, "CL_MEM_OBJECT_ALLOCATION_FAILURE"},
    {-5, "CL_OUT_OF_RESOURCES"}, {-6, "CL_OUT_OF_HOST_MEMORY"},
    {-7, "CL_PROFILING_INFO_NOT_AVAILABLE"}, {-8, "CL_MEM_COPY_OVERLAP"},
    {-11, "CL_BUILD_PROGRAM_FAILURE"}, {-12, "CL_MAP_FAILURE"},
    {-13, "CL_MISALIGNED_SUB_BUFFER_OFFSET"},
    {-14, "CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST"},
    {-30, "CL_INVALID_VALUE"}, {-32, "CL_INVALID_PLATFORM"}, {-33, "CL_INVALID_DEVICE"},
    {-34, "CL_INVALID_CONTEXT"}, {-36, "CL_INVALID_COMMAND_QUEUE"},
    {-38, "CL_INVALID_MEM_OBJECT"}, {-44, "CL_INVALID_PROGRAM"},
    {-45, "CL_INVALID_PROGRAM_EXECUTABLE"}, {-46, "CL_INVALID_KERNEL_NAME"},
    {-48, "CL_INVALID_KERNEL"}, {-52, "CL_INVALID_KERNEL_ARGS"},
    {-54, "CL_INVALID_WORK_GROUP_SIZE"}, {-55, "CL_INVALID_WORK_ITEM_SIZE"},
    {-57, "CL_INVALID_EVENT_WAIT_LIST"}, {-58, "CL_INVALID_EVENT"},
    {-59, "CL_INVALID_OPERATION"}, {-61, "CL_INVALID_BUFFER_SIZE"},
    {-63, "CL_INVALID_GLOBAL_WORK_SIZE"}, {-1001, "CL_PLATFORM_NOT_FOUND_KHR"},
};

const char *dropout_opencl_status_string(int status)
{
    if (status == DROPOUT_ERROR_DEVICE && last_cl_error != CL_SUCCESS)
        return last_message;
    if (status >= 0)
        return dropout_status_string(status);
    if (status == -1001)
        return "CL_PLATFORM_NOT_FOUND_KHR: no OpenCL platform (is an ICD such as "
               "pocl-opencl-icd installed?)";
    for (size_t k = 0; k < sizeof cl_errors / sizeof cl_errors[0]; k++)
        if (cl_errors[k].code == status)
            return cl_errors[k].name;
    return "unknown OpenCL error";
}

/* ---- device errors: DROPOUT_ERROR_DEVICE, and what the runtime said ------- */

/* The functions below return OpenCL's negative codes; the public calls turn
 * them into DROPOUT_ERROR_DEVICE (the code every device backend shares) and
 * keep the code for dropout_opencl_cl_error / _error_string. */
static int device_status(int status)
{
    if (status >= 0)
        return status;
    last_cl_error = status;
    snprintf(last_message, sizeof last_message, "%s (%d)",
             dropout_opencl_status_string(status), status);
    return DROPOUT_ERROR_DEVICE;
}

int dropout_opencl_cl_error(void)
{
    return last_cl_error;
}

const char *dropout_opencl_error_string(void)
{
    return last_message;
}

/* ---- devices, create, destroy --------------------------------------------- */

static int dropout_opencl_devices_cl(cl_device_id *devices, size_t capacity, size_t *count)
{
    if (count == NULL || (devices == NULL && capacity > 0))
        return DROPOUT_ERROR_NULL_POINTER;
    cl_uint platform_count = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &platform_count);
    if (err == CL_SUCCESS && platform_count == 0)
        err = -1001; /* CL_PLATFORM_NOT_FOUND_KHR, whatever the ICD loader says */
    if (err != CL_SUCCESS)
        return err;
    cl_platform_id *platforms = malloc(platform_count * sizeof *platforms);
    if (platforms == NULL)
        return CL_OUT_OF_HOST_MEMORY;
    err = clGetPlatformIDs(platform_count, platforms, NULL);
    size_t total = 0;
    for (cl_uint k = 0; k < platform_count && err == CL_SUCCESS; k++) {
        cl_uint n = 0;
        cl_int got = clGetDeviceIDs(platforms[k], CL_DEVICE_TYPE_ALL, 0, NULL, &n);
        if (got == CL_DEVICE_NOT_FOUND || n == 0)
            continue;
        if (got != CL_SUCCESS) {
            err = got;
            break;
        }
        if (total < capacity) {
            cl_uint room = (cl_uint)(capacity - total < n ? capacity - total : n);
            err = clGetDeviceIDs(platforms[k], CL_DEVICE_TYPE_ALL, room, devices + total, NULL);
        }
        total += n;
    }
    free(platforms);
    if (err == CL_SUCCESS)
        *count = total;
    return err;
}

void dropout_opencl_destroy(dropout_opencl *dcl)
{
    if (dcl == NULL)
        return;
    if (dcl->kernel)
        clReleaseKernel(dcl->kernel);
    if (dcl->strided)
        clReleaseKernel(dcl->strided);
    if (dcl->program)
        clReleaseProgram(dcl->program);
    if (dcl->context)
        clReleaseContext(dcl->context);
    pthread_mutex_destroy(&dcl->lock);
    free(dcl);
}

static int dropout_opencl_create_cl(dropout_opencl **out, cl_context context, cl_device_id device)
{
    if (out == NULL)
        return DROPOUT_ERROR_NULL_POINTER;
    *out = NULL;
    if (context == NULL || device == NULL)
        return DROPOUT_ERROR_NULL_POINTER;
    /* The bit-for-bit promise needs IEEE f32 products: denormals kept, round
     * to nearest.  (f64 always has both where cl_khr_fp64 exists.) */
    cl_device_fp_config single = 0, dbl = 0;
    cl_int err = clGetDeviceInfo(device, CL_DEVICE_SINGLE_FP_CONFIG, sizeof single, &single, NULL);
    if (err != CL_SUCCESS)
        return err;
    if (!(single & CL_FP_DENORM) || !(single & CL_FP_ROUND_TO_NEAREST))
        return CL_INVALID_DEVICE;
    if (clGetDeviceInfo(device, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof dbl, &dbl, NULL) != CL_SUCCESS)
        dbl = 0;

    dropout_opencl *dcl = calloc(1, sizeof *dcl);
    if (dcl == NULL)
        return CL_OUT_OF_HOST_MEMORY;
    if (pthread_mutex_init(&dcl->lock, NULL) != 0) {
        free(dcl);
        return CL_OUT_OF_HOST_MEMORY;
    }
    err = clRetainContext(context);
    if (err != CL_SUCCESS) {
        pthread_mutex_destroy(&dcl->lock);
        free(dcl);
        return err;
    }
    dcl->context = context;
    dcl->device = device;
    dcl->has_fp64 = dbl != 0;
    const char *source = (const char *)dropout_opencl_kernels_source;
    dcl->program = clCreateProgramWithSource(context, 1, &source, NULL, &err);
    if (err == CL_SUCCESS) {
        /* No fast-math option: every result must be the IEEE one. */
        const char *options = dcl->has_fp64 ? "-DDROPOUT_OPENCL_FP64=1" : "";
        err = clBuildProgram(dcl->program, 1, &device, options, NULL, NULL);
    }
    if (err == CL_SUCCESS)
        dcl->kernel = clCreateKernel(dcl->program, "dropout_apply", &err);
    if (err == CL_SUCCESS)
        dcl->strided = clCreateKernel(dcl->program, "dropout_apply_strided", &err);
    size_t plain_local = 0, strided_local = 0;
    if (err == CL_SUCCESS)
        err = clGetKernelWorkGroupInfo(dcl->kernel, device, CL_KERNEL_WORK_GROUP_SIZE,
                                       sizeof plain_local, &plain_local, NULL);
    if (err == CL_SUCCESS)
        err = clGetKernelWorkGroupInfo(dcl->strided, device, CL_KERNEL_WORK_GROUP_SIZE,
                                       sizeof strided_local, &strided_local, NULL);
    if (err != CL_SUCCESS) {
        dropout_opencl_destroy(dcl);
        return err;
    }
    dcl->max_local_size = plain_local < strided_local ? plain_local : strided_local;
    *out = dcl;
    return DROPOUT_OK;
}

int dropout_opencl_has_dtype(const dropout_opencl *dcl, int dtype)
{
    if (dcl == NULL)
        return 0;
    switch (dtype) {
    case DROPOUT_DTYPE_F32:
    case DROPOUT_DTYPE_BF16:
    case DROPOUT_DTYPE_F16: return 1;
    case DROPOUT_DTYPE_F64: return dcl->has_fp64;
    default: return 0;
    }
}

int dropout_opencl_set_launch(dropout_opencl *dcl, size_t global_size, size_t local_size)
{
    if (dcl == NULL)
        return DROPOUT_ERROR_NULL_POINTER;
    if (local_size > dcl->max_local_size)
        return DROPOUT_ERROR_INVALID_ARGUMENT;
    pthread_mutex_lock(&dcl->lock);
    dcl->global_size = global_size;
    dcl->local_size = local_size;
    pthread_mutex_unlock(&dcl->lock);
    return DROPOUT_OK;
}

/* ---- validation of cl_mem ranges ----------------------------------------- */

/* A buffer range, resolved to its root buffer (sub-buffers included), for
 * the overlap rule of validate.h: the same range (in place) or disjoint. */
typedef struct mem_range {
    cl_mem root;
    size_t begin, bytes;
} mem_range;

/* DROPOUT_OK, or DROPOUT_ERROR_INVALID_ARGUMENT when `mem` is not a buffer
 * of the context, `offset` is not a multiple of elem_size, or
 * [offset, offset + bytes) does not fit in it. */
static int check_range(const dropout_opencl *dcl, cl_mem mem, size_t offset, size_t bytes,
                       size_t elem_size, mem_range *range)
{
    size_t size = 0, sub_offset = 0;
    cl_context context = NULL;
    cl_mem parent = NULL;
    cl_mem_object_type type = 0;
    if (offset % elem_size != 0)
        return DROPOUT_ERROR_INVALID_ARGUMENT;
    if (clGetMemObjectInfo(mem, CL_MEM_TYPE, sizeof type, &type, NULL) != CL_SUCCESS ||
        type != CL_MEM_OBJECT_BUFFER ||
        clGetMemObjectInfo(mem, CL_MEM_SIZE, sizeof size, &size, NULL) != CL_SUCCESS ||
        clGetMemObjectInfo(mem, CL_MEM_CONTEXT, sizeof context, &context, NULL) != CL_SUCCESS ||
        clGetMemObjectInfo(mem, CL_MEM_ASSOCIATED_MEMOBJECT, sizeof parent, &parent, NULL) !=
            CL_SUCCESS ||
        clGetMemObjectInfo(mem, CL_MEM_OFFSET, sizeof sub_offset, &sub_offset, NULL) !=
            CL_SUCCESS)
        return DROPOUT_ERROR_INVALID_ARGUMENT;
    if (context != dcl->context || offset > size || bytes > size - offset)
        return DROPOUT_ERROR_INVALID_ARGUMENT;
    range->root = parent ? parent : mem;
    range->begin = (parent ? sub_offset : 0) + offset;
    range->bytes = bytes;
    return DROPOUT_OK;
}

static int ranges_overlap(const mem_range *a, const mem_range *b)
{
    return a->root == b->root && a->bytes > 0 && b->bytes > 0 &&
           a->begin < b->begin + b->bytes && b->begin < a->begin + a->bytes;
}

static int check_queue(const dropout_opencl *dcl, cl_command_queue queue, cl_uint wait_count,
                       const cl_event *wait_list)
{
    cl_context context = NULL;
    cl_device_id device = NULL;
    if ((wait_count > 0) != (wait_list != NULL))
        return DROPOUT_ERROR_INVALID_ARGUMENT;
    if (clGetCommandQueueInfo(queue, CL_QUEUE_CONTEXT, sizeof context, &context, NULL) !=
            CL_SUCCESS ||
        clGetCommandQueueInfo(queue, CL_QUEUE_DEVICE, sizeof device, &device, NULL) != CL_SUCCESS ||
        context != dcl->context || device != dcl->device)
        return DROPOUT_ERROR_INVALID_ARGUMENT;
    return DROPOUT_OK;
}

static size_t dtype_size(const dropout_opencl *dcl, int dtype)
{
    return dropout_opencl_has_dtype(dcl, dtype) ? dropout_dtype_size(dtype) : 0;
}

/* ---- enqueueing ------------------------------------------------------------ */

static size_t round_up(size_t value, size_t multiple)
{
    return (value + multiple - 1) / multiple * multiple;
}

/* One enqueue: a kernel over ceil(n / 16) blocks, or (n == 0, or nothing
 * to do) a marker, so that `event` always means "this call is done".  The
 * default launch is one work-item per block (dropout_apply); a caller's
 * global size below the block count runs dropout_apply_strided. */
static int enqueue(dropout_opencl *dcl, cl_command_queue queue, const launch *l, int nothing,
                   cl_uint wait_count, const cl_event *wait_list, cl_event *event)
{
    if (nothing) {
        if (event == NULL && wait_count == 0)
            return DROPOUT_OK;
        return clEnqueueMarkerWithWaitList(queue, wait_count, wait_list, event);
    }
    const size_t blocks = (size_t)((l->n + 15) / 16);
    pthread_mutex_lock(&dcl->lock);
    size_t local = dcl->local_size, global = dcl->global_size;
    if (global == 0) {
        local = local ? local : DEFAULT_LOCAL_SIZE;
        if (local > dcl->max_local_size)
            local = dcl->max_local_size;
        global = round_up(blocks, local);
    } else if (local != 0) {
        global = round_up(global, local);
    }
    cl_kernel k = global >= blocks ? dcl->kernel : dcl->strided;
    cl_int err = CL_SUCCESS;
    cl_uint arg = 0;
#define ARG(value) \
    if (err == CL_SUCCESS) err = clSetKernelArg(k, arg++, sizeof(value), &(value))
    ARG(l->seed);
    ARG(l->stream);
    ARG(l->threshold);
    ARG(l->first);
    ARG(l->n);
    ARG(l->flags);
    ARG(l->dtype);
    ARG(l->s32);
    ARG(l->s64_bits);
    ARG(l->in);
    ARG(l->in_offset);
    ARG(l->out);
    ARG(l->out_offset);
    ARG(l->mask);
    ARG(l->mask_offset);
#undef ARG
    if (err == CL_SUCCESS)
        err = clEnqueueNDRangeKernel(queue, k, 1, NULL, &global, local ? &local : NULL,
                                     wait_count, wait_list, event);
    pthread_mutex_unlock(&dcl->lock);
    return err;
}

/* Everything the three data operations share: params, queue, dtype, the
 * two data ranges (same or disjoint) and, if present, the mask range
 * (disjoint from both).  Fills the launch's common fields. */
static int check_data_call(dropout_opencl *dcl, cl_command_queue queue,
                           const dropout_params *params, int dtype, cl_mem out,
                           size_t out_offset, cl_mem in, size_t in_offset, size_t n, cl_mem mask,
                           size_t mask_offset, size_t mask_size, int use_mask, cl_uint wait_count,
                           const cl_event *wait_list, launch *l, int *in_place)
{
    int status = check_params(params, n);
    if (status == DROPOUT_OK && (dcl == NULL || queue == NULL))
        status = DROPOUT_ERROR_NULL_POINTER;
    if (status == DROPOUT_OK && n > 0 && (in == NULL || out == NULL))
        status = DROPOUT_ERROR_NULL_POINTER;
    if (status == DROPOUT_OK && use_mask)
        status = check_mask(mask, mask_size, n);
    if (status == DROPOUT_OK && dtype_size(dcl, dtype) == 0)
        status = DROPOUT_ERROR_INVALID_DTYPE;
    if (status == DROPOUT_OK)
        status = check_queue(dcl, queue, wait_count, wait_list);
    if (status != DROPOUT_OK)
        return status;
    const size_t elem = dtype_size(dcl, dtype);
    *in_place = 0;
    if (n == 0)
        return DROPOUT_OK;
    if (n > SIZE_MAX / elem)
        return DROPOUT_ERROR_INVALID_ARGUMENT;
    mem_range in_range, out_range, mask_range;
    status = check_range(dcl, in, in_offset, n * elem, elem, &in_range);
    if (status == DROPOUT_OK)
        status = check_range(dcl, out, out_offset, n * elem, elem, &out_range);
    if (status == DROPOUT_OK && use_mask && mask_size > 0)
        status = check_range(dcl, mask, mask_offset, mask_size, 1, &mask_range);
    if (status != DROPOUT_OK)
        return status;
    *in_place = in_range.root == out_range.root && in_range.begin == out_range.begin;
    if (!*in_place && ranges_overlap(&in_range, &out_range))
        return DROPOUT_ERROR_OVERLAP;
    if (use_mask) {
        mask_range.bytes = DROPOUT_MASK_BYTES(n);
        if (ranges_overlap(&mask_range, &out_range) || ranges_overlap(&mask_range, &in_range))
            return DROPOUT_ERROR_OVERLAP;
    }
    memset(l, 0, sizeof *l);
    l->seed = params->seed;
    l->stream = params->stream;
    l->first = params->first;
    l->n = n;
    l->dtype = dtype;
    l->threshold = mask_keep_threshold(params->p);
    const double s = 1.0 / (1.0 - params->p); /* inf for p == 1: never multiplied */
    l->s32 = (float)s;
    memcpy(&l->s64_bits, &s, sizeof s);
    l->in = in;
    l->in_offset = in_offset;
    l->out = out;
    l->out_offset = out_offset;
    l->mask = use_mask ? mask : NULL;
    l->mask_offset = mask_offset;
    return DROPOUT_OK;
}

/* Forward and regenerating backward: the same computation. */
static int forward_any(dropout_opencl *dcl, cl_command_queue queue, const dropout_params *params,
                       int dtype, cl_mem y, size_t y_offset, cl_mem x, size_t x_offset, size_t n,
                       cl_mem mask, size_t mask_offset, size_t mask_size, cl_uint wait_count,
                       const cl_event *wait_list, cl_event *event)
{
    launch l;
    int in_place = 0;
    const int use_mask =
        mask != NULL && params != NULL && params->mode == DROPOUT_TRAIN;
    int status = check_data_call(dcl, queue, params, dtype, y, y_offset, x, x_offset, n, mask,
                                 mask_offset, mask_size, use_mask, wait_count, wait_list, &l,
                                 &in_place);
    if (status != DROPOUT_OK)
        return status;
    if (n == 0)
        return enqueue(dcl, queue, NULL, 1, wait_count, wait_list, event);
    const int copy = params->mode == DROPOUT_EVAL || params->p == 0.0;
    l.flags = (use_mask ? FLAG_WRITE_MASK : 0) | (copy && in_place ? 0 : FLAG_DATA) |
              (copy ? FLAG_COPY : 0);
    return enqueue(dcl, queue, &l, !(l.flags & (FLAG_DATA | FLAG_WRITE_MASK)), wait_count,
                   wait_list, event);
}

static int dropout_opencl_forward_cl(dropout_opencl *dcl, cl_command_queue queue,
                           const dropout_params *params, int dtype, cl_mem y, size_t y_offset,
                           cl_mem x, size_t x_offset, size_t n, cl_mem mask, size_t mask_offset,
                           size_t mask_size, cl_uint wait_count, const cl_event *wait_list,
                           cl_event *event)
{
    return forward_any(dcl, queue, params, dtype, y, y_offset, x, x_offset, n, mask, mask_offset,
                       mask_size, wait_count, wait_list, event);
}

static int dropout_opencl_backward_regen_cl(dropout_opencl *dcl, cl_command_queue queue,
                                  const dropout_params *params, int dtype, cl_mem dx,
                                  size_t dx_offset, cl_mem dy, size_t dy_offset, size_t n,
                                  cl_uint wait_count, const cl_event *wait_list, cl_event *event)
{
    return forward_any(dcl, queue, params, dtype, dx, dx_offset, dy, dy_offset, n, NULL, 0, 0,
                       wait_count, wait_list, event);
}

static int dropout_opencl_backward_mask_cl(dropout_opencl *dcl, cl_command_queue queue,
                                 const dropout_params *params, int dtype, cl_mem dx,
                                 size_t dx_offset, cl_mem dy, size_t dy_offset, size_t n,
                                 cl_mem mask, size_t mask_offset, size_t mask_size,
                                 cl_uint wait_count, const cl_event *wait_list, cl_event *event)
{
    launch l;
    int in_place = 0;
    const int train = params != NULL && params->mode == DROPOUT_TRAIN;
    int status = check_data_call(dcl, queue, params, dtype, dx, dx_offset, dy, dy_offset, n, mask,
                                 mask_offset, mask_size, train, wait_count, wait_list, &l,
                                 &in_place);
    if (status != DROPOUT_OK)
        return status;
    if (n == 0)
        return enqueue(dcl, queue, NULL, 1, wait_count, wait_list, event);
    if (!train || params->p == 0.0) { /* dx = dy, the mask unread */
        l.flags = FLAG_DATA | FLAG_COPY;
        l.mask = NULL;
        return enqueue(dcl, queue, &l, in_place, wait_count, wait_list, event);
    }
    /* T == 0 drops everything whatever the mask says (as the CPU does):
     * the regenerating path with T == 0 writes +0.0 without reading it. */
    l.flags = FLAG_DATA | (l.threshold == 0 ? 0 : FLAG_BITS_FROM_MASK);
    return enqueue(dcl, queue, &l, 0, wait_count, wait_list, event);
}

static int dropout_opencl_mask_cl(dropout_opencl *dcl, cl_command_queue queue,
                        const dropout_params *params, cl_mem mask, size_t mask_offset,
                        size_t mask_size, size_t n, cl_uint wait_count,
                        const cl_event *wait_list, cl_event *event)
{
    if (params == NULL)
        return DROPOUT_ERROR_NULL_POINTER;
    dropout_params train = *params;
    train.mode = DROPOUT_TRAIN; /* the mode is ignored here */
    int status = check_params(&train, n);
    if (status == DROPOUT_OK && (dcl == NULL || queue == NULL))
        status = DROPOUT_ERROR_NULL_POINTER;
    if (status == DROPOUT_OK)
        status = check_mask(mask, mask_size, n);
    if (status == DROPOUT_OK)
        status = check_queue(dcl, queue, wait_count, wait_list);
    mem_range range;
    if (status == DROPOUT_OK && n > 0)
        status = check_range(dcl, mask, mask_offset, mask_size, 1, &range);
    if (status != DROPOUT_OK)
        return status;
    launch l;
    memset(&l, 0, sizeof l);
    l.seed = train.seed;
    l.stream = train.stream;
    l.first = train.first;
    l.n = n;
    l.threshold = mask_keep_threshold(train.p);
    l.flags = FLAG_WRITE_MASK;
    l.mask = mask;
    l.mask_offset = mask_offset;
    return enqueue(dcl, queue, &l, n == 0, wait_count, wait_list, event);
}

/* ---- the public calls: OpenCL errors become DROPOUT_ERROR_DEVICE ------------ */

int dropout_opencl_devices(cl_device_id *devices, size_t capacity, size_t *count)
{
    return device_status(dropout_opencl_devices_cl(devices, capacity, count));
}

int dropout_opencl_create(dropout_opencl **out, cl_context context, cl_device_id device)
{
    return device_status(dropout_opencl_create_cl(out, context, device));
}

int dropout_opencl_forward(dropout_opencl *dcl, cl_command_queue queue,
                           const dropout_params *params, int dtype, cl_mem y, size_t y_offset,
                           cl_mem x, size_t x_offset, size_t n, cl_mem mask, size_t mask_offset,
                           size_t mask_size, cl_uint wait_count, const cl_event *wait_list,
                           cl_event *event)
{
    return device_status(dropout_opencl_forward_cl(dcl, queue, params, dtype, y, y_offset, x,
                         x_offset, n, mask, mask_offset, mask_size, wait_count, wait_list, event));
}

int dropout_opencl_backward_regen(dropout_opencl *dcl, cl_command_queue queue,
                                  const dropout_params *params, int dtype, cl_mem dx,
                                  size_t dx_offset, cl_mem dy, size_t dy_offset, size_t n,
                                  cl_uint wait_count, const cl_event *wait_list, cl_event *event)
{
    return device_status(dropout_opencl_backward_regen_cl(dcl, queue, params, dtype, dx,
                         dx_offset, dy, dy_offset, n, wait_count, wait_list, event));
}

int dropout_opencl_backward_mask(dropout_opencl *dcl, cl_command_queue queue,
                                 const dropout_params *params, int dtype, cl_mem dx,
                                 size_t dx_offset, cl_mem dy, size_t dy_offset, size_t n,
                                 cl_mem mask, size_t mask_offset, size_t mask_size,
                                 cl_uint wait_count, const cl_event *wait_list, cl_event *event)
{
    return device_status(dropout_opencl_backward_mask_cl(dcl, queue, params, dtype, dx, dx_offset,
                         dy, dy_offset, n, mask, mask_offset, mask_size, wait_count, wait_list,
                         event));
}

int dropout_opencl_mask(dropout_opencl *dcl, cl_command_queue queue,
                        const dropout_params *params, size_t n, cl_mem mask,
                        size_t mask_offset, size_t mask_size, cl_uint wait_count,
                        const cl_event *wait_list, cl_event *event)
{
    return device_status(dropout_opencl_mask_cl(dcl, queue, params, mask, mask_offset, mask_size,
                         n, wait_count, wait_list, event));
}
