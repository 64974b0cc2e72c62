/*
 * device_opencl.c — `--device opencl`: the same calls through
 * libdropout_opencl (include/dropout_opencl.h) on device --cl-device N of
 * the machine, with buffers sized to the largest call so far; and
 * `dropout bench --device opencl`, forward against clEnqueueCopyBuffer of
 * the same buffers.  Built as a stub that says how to get it when the
 * library has no OpenCL backend (DROPOUT_CLI_OPENCL undefined).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_limits.h"
#include "device.h"

#ifdef DROPOUT_CLI_OPENCL

#include "dropout_opencl.h"

#define MAX_DEVICES 64

typedef struct opencl_state {
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    dropout_opencl *dcl;
    cl_mem in, out, mask; /* grown as needed */
    size_t in_size, out_size, mask_size;
} opencl_state;

static const char *opencl_status_string(int status)
{
    return dropout_opencl_status_string(status);
}

static void opencl_close(void *state)
{
    opencl_state *s = state;
    if (s == NULL)
        return;
    if (s->in)
        clReleaseMemObject(s->in);
    if (s->out)
        clReleaseMemObject(s->out);
    if (s->mask)
        clReleaseMemObject(s->mask);
    dropout_opencl_destroy(s->dcl);
    if (s->queue)
        clReleaseCommandQueue(s->queue);
    if (s->context)
        clReleaseContext(s->context);
    free(s);
}

static int opencl_open(void **state, const char *command, const cli_device_choice *choice)
{
    cl_device_id devices[MAX_DEVICES];
    size_t count = 0;
    int status = dropout_opencl_devices(devices, MAX_DEVICES, &count);
    if (status != DROPOUT_OK)
        return cli_error(command, "--device opencl: no OpenCL runtime: %s",
                         dropout_opencl_status_string(status));
    if (count == 0)
        return cli_error(command, "--device opencl: the OpenCL runtime has no device");
    if (choice->cl_device >= count || choice->cl_device >= MAX_DEVICES)
        return cli_error(command, "--cl-device %llu: the machine has %zu OpenCL device(s), 0 to %zu "
                                  "(see 'dropout --version')",
                         (unsigned long long)choice->cl_device, count, count - 1);
    opencl_state *s = calloc(1, sizeof *s);
    if (s == NULL)
        return cli_error(command, "out of memory");
    cl_int err;
    s->device = devices[choice->cl_device];
    s->context = clCreateContext(NULL, 1, &s->device, NULL, NULL, &err);
    if (err == CL_SUCCESS)
        s->queue = clCreateCommandQueue(s->context, s->device, 0, &err);
    if (err == CL_SUCCESS)
        err = dropout_opencl_create(&s->dcl, s->context, s->device);
    if (err != CL_SUCCESS) {
        opencl_close(s);
        return cli_error(command, "--device opencl: OpenCL device %llu: %s",
                         (unsigned long long)choice->cl_device, dropout_opencl_status_string(err));
    }
    *state = s;
    return 0;
}

/* A buffer of at least `size` bytes (kept for the next call). */
static int ensure(opencl_state *s, cl_mem *mem, size_t *have, size_t size)
{
    if (*have >= size)
        return CL_SUCCESS;
    if (*mem)
        clReleaseMemObject(*mem);
    cl_int err;
    *mem = clCreateBuffer(s->context, CL_MEM_READ_WRITE, size, NULL, &err);
    *have = err == CL_SUCCESS ? size : 0;
    if (err != CL_SUCCESS)
        *mem = NULL;
    return err;
}

static int opencl_mask(void *state, const dropout_params *params, uint8_t *mask, size_t n)
{
    opencl_state *s = state;
    size_t bytes = dropout_mask_bytes(n);
    int status = ensure(s, &s->mask, &s->mask_size, bytes ? bytes : 1);
    if (status == DROPOUT_OK)
        status = dropout_opencl_mask(s->dcl, s->queue, params, n, s->mask, 0, bytes, 0, NULL,
                                     NULL);
    if (status == DROPOUT_OK && bytes)
        status = clEnqueueReadBuffer(s->queue, s->mask, CL_TRUE, 0, bytes, mask, 0, NULL, NULL);
    return status;
}

static int opencl_apply(void *state, cli_apply what, int dtype, const dropout_params *params,
                        void *out, const void *in, size_t n)
{
    opencl_state *s = state;
    size_t bytes = n * dropout_dtype_size(dtype);
    int status = ensure(s, &s->in, &s->in_size, bytes ? bytes : 1);
    if (status == DROPOUT_OK)
        status = ensure(s, &s->out, &s->out_size, bytes ? bytes : 1);
    if (status == DROPOUT_OK && bytes)
        status = clEnqueueWriteBuffer(s->queue, s->in, CL_FALSE, 0, bytes, in, 0, NULL, NULL);
    if (status == DROPOUT_OK)
        status = what == CLI_APPLY_FORWARD
                     ? dropout_opencl_forward(s->dcl, s->queue, params, dtype, s->out, 0, s->in,
                                              0, n, NULL, 0, 0, 0, NULL, NULL)
                     : dropout_opencl_backward_regen(s->dcl, s->queue, params, dtype, s->out, 0,
                                                     s->in, 0, n, 0, NULL, NULL);
    if (status == DROPOUT_OK && bytes)
        status = clEnqueueReadBuffer(s->queue, s->out, CL_TRUE, 0, bytes, out, 0, NULL, NULL);
    return status;
}

static void opencl_list(FILE *out)
{
    cl_device_id devices[MAX_DEVICES];
    size_t count = 0;
    int status = dropout_opencl_devices(devices, MAX_DEVICES, &count);
    if (status != DROPOUT_OK || count == 0) {
        fprintf(out, "device opencl: none (%s)\n",
                status != DROPOUT_OK ? dropout_opencl_status_string(status) : "no device");
        return;
    }
    for (size_t k = 0; k < count && k < MAX_DEVICES; k++) {
        char name[256] = "?", platform_name[256] = "?", version[128] = "?";
        cl_platform_id platform = NULL;
        cl_device_fp_config fp64 = 0;
        clGetDeviceInfo(devices[k], CL_DEVICE_NAME, sizeof name, name, NULL);
        clGetDeviceInfo(devices[k], CL_DEVICE_VERSION, sizeof version, version, NULL);
        clGetDeviceInfo(devices[k], CL_DEVICE_PLATFORM, sizeof platform, &platform, NULL);
        clGetDeviceInfo(devices[k], CL_DEVICE_DOUBLE_FP_CONFIG, sizeof fp64, &fp64, NULL);
        clGetPlatformInfo(platform, CL_PLATFORM_NAME, sizeof platform_name, platform_name, NULL);
        fprintf(out, "device opencl %zu: %s (%s; %s; f64 %s)\n", k, name, platform_name, version,
                fp64 ? "yes" : "no");
    }
}

/* ---- bench: forward vs clEnqueueCopyBuffer, sampled in turn --------------- */

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

enum { BENCH_COPY, BENCH_FORWARD, BENCH_FORWARD_MASK, BENCH_KINDS };
static const char *const bench_names[] = {"copy", "forward", "forward+mask"};

/* One sample: `reps` calls of kind k, then clFinish; ns per element. */
static int bench_sample(opencl_state *s, int kind, const dropout_params *params, size_t n,
                        unsigned reps, cl_mem x, cl_mem y, cl_mem mask, double *ns)
{
    double t0 = seconds();
    int status = DROPOUT_OK;
    for (unsigned r = 0; r < reps && status == DROPOUT_OK; r++) {
        if (kind == BENCH_COPY)
            status = clEnqueueCopyBuffer(s->queue, x, y, 0, 0, n * sizeof(float), 0, NULL, NULL);
        else
            status = dropout_opencl_forward(s->dcl, s->queue, params, DROPOUT_DTYPE_F32, y, 0, x,
                                            0, n, kind == BENCH_FORWARD_MASK ? mask : NULL, 0,
                                            dropout_mask_bytes(n), 0, NULL, NULL);
    }
    if (status == DROPOUT_OK)
        status = clFinish(s->queue);
    *ns = (seconds() - t0) * 1e9 / ((double)n * reps);
    return status;
}

static int opencl_bench(void *state, const uint64_t *sizes, size_t size_count, double p,
                        unsigned repeats, int json)
{
    opencl_state *s = state;
    char name[256] = "?";
    clGetDeviceInfo(s->device, CL_DEVICE_NAME, sizeof name, name, NULL);
    if (!json)
        printf("dropout bench --device opencl: %s; f32, p %g; ns/element median (min-max) of %u "
               "samples taken in turn;\nratio = forward / clEnqueueCopyBuffer of the same "
               "buffers (both read x and write y)\n%-10s %-14s %-26s %-8s\n",
               name, p, repeats, "n", "op", "ns/elem med (min-max)", "ratio");
    for (size_t i = 0; i < size_count; i++) {
        const size_t n = (size_t)sizes[i];
        cl_int err;
        cl_mem x = clCreateBuffer(s->context, CL_MEM_READ_WRITE, n * sizeof(float), NULL, &err);
        cl_mem y = err == CL_SUCCESS
                       ? clCreateBuffer(s->context, CL_MEM_READ_WRITE, n * sizeof(float), NULL, &err)
                       : NULL;
        cl_mem mask = err == CL_SUCCESS ? clCreateBuffer(s->context, CL_MEM_READ_WRITE,
                                                         dropout_mask_bytes(n), NULL, &err)
                                        : NULL;
        float fill = 1.5f;
        if (err == CL_SUCCESS)
            err = clEnqueueFillBuffer(s->queue, x, &fill, sizeof fill, 0, n * sizeof(float), 0,
                                      NULL, NULL);
        dropout_params params = {.p = p, .seed = 42, .stream = 7};
        const unsigned reps = n >= ((size_t)1 << 22) ? 1u : (unsigned)(((size_t)1 << 22) / n);
        double samples[BENCH_KINDS][64], dummy;
        for (int kind = 0; kind < BENCH_KINDS && err == CL_SUCCESS; kind++) /* warm up */
            err = bench_sample(s, kind, &params, n, 1, x, y, mask, &dummy);
        for (unsigned r = 0; r < repeats && err == CL_SUCCESS; r++)
            for (int kind = 0; kind < BENCH_KINDS && err == CL_SUCCESS; kind++)
                err = bench_sample(s, kind, &params, n, reps, x, y, mask, &samples[kind][r]);
        if (x)
            clReleaseMemObject(x);
        if (y)
            clReleaseMemObject(y);
        if (mask)
            clReleaseMemObject(mask);
        if (err != CL_SUCCESS)
            return cli_error("bench", "--device opencl, n %zu: %s", n,
                             dropout_opencl_status_string(err));
        for (int kind = 0; kind < BENCH_KINDS; kind++)
            qsort(samples[kind], repeats, sizeof(double), bench_compare_doubles);
        const double copy = samples[BENCH_COPY][repeats / 2];
        for (int kind = 0; kind < BENCH_KINDS; kind++) {
            const double *v = samples[kind];
            if (json)
                printf("{\"device\": \"opencl\", \"name\": \"%s\", \"n\": %zu, \"p\": %g, "
                       "\"op\": \"%s\", \"ns_per_elem\": %.4f, \"min\": %.4f, \"max\": %.4f, "
                       "\"copy_ns_per_elem\": %.4f, \"ratio\": %.3f}\n",
                       name, n, p, bench_names[kind], v[repeats / 2], v[0], v[repeats - 1], copy,
                       v[repeats / 2] / copy);
            else
                printf("%-10zu %-14s %8.3f (%.3f-%.3f)    %.2f\n", n, bench_names[kind],
                       v[repeats / 2], v[0], v[repeats - 1], v[repeats / 2] / copy);
        }
    }
    return 0;
}

const cli_device_ops cli_device_opencl = {
    .name = "opencl",
    .open = opencl_open,
    .close = opencl_close,
    .mask = opencl_mask,
    .apply = opencl_apply,
    .status_string = opencl_status_string,
    .list = opencl_list,
    .bench = opencl_bench,
};

#else /* built without the OpenCL backend */

static int opencl_missing(void **state, const char *command, const cli_device_choice *choice)
{
    (void)state;
    (void)choice;
    return cli_error(command, "--device opencl: this dropout was built without OpenCL (install "
                              "opencl-headers ocl-icd-opencl-dev pocl-opencl-icd and rebuild)");
}

static void opencl_missing_list(FILE *out)
{
    fprintf(out, "device opencl: not built (no OpenCL headers and ICD loader at build time)\n");
}

const cli_device_ops cli_device_opencl = {
    .name = "opencl",
    .open = opencl_missing,
    .status_string = dropout_status_string,
    .list = opencl_missing_list,
};

#endif
