/*
 * device.c — the table of devices behind `--device`, and the CPU row: the
 * library's own calls (dropout.h).  See device.h.
 */
#include <string.h>

#include "device.h"

static const cli_device_ops *const device_table[] = {&cli_device_cpu, &cli_device_opencl,
                                                     &cli_device_cuda};

const char *const cli_device_names[] = {"cpu", "opencl", "cuda", NULL};

int cli_device_open(cli_device *device, const char *command, const cli_device_choice *choice)
{
    device->ops = device_table[choice->device];
    device->state = NULL;
    return device->ops->open ? device->ops->open(&device->state, command, choice) : 0;
}

void cli_device_close(cli_device *device)
{
    if (device->ops && device->ops->close)
        device->ops->close(device->state);
    device->state = NULL;
}

void cli_device_list(FILE *out)
{
    for (size_t k = 0; k < sizeof device_table / sizeof device_table[0]; k++)
        device_table[k]->list(out);
}

/* ---- cpu: the library itself ------------------------------------------------ */

static int cpu_mask(void *state, const dropout_params *params, uint8_t *mask, size_t n)
{
    (void)state;
    return dropout_mask(params, n, mask, dropout_mask_bytes(n));
}

/* Every dtype through the shaped calls (one dimension of n): the same bits
 * as dropout_forward_<dtype> and dropout_backward_regen_<dtype>. */
static int cpu_apply(void *state, cli_apply what, int dtype, const dropout_params *params,
                     void *out, const void *in, size_t n)
{
    (void)state;
    dropout_shape shape;
    memset(&shape, 0, sizeof shape);
    shape.ndim = 1;
    shape.dims[0] = n;
    return what == CLI_APPLY_FORWARD
               ? dropout_shaped_forward(params, DROPOUT_VARIANT_STANDARD, dtype, &shape, out, in,
                                        NULL, 0)
               : dropout_shaped_backward_regen(params, DROPOUT_VARIANT_STANDARD, dtype, &shape,
                                               out, in);
}

static void cpu_list(FILE *out)
{
    fprintf(out, "device cpu: isa %s, %u thread(s)\n", dropout_isa(), dropout_threads());
}

const cli_device_ops cli_device_cpu = {
    .name = "cpu",
    .mask = cpu_mask,
    .apply = cpu_apply,
    .status_string = dropout_status_string,
    .list = cpu_list,
};
