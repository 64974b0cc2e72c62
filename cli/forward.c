/*
 * forward.c — `dropout forward` and `dropout backward`: numbers from stdin,
 * one result per line on stdout.
 *
 *   forward:  y  = keep ? x  * s : +0      (--eval: y  = x)
 *   backward: dx = keep ? dy * s : +0      (--eval: dx = dy)
 *
 * Backward regenerates the forward's mask from (seed, stream, first), so the
 * same options give the same mask in both directions.
 *
 * Input is read and processed in chunks: element k of the input is element
 * first + k of the mask index space whatever the chunking (docs/SPEC.md
 * section 2), so any input size works in constant memory.
 *
 * Each element type is one row of `dtypes`: how to parse a token, how to print
 * a result round-trippably, and which library calls run it.  A new type
 * (bf16, f16) is one more row and its functions.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dropout.h"

#include "args.h"
#include "commands.h"

#define CHUNK_ELEMENTS ((size_t)1 << 16)
#define TOKEN_MAX 128

typedef enum direction { FORWARD, BACKWARD } direction;

typedef struct dtype_ops {
    const char *name;
    size_t size;
    /* Parse a whole token into element k of `values`; 0 or -1 (not a number)
     * or -2 (out of the type's range). */
    int (*parse)(const char *token, void *values, size_t k);
    void (*print)(FILE *out, const void *values, size_t k);
    int (*forward)(const dropout_params *params, void *y, const void *x, size_t n);
    int (*backward)(const dropout_params *params, void *dx, const void *dy, size_t n);
} dtype_ops;

/* ---- f32 ------------------------------------------------------------------ */

static int parse_f32(const char *token, void *values, size_t k)
{
    char *end = NULL;
    errno = 0;
    float v = strtof(token, &end);
    if (end == token || *end != '\0')
        return -1;
    if (errno == ERANGE && isinf(v))
        return -2;
    ((float *)values)[k] = v;
    return 0;
}

/* NaN, Inf and -0 are printed so that strtof/strtod read them back. */
static int print_special(FILE *out, double v)
{
    const char *text = NULL;
    if (isnan(v))
        text = signbit(v) ? "-nan\n" : "nan\n";
    else if (isinf(v))
        text = v < 0 ? "-inf\n" : "inf\n";
    else if (v == 0.0)
        text = signbit(v) ? "-0\n" : "0\n";
    if (text)
        fputs(text, out);
    return text != NULL;
}

static void print_f32(FILE *out, const void *values, size_t k)
{
    float v = ((const float *)values)[k];
    if (!print_special(out, v))
        fprintf(out, "%.9g\n", v);
}

static int forward_f32(const dropout_params *params, void *y, const void *x, size_t n)
{
    return dropout_forward_f32(params, y, x, n, NULL, 0);
}

static int backward_f32(const dropout_params *params, void *dx, const void *dy, size_t n)
{
    return dropout_backward_regen_f32(params, dx, dy, n);
}

/* ---- f64 ------------------------------------------------------------------ */

static int parse_f64(const char *token, void *values, size_t k)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(token, &end);
    if (end == token || *end != '\0')
        return -1;
    if (errno == ERANGE && isinf(v))
        return -2;
    ((double *)values)[k] = v;
    return 0;
}

static void print_f64(FILE *out, const void *values, size_t k)
{
    double v = ((const double *)values)[k];
    if (!print_special(out, v))
        fprintf(out, "%.17g\n", v);
}

static int forward_f64(const dropout_params *params, void *y, const void *x, size_t n)
{
    return dropout_forward_f64(params, y, x, n, NULL, 0);
}

static int backward_f64(const dropout_params *params, void *dx, const void *dy, size_t n)
{
    return dropout_backward_regen_f64(params, dx, dy, n);
}

static const dtype_ops dtypes[] = {
    {"f32", sizeof(float), parse_f32, print_f32, forward_f32, backward_f32},
    {"f64", sizeof(double), parse_f64, print_f64, forward_f64, backward_f64},
};
#define DTYPE_COUNT (sizeof dtypes / sizeof dtypes[0])

/* ---- reading whitespace-separated tokens with line numbers ---------------- */

typedef struct token_reader {
    FILE *in;
    unsigned long long line; /* line of the last token read, from 1 */
    int pending;             /* a character read ahead, or EOF        */
} token_reader;

/* 1: a token in `token`; 0: end of input; -1: token longer than TOKEN_MAX. */
static int read_token(token_reader *r, char token[TOKEN_MAX + 1])
{
    int c = r->pending;
    while (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
        if (c == '\n')
            r->line++;
        c = getc(r->in);
    }
    if (c == EOF)
        return 0;
    size_t length = 0;
    while (c != EOF && !(c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
                         c == '\f')) {
        if (length == TOKEN_MAX)
            return -1;
        token[length++] = (char)c;
        c = getc(r->in);
    }
    token[length] = '\0';
    r->pending = c;
    return 1;
}

/* ---- the command ------------------------------------------------------------ */

static void print_help(direction dir, const cli_option *options, size_t count)
{
    const char *name = dir == FORWARD ? "forward" : "backward";
    printf("Usage: dropout %s --p P --seed S --stream K [--first F] [--eval] [--dtype TYPE]\n\n",
           name);
    if (dir == FORWARD)
        printf("Read numbers x from stdin (whitespace-separated; nan, inf, -inf and -0 are\n"
               "numbers too) and print y, one per line:\n"
               "  training:   y = keep ? x * s : +0,  s = 1 / (1 - P) rounded to the type\n"
               "  evaluation: y = x (--eval)\n");
    else
        printf("Read gradients dy from stdin (whitespace-separated; nan, inf, -inf and -0\n"
               "are numbers too) and print dx, one per line, regenerating the mask of the\n"
               "forward with the same options:\n"
               "  training:   dx = keep ? dy * s : +0,  s = 1 / (1 - P) rounded to the type\n"
               "  evaluation: dx = dy (--eval)\n");
    printf("Element k of the input has mask index F + k.  Results print with %%.9g (f32)\n"
           "or %%.17g (f64), which read back to the same bits; a dropped element prints\n"
           "as 0 (positive zero).\n"
           "\n"
           "Example:\n"
           "  echo 1 2 3 4 | dropout %s --p 0.5 --seed 42 --stream 0\n"
           "\n",
           name);
    cli_print_options(stdout, options, count);
}

static int run(direction dir, int argc, char **argv)
{
    const char *command = dir == FORWARD ? "forward" : "backward";
    dropout_params params = {0};
    int eval = 0;
    int dtype = 0;
    const char *dtype_names[DTYPE_COUNT + 1];
    for (size_t k = 0; k < DTYPE_COUNT; k++)
        dtype_names[k] = dtypes[k].name;
    dtype_names[DTYPE_COUNT] = NULL;
    cli_option options[] = {
        CLI_OPTION("--p", CLI_PROB, &params.p, "P", "drop probability, 0 <= P <= 1", CLI_REQUIRED),
        CLI_OPTION("--seed", CLI_U64, &params.seed, "S", "seed (Philox key)", CLI_REQUIRED),
        CLI_OPTION("--stream", CLI_U64, &params.stream, "K", "stream (one per forward pass)",
                   CLI_REQUIRED),
        CLI_OPTION("--first", CLI_U64, &params.first, "F",
                   "mask index of the first input element (default 0)", 0),
        CLI_OPTION("--eval", CLI_FLAG, &eval, NULL, "evaluation mode: the identity", 0),
        CLI_OPTION_CHOICE("--dtype", &dtype, dtype_names, NULL, "element type (default f32)"),
    };
    int parsed = cli_parse(command, argc, argv, options, CLI_COUNT(options));
    if (parsed == CLI_HELP) {
        print_help(dir, options, CLI_COUNT(options));
        return 0;
    }
    if (parsed != CLI_PARSED)
        return 1;
    params.mode = eval ? DROPOUT_EVAL : DROPOUT_TRAIN;

    const dtype_ops *ops = &dtypes[dtype];
    void *in = malloc(CHUNK_ELEMENTS * ops->size);
    void *out = malloc(CHUNK_ELEMENTS * ops->size);
    if (in == NULL || out == NULL) {
        free(in);
        free(out);
        return cli_error(command, "out of memory");
    }
    static char output_buffer[1 << 16];
    setvbuf(stdout, output_buffer, _IOFBF, sizeof output_buffer);

    token_reader reader = {stdin, 1, ' '};
    char token[TOKEN_MAX + 1];
    uint64_t done = 0; /* elements processed so far */
    int failed = 0;
    for (int more = 1; more && !failed;) {
        size_t n = 0;
        while (n < CHUNK_ELEMENTS) {
            int got = read_token(&reader, token);
            if (got == 0) {
                more = 0;
                break;
            }
            if (got < 0) {
                failed = cli_error(command, "line %llu: token longer than %d characters",
                                   reader.line, TOKEN_MAX);
                break;
            }
            int parsed_number = ops->parse(token, in, n);
            if (parsed_number != 0) {
                failed = cli_error(command,
                                   parsed_number == -2
                                       ? "line %llu: '%s' is out of range for %s"
                                       : "line %llu: '%s' is not a number (%s; nan, inf, -inf, "
                                         "-0 accepted)",
                                   reader.line, token, ops->name);
                break;
            }
            n++;
        }
        if (failed || n == 0)
            break;
        dropout_params slice = params;
        if (n - 1 > UINT64_MAX - params.first || done > UINT64_MAX - params.first - (n - 1)) {
            failed = cli_error(command, "line %llu: mask index beyond 2^64 - 1 (--first too large)",
                               reader.line);
            break;
        }
        slice.first = params.first + done;
        int status = dir == FORWARD ? ops->forward(&slice, out, in, n)
                                    : ops->backward(&slice, out, in, n);
        if (status != DROPOUT_OK) {
            failed = cli_error(command, "%s", dropout_status_string(status));
            break;
        }
        for (size_t k = 0; k < n; k++)
            ops->print(stdout, out, k);
        done += n;
    }
    free(in);
    free(out);
    if (!failed && ferror(stdin))
        failed = cli_error(command, "cannot read the input");
    if (fflush(stdout) != 0 || ferror(stdout)) {
        if (!failed)
            failed = cli_error(command, "cannot write the output");
    }
    return failed ? 1 : 0;
}

int cli_forward(int argc, char **argv)
{
    return run(FORWARD, argc, argv);
}

int cli_backward(int argc, char **argv)
{
    return run(BACKWARD, argc, argv);
}
