/*
 * mask.c — `dropout mask`: the packed mask of elements [first, first + count)
 * as lowercase hex, byte 0 first, on one line (docs/SPEC.md sections 3, 4).
 *
 * The mask is produced in chunks of a multiple of 8 elements, so each chunk
 * is a whole number of bytes of the same packed mask and any count works in
 * constant memory.
 */
#include <stdio.h>
#include <stdlib.h>

#include "dropout.h"

#include "args.h"
#include "commands.h"
#include "device.h"

#define MASK_CHUNK_ELEMENTS ((size_t)1 << 20) /* a multiple of 8 */

static void print_help(const cli_option *options, size_t count)
{
    printf("Usage: dropout mask --p P --seed S --stream K [--first F] --count N\n"
           "                    [--device cpu|opencl [--cl-device N]]\n"
           "\n"
           "Print the packed keep mask of elements F ... F+N-1 of stream K of seed S as\n"
           "lowercase hex on one line, byte 0 first.  Bit k (least significant first)\n"
           "of byte k/8 is the keep bit of element F+k; the last byte's unused bits\n"
           "are zero.\n"
           "\n"
           "Example:\n"
           "  dropout mask --p 0.5 --seed 0 --stream 0 --count 64   # 4c45a0d2a9aee1f3\n"
           "\n");
    cli_print_options(stdout, options, count);
}

int cli_mask(int argc, char **argv)
{
    dropout_params params = {0};
    uint64_t count = 0;
    cli_device_choice choice = {0, 0};
    cli_option options[] = {
        CLI_OPTION("--p", CLI_PROB, &params.p, "P", "drop probability, 0 <= P <= 1", CLI_REQUIRED),
        CLI_OPTION("--seed", CLI_U64, &params.seed, "S", "seed (Philox key)", CLI_REQUIRED),
        CLI_OPTION("--stream", CLI_U64, &params.stream, "K", "stream (one per forward pass)",
                   CLI_REQUIRED),
        CLI_OPTION("--first", CLI_U64, &params.first, "F", "index of the first element (default 0)",
                   0),
        CLI_OPTION("--count", CLI_U64, &count, "N", "number of elements", CLI_REQUIRED),
        CLI_DEVICE_OPTIONS(&choice),
    };
    int parsed = cli_parse("mask", argc, argv, options, CLI_COUNT(options));
    if (parsed == CLI_HELP) {
        print_help(options, CLI_COUNT(options));
        return 0;
    }
    if (parsed != CLI_PARSED)
        return 1;
    if (count > 0 && count - 1 > UINT64_MAX - params.first)
        return cli_error("mask", "--first + --count exceeds 2^64 (the mask index space)");

    cli_device device;
    if (cli_device_open(&device, "mask", &choice) != 0)
        return 1;
    size_t chunk = count < MASK_CHUNK_ELEMENTS ? (size_t)count : MASK_CHUNK_ELEMENTS;
    uint8_t *mask = malloc(dropout_mask_bytes(chunk) + 1);
    char *hex = malloc(2 * dropout_mask_bytes(chunk) + 1);
    if (mask == NULL || hex == NULL) {
        free(mask);
        free(hex);
        cli_device_close(&device);
        return cli_error("mask", "out of memory");
    }
    static const char digits[] = "0123456789abcdef";
    int status = DROPOUT_OK;
    for (uint64_t done = 0; done < count && status == DROPOUT_OK; done += chunk) {
        size_t n = count - done < chunk ? (size_t)(count - done) : chunk;
        dropout_params slice = params;
        slice.first = params.first + done;
        size_t bytes = dropout_mask_bytes(n);
        status = device.ops->mask(device.state, &slice, mask, n);
        for (size_t k = 0; k < bytes; k++) {
            hex[2 * k] = digits[mask[k] >> 4];
            hex[2 * k + 1] = digits[mask[k] & 15];
        }
        if (status == DROPOUT_OK &&
            (fwrite(hex, 1, 2 * bytes, stdout) != 2 * bytes || ferror(stdout)))
            break; /* output lost: stop here, cli_finish reports it */
    }
    free(mask);
    free(hex);
    cli_device_close(&device);
    if (status != DROPOUT_OK)
        return cli_error("mask", "%s", device.ops->status_string(status));
    putchar('\n');
    return 0; /* cli_finish checks that stdout took it all */
}
