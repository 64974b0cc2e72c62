/*
 * device_cuda.c — `--device cuda`: the same calls through libdropout_cuda
 * (include/dropout_cuda.h) on the current CUDA device, with device buffers
 * sized to the largest call so far, on the default stream.  Built as a stub
 * that says how to get it when the library has no CUDA backend
 * (DROPOUT_CLI_CUDA undefined).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"

#ifdef DROPOUT_CLI_CUDA

#include "dropout_cuda.h"

typedef struct cuda_state {
    void *in, *out, *mask; /* device buffers, grown as needed */
    size_t in_size, out_size, mask_size;
} cuda_state;

static void cuda_close(void *state)
{
    cuda_state *s = state;
    if (s == NULL)
        return;
    dropout_cuda_free(s->in);
    dropout_cuda_free(s->out);
    dropout_cuda_free(s->mask);
    free(s);
}

static int cuda_open(void **state, const char *command, const cli_device_choice *choice)
{
    (void)choice;
    int count = 0;
    if (dropout_cuda_device_count(&count) != DROPOUT_OK)
        return cli_error(command, "--device cuda: no usable CUDA device or driver (CUDA runtime: %s)",
                         dropout_cuda_error_string());
    cuda_state *s = calloc(1, sizeof *s);
    if (s == NULL)
        return cli_error(command, "--device cuda: out of memory");
    *state = s;
    return 0;
}

/* *mem holds at least size bytes (a device buffer). */
static int ensure(void **mem, size_t *have, size_t size)
{
    if (*have >= size && *mem != NULL)
        return DROPOUT_OK;
    dropout_cuda_free(*mem);
    *mem = NULL;
    *have = 0;
    int status = dropout_cuda_alloc(mem, size ? size : 1);
    if (status == DROPOUT_OK)
        *have = size;
    return status;
}

static int cuda_mask(void *state, const dropout_params *params, uint8_t *mask, size_t n)
{
    cuda_state *s = state;
    const size_t bytes = dropout_mask_bytes(n);
    int status = ensure(&s->mask, &s->mask_size, bytes);
    if (status == DROPOUT_OK)
        status = dropout_cuda_mask(params, n, s->mask, bytes, NULL);
    if (status == DROPOUT_OK)
        status = dropout_cuda_copy(mask, s->mask, bytes, NULL);
    if (status == DROPOUT_OK)
        status = dropout_cuda_synchronize(NULL);
    return status;
}

static int cuda_forward(const dropout_params *params, int dtype, void *y, const void *x, size_t n)
{
    switch (dtype) {
    case DROPOUT_DTYPE_F32: return dropout_cuda_forward_f32(params, y, x, n, NULL, 0, NULL);
    case DROPOUT_DTYPE_F64: return dropout_cuda_forward_f64(params, y, x, n, NULL, 0, NULL);
    case DROPOUT_DTYPE_BF16: return dropout_cuda_forward_bf16(params, y, x, n, NULL, 0, NULL);
    case DROPOUT_DTYPE_F16: return dropout_cuda_forward_f16(params, y, x, n, NULL, 0, NULL);
    default: return DROPOUT_ERROR_INVALID_DTYPE;
    }
}

static int cuda_backward_regen(const dropout_params *params, int dtype, void *dx, const void *dy,
                               size_t n)
{
    switch (dtype) {
    case DROPOUT_DTYPE_F32: return dropout_cuda_backward_regen_f32(params, dx, dy, n, NULL);
    case DROPOUT_DTYPE_F64: return dropout_cuda_backward_regen_f64(params, dx, dy, n, NULL);
    case DROPOUT_DTYPE_BF16: return dropout_cuda_backward_regen_bf16(params, dx, dy, n, NULL);
    case DROPOUT_DTYPE_F16: return dropout_cuda_backward_regen_f16(params, dx, dy, n, NULL);
    default: return DROPOUT_ERROR_INVALID_DTYPE;
    }
}

static int cuda_apply(void *state, cli_apply what, int dtype, const dropout_params *params,
                      void *out, const void *in, size_t n)
{
    cuda_state *s = state;
    const size_t bytes = n * dropout_dtype_size(dtype);
    int status = ensure(&s->in, &s->in_size, bytes);
    if (status == DROPOUT_OK)
        status = ensure(&s->out, &s->out_size, bytes);
    if (status == DROPOUT_OK)
        status = dropout_cuda_copy(s->in, in, bytes, NULL);
    if (status == DROPOUT_OK)
        status = what == CLI_APPLY_FORWARD ? cuda_forward(params, dtype, s->out, s->in, n)
                                           : cuda_backward_regen(params, dtype, s->out, s->in, n);
    if (status == DROPOUT_OK)
        status = dropout_cuda_copy(out, s->out, bytes, NULL);
    if (status == DROPOUT_OK)
        status = dropout_cuda_synchronize(NULL);
    return status;
}

/* A device error says what the CUDA runtime said. */
static const char *cuda_status_string(int status)
{
    static char text[256];
    if (status != DROPOUT_ERROR_DEVICE)
        return dropout_status_string(status);
    snprintf(text, sizeof text, "%s (CUDA: %s)", dropout_status_string(status),
             dropout_cuda_error_string());
    return text;
}

static void cuda_list(FILE *out)
{
    int count = 0;
    char name[160];
    if (dropout_cuda_device_count(&count) != DROPOUT_OK) {
        fprintf(out, "device cuda: none (%s)\n", dropout_cuda_error_string());
        return;
    }
    if (dropout_cuda_device_name(name, sizeof name) == DROPOUT_OK)
        fprintf(out, "device cuda: %s (%d device(s); the current one)\n", name, count);
}

const cli_device_ops cli_device_cuda = {
    .name = "cuda",
    .open = cuda_open,
    .close = cuda_close,
    .mask = cuda_mask,
    .apply = cuda_apply,
    .status_string = cuda_status_string,
    .list = cuda_list,
};

#else /* no CUDA backend in this build */

static int cuda_missing(void **state, const char *command, const cli_device_choice *choice)
{
    (void)state, (void)choice;
    return cli_error(command, "--device cuda: this dropout was built without the CUDA backend "
                              "(configure with nvcc on PATH, or -DCMAKE_CUDA_COMPILER=...)");
}

static void cuda_missing_list(FILE *out)
{
    fprintf(out, "device cuda: not built (no CUDA compiler at configure time)\n");
}

const cli_device_ops cli_device_cuda = {
    .name = "cuda",
    .open = cuda_missing,
    .list = cuda_missing_list,
};

#endif
