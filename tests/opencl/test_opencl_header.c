/*
 * test_opencl_header.c — the fourth dialect of include/dropout_mask_v1.h:
 * OpenCL C, built by the OpenCL runtime (PoCL here) at test time, under
 * each OpenCL C version the device accepts among 1.2 and 3.0, against the
 * same known answers as the host dialects (tests/header): Random123's
 * Philox4x32-10 lines and every mask case.
 *
 *   test_opencl_header philox4x32_10_kat.txt [mask_v1_kat.txt]
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "mask_v1_vectors.h"
#include "opencl_util.h"

#include "dropout_mask_v1.h" /* the host side: dropout_mask_v1_threshold */

/* header_kernels.cl with the header pasted in (embed.cmake). */
extern const unsigned char dropout_test_header_kernels[];

static int run(test_device *d, const vector_set *set, const char *options)
{
    const char *source = (const char *)dropout_test_header_kernels;
    char dialect[64];
    cl_int err;
    snprintf(dialect, sizeof dialect, "OpenCL C (%s)", options);
    cl_program program = clCreateProgramWithSource(d->context, 1, &source, NULL, &err);
    if (err == CL_SUCCESS)
        err = clBuildProgram(program, 1, &d->device, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        char log[8192] = "";
        clGetProgramBuildInfo(program, d->device, CL_PROGRAM_BUILD_LOG, sizeof log, log, NULL);
        VECTOR_FAIL("%s: the header does not build: %s\n%s", dialect,
                    dropout_opencl_status_string(err), log);
        clReleaseProgram(program);
        return 1;
    }
    cl_kernel kat = clCreateKernel(program, "kat_philox", &err);
    cl_kernel bits = clCreateKernel(program, "mask_bits", &err);

    /* Philox KATs: all lines in one launch. */
    size_t lines = (size_t)set->kat_count;
    cl_uint *in = malloc(lines * 6 * sizeof *in), *out = malloc(lines * 4 * sizeof *out);
    for (size_t k = 0; k < lines; k++) {
        memcpy(in + 6 * k, set->kat[k].ctr, 4 * sizeof *in);
        memcpy(in + 6 * k + 4, set->kat[k].key, 2 * sizeof *in);
    }
    cl_mem bin = clCreateBuffer(d->context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                                lines * 6 * sizeof *in, in, &err);
    cl_mem bout = clCreateBuffer(d->context, CL_MEM_WRITE_ONLY, lines * 4 * sizeof *out, NULL, &err);
    clSetKernelArg(kat, 0, sizeof bin, &bin);
    clSetKernelArg(kat, 1, sizeof bout, &bout);
    err = clEnqueueNDRangeKernel(d->queue, kat, 1, NULL, &lines, NULL, 0, NULL, NULL);
    if (err == CL_SUCCESS)
        err = clEnqueueReadBuffer(d->queue, bout, CL_TRUE, 0, lines * 4 * sizeof *out, out, 0,
                                  NULL, NULL);
    if (err != CL_SUCCESS)
        VECTOR_FAIL("%s: running kat_philox: %s", dialect, dropout_opencl_status_string(err));
    else
        for (size_t k = 0; k < lines; k++)
            vectors_check_kat(set, (int)k, out + 4 * k, dialect);

    /* Mask cases: one launch per case, one work-item per element. */
    cl_mem bmask = clCreateBuffer(d->context, CL_MEM_WRITE_ONLY, MASK_CASE_MAX_N, NULL, &err);
    for (int k = 0; k < set->case_count && err == CL_SUCCESS; k++) {
        const mask_case *c = &set->cases[k];
        cl_ulong threshold = dropout_mask_v1_threshold(c->p);
        cl_uchar keep[MASK_CASE_MAX_N];
        uint8_t by_block[MASK_CASE_MAX_N / 8], by_element[MASK_CASE_MAX_N / 8];
        size_t n = c->n;
        clSetKernelArg(bits, 0, sizeof(cl_ulong), &c->seed);
        clSetKernelArg(bits, 1, sizeof(cl_ulong), &c->stream);
        clSetKernelArg(bits, 2, sizeof threshold, &threshold);
        clSetKernelArg(bits, 3, sizeof(cl_ulong), &c->first);
        clSetKernelArg(bits, 4, sizeof bmask, &bmask);
        err = clEnqueueNDRangeKernel(d->queue, bits, 1, NULL, &n, NULL, 0, NULL, NULL);
        if (err == CL_SUCCESS)
            err = clEnqueueReadBuffer(d->queue, bmask, CL_TRUE, 0, n, keep, 0, NULL, NULL);
        if (err != CL_SUCCESS) {
            VECTOR_FAIL("%s: running mask_bits: %s", dialect, dropout_opencl_status_string(err));
            break;
        }
        memset(by_block, 0, sizeof by_block);
        memset(by_element, 0, sizeof by_element);
        for (size_t j = 0; j < n; j++) {
            by_block[j / 8] |= (uint8_t)((keep[j] & 1u) << (j % 8));
            by_element[j / 8] |= (uint8_t)(((keep[j] >> 1) & 1u) << (j % 8));
        }
        vectors_check_mask(set, k, by_block, dialect, "keep_bits16 per block");
        vectors_check_mask(set, k, by_element, dialect, "keep per element");
    }
    clReleaseMemObject(bin);
    clReleaseMemObject(bout);
    clReleaseMemObject(bmask);
    clReleaseKernel(kat);
    clReleaseKernel(bits);
    clReleaseProgram(program);
    free(in);
    free(out);
    return vectors_report(set, dialect);
}

int main(int argc, char **argv)
{
    test_device d;
    vector_set set;
    int failed = 0;
    if (vectors_load(&set, argc, argv) != 0)
        return 1;
    if (test_device_open(&d) != 0)
        return 1;
    char version[128] = "";
    clGetDeviceInfo(d.device, CL_DEVICE_VERSION, sizeof version, version, NULL);
    printf("device: %s (%s)\n", d.name, version);
    failed |= run(&d, &set, "-cl-std=CL1.2");
    if (strncmp(version, "OpenCL 3.", 9) == 0)
        failed |= run(&d, &set, "-cl-std=CL3.0");
    test_device_close(&d);
    vectors_free(&set);
    return failed;
}
