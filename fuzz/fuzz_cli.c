/*
 * fuzz_cli.c — libFuzzer target: the `dropout` tool's argument and stdin
 * parsers, through the whole program run in-process (cli_main, main.c).
 *
 * Property: for any arguments and any stdin bytes,
 *  - the exit status is 0 or 1 (and nothing crashes, overreads or leaks);
 *  - status 0 writes nothing on stderr; status 1 writes exactly one line,
 *    in which every control character is escaped (no byte below 0x20 but
 *    the final newline, no DEL, only well-formed UTF-8 without C1 controls);
 *  - a successful `mask` prints one line of lowercase hex with an even
 *    number of digits; a successful `forward`/`backward` prints one line per
 *    whitespace-separated input token, each a whole number for strtod, and
 *    fails if the input holds a NUL byte;
 *  - output beyond the 1 MiB the harness's stdout holds is an error, not
 *    silently lost (`mask --count 2^40` must stop and say so).
 *
 * Input: byte 0 picks the subcommand (or takes it from the input), byte 1
 * the number of further arguments, then the arguments, each ended by a NUL
 * byte, then stdin (which may hold NUL bytes: an error by docs/cli.md).
 * `verify` and `bench` run only with --help (they take seconds), `explain`
 * without --passes (up to 10^8) and --svg (it writes a file).
 *
 * glibc documents stdin, stdout and stderr as variables a program may
 * assign; the harness points them at memory streams for one run.
 */
#define _GNU_SOURCE /* open_memstream, fmemopen */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 24
#define OUT_CAP ((size_t)1 << 20)

/* Strict UTF-8 without C0/C1 controls and DEL: what an escaped line is. */
static int clean_text(const unsigned char *s, size_t n)
{
    for (size_t k = 0; k < n;) {
        unsigned c = s[k];
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return 0;
            k++;
            continue;
        }
        size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
        if (len == 0 || c > 0xf4 || k + len > n)
            return 0;
        unsigned long code = c & (0x7fu >> len);
        for (size_t j = 1; j < len; j++) {
            if ((s[k + j] & 0xc0) != 0x80)
                return 0;
            code = code << 6 | (s[k + j] & 0x3fu);
        }
        if ((len == 3 && code < 0x800) || (len == 4 && code < 0x10000) || code <= 0x9f ||
            (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff)
            return 0;
        k += len;
    }
    return 1;
}

static int is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static size_t count_tokens(const uint8_t *s, size_t n)
{
    size_t tokens = 0;
    for (size_t k = 0; k < n; k++)
        if (!is_space(s[k]) && (k == 0 || is_space(s[k - 1])))
            tokens++;
    return tokens;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const commands[] = {"mask",      "forward", "backward", "help", "--help",
                                           "--version", "verify",  "bench",    "explain"};
    const size_t ncommands = sizeof commands / sizeof commands[0];
    if (size < 2)
        return 0;
    size_t pos = 2, nargs = data[1] % MAX_ARGS;
    char *argv[MAX_ARGS + 3] = {"dropout"};
    int argc = 1;
    /* Copies of the arguments: exact-size heap blocks, so ASan sees overreads. */
    char *owned[MAX_ARGS + 1];
    size_t nowned = 0;
    for (size_t a = 0; a <= nargs && pos <= size; a++) {
        if (a == 0 && data[0] % (ncommands + 1) < ncommands) {
            argv[argc++] = (char *)commands[data[0] % (ncommands + 1)];
            continue;
        }
        const uint8_t *end = memchr(data + pos, 0, size - pos);
        size_t len = end ? (size_t)(end - (data + pos)) : size - pos;
        char *arg = malloc(len + 1);
        if (arg == NULL)
            abort();
        memcpy(arg, data + pos, len);
        arg[len] = '\0';
        owned[nowned++] = arg;
        argv[argc++] = arg;
        pos += len + 1;
    }
    argv[argc] = NULL;
    const uint8_t *in = pos < size ? data + pos : data + size;
    size_t in_size = pos < size ? size - pos : 0;

    int help = 0;
    for (int a = 1; a < argc; a++)
        if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0 ||
            (a == 1 && (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--version") == 0 ||
                        strcmp(argv[1], "version") == 0)))
            help = 1;
    int slow = argc > 1 && (strcmp(argv[1], "verify") == 0 || strcmp(argv[1], "bench") == 0);
    if (slow && !help)
        goto done;
    /* explain: not --passes (up to 10^8 of them) nor --svg (it writes a file). */
    for (int a = 2; argc > 1 && strcmp(argv[1], "explain") == 0 && a < argc; a++)
        if (strncmp(argv[a], "--passes", 8) == 0 || strncmp(argv[a], "--svg", 5) == 0)
            goto done;

    static char out_buffer[OUT_CAP + 1];
    char *err_text = NULL;
    size_t err_size = 0;
    FILE *saved_in = stdin, *saved_out = stdout;
    FILE *fake_in = in_size ? fmemopen((void *)in, in_size, "r") : fopen("/dev/null", "r");
    FILE *fake_out = fmemopen(out_buffer, OUT_CAP, "w");
    FILE *fake_err = open_memstream(&err_text, &err_size);
    if (fake_in == NULL || fake_out == NULL || fake_err == NULL)
        abort();
    stdin = fake_in;
    stdout = fake_out;
    cli_set_error_stream(fake_err);
    long out_length = -1;
    int status = cli_main(argc, argv); /* closes fake_out (cli_finish) */
    stdin = saved_in;
    stdout = saved_out;
    cli_set_error_stream(NULL);
    fclose(fake_in);
    fclose(fake_err);
    out_buffer[OUT_CAP] = '\0';
    out_length = (long)strlen(out_buffer);

    if (status != 0 && status != 1)
        abort();
    if (status == 0 && err_size != 0)
        abort(); /* success with an error line */
    if (status == 1) {
        /* exactly one line, every control character escaped */
        if (err_size == 0 || err_text[err_size - 1] != '\n' ||
            !clean_text((const unsigned char *)err_text, err_size - 1))
            abort();
    }
    if (status == 0 && !help && argc > 1) {
        if ((size_t)out_length >= OUT_CAP)
            abort(); /* output beyond the cap, and exit status 0 */
        if (strcmp(argv[1], "mask") == 0) {
            size_t digits = strspn(out_buffer, "0123456789abcdef");
            if (digits % 2 != 0 || out_buffer[digits] != '\n' || out_buffer[digits + 1] != '\0')
                abort();
        } else if (strcmp(argv[1], "forward") == 0 || strcmp(argv[1], "backward") == 0) {
            size_t lines = 0;
            for (char *line = out_buffer; *line; lines++) {
                char *newline = strchr(line, '\n'), *end = NULL;
                if (newline == NULL)
                    abort(); /* an unterminated line */
                *newline = '\0';
                strtod(line, &end);
                if (end == line || *end != '\0')
                    abort(); /* not a number */
                line = newline + 1;
            }
            if (lines != count_tokens(in, in_size) || memchr(in, 0, in_size) != NULL)
                abort(); /* a result per input number; a NUL byte is an error */
        }
    }
    memset(out_buffer, 0, (size_t)out_length + 1 < OUT_CAP ? (size_t)out_length + 1 : OUT_CAP);
    free(err_text);
done:
    for (size_t k = 0; k < nowned; k++)
        free(owned[k]);
    return 0;
}
