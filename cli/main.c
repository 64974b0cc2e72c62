/*
 * main.c — `dropout`, the command-line tool: a table of subcommands, plus the
 * top-level --help and --version.  It uses only the public header.
 *
 * How to add a subcommand (say `bench`):
 *   1. Write cli/bench.c with `int cli_bench(int argc, char **argv)`: parse
 *      its options with cli_parse() from args.h (an option table, one row per
 *      option), print its help when cli_parse() returns CLI_HELP, report every
 *      bad input with cli_error() (exactly one line on stderr) and return the
 *      exit status.
 *   2. Declare it in cli/commands.h.
 *   3. Add one row to `commands` below (name, function, one-line summary).
 *   4. Add bench.c to DROPOUT_CLI_SOURCES in cli/CMakeLists.txt.
 *   5. Document it in docs/cli.md and test it in tests/cli.cmake.
 * The top-level --help lists the table, so nothing else changes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dropout.h"

#include "args.h"
#include "commands.h"
#include "device.h"

typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} cli_command;

static const cli_command commands[] = {
    {"mask", cli_mask, "print a packed mask as hex (docs/SPEC.md section 4 format)"},
    {"forward", cli_forward, "apply dropout to numbers read from stdin"},
    {"backward", cli_backward, "map gradients from stdin through the forward's mask"},
    {"verify", cli_verify, "check the claims of dropout numerically, print a table"},
    {"bench", cli_bench, "time each operation against the roofline y = s*x (speed of memory)"},
    {"explain", cli_explain, "the worked example of dropout, computed by the library"},
};

static void print_help(FILE *out)
{
    fprintf(out,
            "Usage: dropout <command> [options]\n"
            "       dropout --help | --version\n"
            "\n"
            "Inverted dropout with an exactly specified mask stream (docs/SPEC.md):\n"
            "y = keep ? x / (1 - p) : +0, keep drawn from (seed, stream, element index).\n"
            "\n"
            "Commands:\n");
    for (size_t k = 0; k < CLI_COUNT(commands); k++)
        fprintf(out, "  %-10s %s\n", commands[k].name, commands[k].summary);
    fprintf(out,
            "\n"
            "Run 'dropout <command> --help' for the options of a command.\n"
            "Integers are decimal or 0x-hex, up to 2^64 - 1.\n");
}

static void print_version(void)
{
    printf("dropout %s, mask stream v%d, isa %s, threads %u\n", dropout_version_string(),
           DROPOUT_MASK_STREAM_VERSION, dropout_isa(), dropout_threads());
    cli_device_list(stdout); /* the devices --device can name */
}

/* The whole program but the final check of stdout; *command is set to the
 * subcommand's name once it is known. */
static int dispatch(int argc, char **argv, const char **command)
{
    if (argc < 2)
        return cli_error(NULL, "missing command (see 'dropout --help')");
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        if (argc > 2 && strcmp(name, "help") == 0) { /* "dropout help mask" */
            for (size_t k = 0; k < CLI_COUNT(commands); k++) {
                if (strcmp(argv[2], commands[k].name) == 0) {
                    char help_flag[] = "--help";
                    char *help_argv[] = {help_flag, NULL};
                    *command = commands[k].name;
                    return commands[k].run(1, help_argv);
                }
            }
            return cli_error(NULL, "unknown command '%s' (see 'dropout --help')", argv[2]);
        }
        print_help(stdout);
        return 0;
    }
    /* The library runs the best variant when DROPOUT_ISA names one this
     * machine lacks, and says so only through dropout_isa_status(). */
    if (dropout_isa_status() != DROPOUT_OK)
        return cli_error(NULL, "DROPOUT_ISA=%s: %s (use scalar, avx2, avx512, neon or auto)",
                         getenv("DROPOUT_ISA"), dropout_status_string(dropout_isa_status()));
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        print_version();
        return 0;
    }
    for (size_t k = 0; k < CLI_COUNT(commands); k++) {
        if (strcmp(name, commands[k].name) == 0) {
            *command = commands[k].name;
            return commands[k].run(argc - 2, argv + 2);
        }
    }
    if (name[0] == '-')
        return cli_error(NULL, "unknown option '%s' (see 'dropout --help')", name);
    return cli_error(NULL, "unknown command '%s' (see 'dropout --help')", name);
}

/* Every run ends in cli_finish: output that could not be written is an error
 * (exit 1 and one line on stderr), whichever command wrote it. */
int cli_main(int argc, char **argv)
{
    const char *command = NULL;
    int status = dispatch(argc, argv, &command);
    return cli_finish(command, status);
}

#ifndef DROPOUT_CLI_NO_MAIN /* the fuzz target (fuzz/fuzz_cli.c) has its own */
int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
#endif
