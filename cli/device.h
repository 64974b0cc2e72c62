/*
 * device.h — where `dropout mask`, `forward`, `backward` and `bench` run:
 * `--device cpu|opencl|cuda` (plus each device's own index option), one row per
 * device in device.c's table.
 *
 * A subcommand adds the options with CLI_DEVICE_OPTIONS, opens the device
 * once with cli_device_open (which prints the one error line itself), runs
 * its calls through cli_device_mask / cli_device_apply, and closes it.
 * Results are bit for bit the CPU's, so the subcommand prints them the same
 * way whatever the device.
 *
 * How to add a device (say `cuda`):
 *   1. Write cli/device_cuda.c defining `const cli_device_ops cli_device_cuda`
 *      (see cli_device_ops below; device_opencl.c is an example), with a
 *      stub whose open() says how to rebuild when the backend is not built.
 *   2. Add its row to `device_table` in device.c and its name to
 *      CLI_DEVICE_NAMES, and its index option (if any) to CLI_DEVICE_OPTIONS
 *      and cli_device_choice.
 *   3. Add the file to cli/CMakeLists.txt.
 */
#ifndef DROPOUT_CLI_DEVICE_H
#define DROPOUT_CLI_DEVICE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dropout.h"

#include "args.h"

/* What the options chose. */
typedef struct cli_device_choice {
    int device;         /* index into cli_device_names: 0 = cpu          */
    uint64_t cl_device; /* --cl-device: index among the OpenCL devices   */
} cli_device_choice;

extern const char *const cli_device_names[]; /* {"cpu", "opencl", "cuda", NULL} */

#define CLI_DEVICE_OPTIONS(choice)                                                           \
    CLI_OPTION_CHOICE("--device", &(choice)->device, cli_device_names, NULL,                 \
                      "where to run: cpu (default), opencl or cuda; same bits on all"),     \
        CLI_OPTION("--cl-device", CLI_U64, &(choice)->cl_device, "N",                        \
                   "which OpenCL device (default 0; 'dropout version' lists them)", 0)

typedef enum cli_apply { CLI_APPLY_FORWARD, CLI_APPLY_BACKWARD } cli_apply;

/* One device's operations.  `state` is what open() made.  Calls return a
 * status; status_string names it (devices add their own error codes). */
typedef struct cli_device_ops {
    const char *name;
    /* 0, or 1 after printing one error line "dropout <command>: ..." */
    int (*open)(void **state, const char *command, const cli_device_choice *choice);
    void (*close)(void *state);
    int (*mask)(void *state, const dropout_params *params, uint8_t *mask, size_t n);
    /* forward (training or evaluation) or backward regenerating the mask */
    int (*apply)(void *state, cli_apply what, int dtype, const dropout_params *params,
                 void *out, const void *in, size_t n);
    const char *(*status_string)(int status);
    /* `dropout --version`: one line per device found (or why none is) */
    void (*list)(FILE *out);
    /* `dropout bench --device NAME`; NULL if the device has no bench */
    int (*bench)(void *state, const uint64_t *sizes, size_t size_count, double p,
                 unsigned repeats, int json);
} cli_device_ops;

typedef struct cli_device {
    const cli_device_ops *ops;
    void *state;
} cli_device;

/* 0, or 1 after printing one error line. */
int cli_device_open(cli_device *device, const char *command, const cli_device_choice *choice);
void cli_device_close(cli_device *device);
/* Every device's lines for `dropout --version`. */
void cli_device_list(FILE *out);

extern const cli_device_ops cli_device_cpu;    /* device.c        */
extern const cli_device_ops cli_device_opencl; /* device_opencl.c */
extern const cli_device_ops cli_device_cuda;   /* device_cuda.c   */

#endif /* DROPOUT_CLI_DEVICE_H */
