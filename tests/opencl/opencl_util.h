/*
 * opencl_util.h — what the OpenCL tests share: the first device of the
 * machine (--cl-device's index 0, or DROPOUT_TEST_CL_DEVICE), a context and
 * an in-order queue on it, and a check that fails loudly.  A machine
 * without an OpenCL runtime fails the tests: never skipped silently.
 */
#ifndef DROPOUT_TESTS_OPENCL_UTIL_H
#define DROPOUT_TESTS_OPENCL_UTIL_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#endif

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dropout_opencl.h"

typedef struct test_device {
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    char name[256];
} test_device;

static inline double test_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* 0 on success; on failure prints why (one line) and returns 1. */
static inline int test_device_open(test_device *d)
{
    cl_device_id devices[16];
    size_t count = 0, index = 0;
    const char *env = getenv("DROPOUT_TEST_CL_DEVICE");
    int status = dropout_opencl_devices(devices, 16, &count);
    cl_int err;
    if (env != NULL)
        index = (size_t)strtoul(env, NULL, 10);
    if (status != DROPOUT_OK || count == 0) {
        fprintf(stderr, "FAIL: no OpenCL device (%s); install pocl-opencl-icd\n",
                status != DROPOUT_OK ? dropout_opencl_status_string(status) : "0 devices");
        return 1;
    }
    if (index >= count || index >= 16) {
        fprintf(stderr, "FAIL: DROPOUT_TEST_CL_DEVICE=%zu, the machine has %zu devices\n", index,
                count);
        return 1;
    }
    d->device = devices[index];
    clGetDeviceInfo(d->device, CL_DEVICE_NAME, sizeof d->name, d->name, NULL);
    d->context = clCreateContext(NULL, 1, &d->device, NULL, NULL, &err);
    if (err == CL_SUCCESS)
        d->queue = clCreateCommandQueue(d->context, d->device, 0, &err);
    if (err != CL_SUCCESS) {
        fprintf(stderr, "FAIL: cannot create a context and queue on %s: %s\n", d->name,
                dropout_opencl_status_string(err));
        return 1;
    }
    return 0;
}

static inline void test_device_close(test_device *d)
{
    clReleaseCommandQueue(d->queue);
    clReleaseContext(d->context);
}

#endif /* DROPOUT_TESTS_OPENCL_UTIL_H */
