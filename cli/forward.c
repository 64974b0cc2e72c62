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
 * Each element type is one row of `dtypes`: how to parse a token and how to
 * print a result round-trippably.  The chunks run on the --device chosen
 * (device.h): the CPU library or libdropout_opencl, with the same bits.
 *
 * The dropout family (docs/family.md): --shape with --broadcast-dims (channel,
 * drop path, time-locked masks) and --variant alpha|feature-alpha|gaussian
 * need the whole tensor, so with either of them the input is read completely
 * and processed by one dropout_shaped_* call (run_shaped below).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dropout.h"

#include "args.h"
#include "commands.h"
#include "device.h"

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
    int library_dtype; /* DROPOUT_DTYPE_*: what the device and shaped calls take */
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

/* ---- bf16 and f16: parsed as f32, then rounded to nearest-even ------------- */

static int parse_half(const char *token, void *values, size_t k, int bf16)
{
    float v;
    int status = parse_f32(token, &v, 0);
    if (status != 0)
        return status;
    uint16_t h = bf16 ? dropout_bf16_from_f32(v) : dropout_f16_from_f32(v);
    float back = bf16 ? dropout_f32_from_bf16(h) : dropout_f32_from_f16(h);
    if (isinf(back) && !isinf(v))
        return -2;
    ((uint16_t *)values)[k] = h;
    return 0;
}

static int parse_bf16(const char *token, void *values, size_t k)
{
    return parse_half(token, values, k, 1);
}

static int parse_f16(const char *token, void *values, size_t k)
{
    return parse_half(token, values, k, 0);
}

/* The exact value, as an f32 that reads back to the same half. */
static void print_bf16(FILE *out, const void *values, size_t k)
{
    float v = dropout_f32_from_bf16(((const uint16_t *)values)[k]);
    print_f32(out, &v, 0);
}

static void print_f16(FILE *out, const void *values, size_t k)
{
    float v = dropout_f32_from_f16(((const uint16_t *)values)[k]);
    print_f32(out, &v, 0);
}

static const dtype_ops dtypes[] = {
    {"f32", sizeof(float), parse_f32, print_f32, DROPOUT_DTYPE_F32},
    {"f64", sizeof(double), parse_f64, print_f64, DROPOUT_DTYPE_F64},
    {"bf16", sizeof(uint16_t), parse_bf16, print_bf16, DROPOUT_DTYPE_BF16},
    {"f16", sizeof(uint16_t), parse_f16, print_f16, DROPOUT_DTYPE_F16},
};
#define DTYPE_COUNT (sizeof dtypes / sizeof dtypes[0])

/* ---- reading whitespace-separated tokens with line numbers ---------------- */

typedef struct token_reader {
    FILE *in;
    unsigned long long line; /* line of the last token read, from 1 */
    int pending;             /* a character read ahead, or EOF        */
} token_reader;

/* 1: a token in `token`; 0: end of input; -1: token longer than TOKEN_MAX;
 * -2: a NUL byte, which text input never contains (strtod would stop at it
 * and silently drop the rest of the token). */
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
        if (c == '\0')
            return -2;
        if (length == TOKEN_MAX)
            return -1;
        token[length++] = (char)c;
        c = getc(r->in);
    }
    token[length] = '\0';
    r->pending = c;
    return 1;
}

/* The next number of the input into element k of `values`: 1, 0 at the end
 * of the input, or -1 with the error line printed. */
static int read_number(const char *command, token_reader *r, const dtype_ops *ops, void *values,
                       size_t k)
{
    char token[TOKEN_MAX + 1];
    int got = read_token(r, token);
    if (got == -1)
        return -cli_error(command, "line %llu: token longer than %d characters", r->line,
                          TOKEN_MAX);
    if (got == -2)
        return -cli_error(command, "line %llu: NUL byte in the input (expected text: numbers "
                                   "separated by whitespace)", r->line);
    if (got == 0)
        return 0;
    int parsed = ops->parse(token, values, k);
    if (parsed == -2)
        return -cli_error(command, "line %llu: '%s' is out of range for %s", r->line, token,
                          ops->name);
    if (parsed != 0)
        return -cli_error(command,
                          "line %llu: '%s' is not a number (%s; nan, inf, -inf, -0 accepted)",
                          r->line, token, ops->name);
    return 1;
}

/* ---- the command ------------------------------------------------------------ */

static void print_help(direction dir, const cli_option *options, size_t count)
{
    const char *name = dir == FORWARD ? "forward" : "backward";
    printf("Usage: dropout %s --p P --seed S --stream K [--first F] [--eval] [--dtype TYPE]\n"
           "       [--shape D0,D1,... [--broadcast-dims K,...]] [--variant VARIANT]\n"
           "       [--device cpu|opencl [--cl-device N]]\n\n",
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
    printf("Element k of the input has mask index F + k.  Results print with %%.9g (f32,\n"
           "bf16, f16: the exact value) or %%.17g (f64), which read back to the same bits; a\n"
           "dropped element prints as 0 (positive zero).  bf16/f16 input is parsed as f32\n"
           "and rounded to nearest-even.\n"
           "\n"
           "The family (docs/family.md): with --shape the input is a row-major tensor (last\n"
           "dimension fastest) and --broadcast-dims names the dimensions along which the\n"
           "mask is shared; element k's mask index is F + its flat index in the mask's\n"
           "shape (shared dimensions collapsed to 1).  --variant alpha: alpha dropout for\n"
           "SELU (PyTorch AlphaDropout); feature-alpha: alpha with one mask per (N, C)\n"
           "slice of --shape N,C,...; gaussian: x * (1 + sqrt(P/(1-P)) z), z standard\n"
           "normal (Keras GaussianDropout).  With --shape or --variant the whole input is\n"
           "read before anything is printed.\n"
           "\n"
           "Examples:\n"
           "  echo 1 2 3 4 | dropout %s --p 0.5 --seed 42 --stream 0\n"
           "  seq 240 | dropout %s --p 0.5 --seed 1 --stream 0 --shape 10,4,6 --broadcast-dims 2\n"
           "\n",
           name, name);
    cli_print_options(stdout, options, count);
}

/* ---- the family: the whole tensor in one shaped call ----------------------- */

enum { VARIANT_STANDARD, VARIANT_ALPHA, VARIANT_FEATURE_ALPHA, VARIANT_GAUSSIAN };

/* Every number of stdin into *values (grown as needed); 0 or 1 (error printed). */
static int read_all(const char *command, const dtype_ops *ops, void **values, size_t *count)
{
    token_reader reader = {stdin, 1, ' '};
    size_t capacity = 0, n = 0;
    unsigned char *buffer = NULL;
    for (;;) {
        if (n == capacity) {
            size_t grown = capacity ? 2 * capacity : CHUNK_ELEMENTS;
            unsigned char *bigger = realloc(buffer, grown * ops->size);
            if (bigger == NULL) {
                free(buffer);
                return cli_error(command, "out of memory");
            }
            buffer = bigger;
            capacity = grown;
        }
        int got = read_number(command, &reader, ops, buffer, n);
        if (got < 0) {
            free(buffer);
            return 1;
        }
        if (got == 0)
            break;
        n++;
    }
    if (ferror(stdin)) {
        free(buffer);
        return cli_error(command, "cannot read the input");
    }
    *values = buffer;
    *count = n;
    return 0;
}

static int run_shaped(direction dir, const dtype_ops *ops, const dropout_params *params,
                      const cli_u64_list *dims, const cli_u64_list *broadcast, int variant)
{
    const char *command = dir == FORWARD ? "forward" : "backward";
    dropout_shape shape;
    memset(&shape, 0, sizeof shape);
    if (broadcast->count > 0 && dims->count == 0)
        return cli_error(command, "--broadcast-dims needs --shape");
    if (variant == VARIANT_FEATURE_ALPHA && dims->count < 2)
        return cli_error(command, "--variant feature-alpha needs --shape N,C,... (one mask per "
                                  "(N, C) slice, shared along dimensions 2 and up)");
    if (variant == VARIANT_FEATURE_ALPHA && broadcast->count > 0)
        return cli_error(command, "--variant feature-alpha shares dimensions 2 and up itself; "
                                  "use --variant alpha with --broadcast-dims instead");
    if (variant == VARIANT_GAUSSIAN && params->p == 1.0 && params->mode == DROPOUT_TRAIN)
        return cli_error(command, "--variant gaussian needs P < 1 (the noise variance P/(1-P) "
                                  "is infinite at P = 1)");
    if (dims->count > DROPOUT_MAX_DIMS)
        return cli_error(command, "--shape has %zu dimensions, at most %d are supported",
                         dims->count, DROPOUT_MAX_DIMS);
    for (size_t k = 0; k < dims->count; k++) {
        if (dims->values[k] > SIZE_MAX)
            return cli_error(command, "--shape: dimension %zu is too large", k);
        shape.dims[k] = (size_t)dims->values[k];
    }
    shape.ndim = dims->count;
    for (size_t k = 0; k < broadcast->count; k++) {
        if (broadcast->values[k] >= dims->count)
            return cli_error(command, "--broadcast-dims %llu: the shape has dimensions 0 to %zu",
                             (unsigned long long)broadcast->values[k], dims->count - 1);
        shape.broadcast |= DROPOUT_BROADCAST_DIM(broadcast->values[k]);
    }
    if (variant == VARIANT_FEATURE_ALPHA)
        for (size_t d = 2; d < shape.ndim; d++)
            shape.broadcast |= DROPOUT_BROADCAST_DIM(d);
    if (shape.ndim > 0 && dropout_shape_check(&shape) != DROPOUT_OK)
        return cli_error(command, "--shape: %s", dropout_status_string(DROPOUT_ERROR_INVALID_SHAPE));

    void *in = NULL;
    size_t n = 0;
    if (read_all(command, ops, &in, &n) != 0)
        return 1;
    if (shape.ndim == 0) { /* a variant without --shape: the input as a vector */
        shape.ndim = 1;
        shape.dims[0] = n;
    } else if (dropout_shape_elements(&shape) != n) {
        free(in);
        return cli_error(command, "the input has %zu numbers, --shape needs %zu", n,
                         dropout_shape_elements(&shape));
    }
    void *out = malloc(n ? n * ops->size : 1);
    if (out == NULL) {
        free(in);
        return cli_error(command, "out of memory");
    }
    const int library_variant = variant == VARIANT_GAUSSIAN   ? DROPOUT_VARIANT_GAUSSIAN
                                : variant == VARIANT_STANDARD ? DROPOUT_VARIANT_STANDARD
                                                              : DROPOUT_VARIANT_ALPHA;
    int status = dir == FORWARD
                     ? dropout_shaped_forward(params, library_variant, ops->library_dtype, &shape,
                                              out, in, NULL, 0)
                     : dropout_shaped_backward_regen(params, library_variant, ops->library_dtype,
                                                     &shape, out, in);
    int failed = 0;
    if (status != DROPOUT_OK) {
        failed = cli_error(command, "%s", dropout_status_string(status));
    } else {
        static char output_buffer[1 << 16];
        setvbuf(stdout, output_buffer, _IOFBF, sizeof output_buffer);
        for (size_t k = 0; k < n && !ferror(stdout); k++)
            ops->print(stdout, out, k);
    } /* a failed write: cli_finish reports it */
    free(in);
    free(out);
    return failed;
}

static int run(direction dir, int argc, char **argv)
{
    const char *command = dir == FORWARD ? "forward" : "backward";
    dropout_params params = {0};
    int eval = 0;
    int dtype = 0;
    cli_u64_list shape = {0, {0}}, broadcast = {0, {0}};
    int variant = VARIANT_STANDARD;
    cli_device_choice choice = {0, 0};
    static const char *const variant_names[] = {"standard", "alpha", "feature-alpha", "gaussian",
                                                NULL};
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
        CLI_OPTION("--shape", CLI_U64_LIST, &shape, "D0,D1,...",
                   "tensor shape, row-major, last dimension fastest (at most 8)", 0),
        CLI_OPTION("--broadcast-dims", CLI_U64_LIST, &broadcast, "K,...",
                   "0-based dimensions along which the mask is shared (needs --shape)", 0),
        CLI_OPTION_CHOICE("--variant", &variant, variant_names, NULL,
                          "standard (default), alpha, feature-alpha or gaussian"),
        CLI_DEVICE_OPTIONS(&choice),
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
    const int shaped = shape.count > 0 || broadcast.count > 0 || variant != VARIANT_STANDARD;
    if (shaped && choice.device != 0)
        return cli_error(command, "--device %s runs the standard variant without --shape or "
                                  "--broadcast-dims (the family runs on the cpu)",
                         cli_device_names[choice.device]);
    if (shaped)
        return run_shaped(dir, ops, &params, &shape, &broadcast, variant);
    cli_device device;
    if (cli_device_open(&device, command, &choice) != 0)
        return 1;
    void *in = malloc(CHUNK_ELEMENTS * ops->size);
    void *out = malloc(CHUNK_ELEMENTS * ops->size);
    if (in == NULL || out == NULL) {
        free(in);
        free(out);
        cli_device_close(&device);
        return cli_error(command, "out of memory");
    }
    static char output_buffer[1 << 16];
    setvbuf(stdout, output_buffer, _IOFBF, sizeof output_buffer);

    token_reader reader = {stdin, 1, ' '};
    uint64_t done = 0; /* elements processed so far */
    int failed = 0;
    for (int more = 1; more && !failed;) {
        size_t n = 0;
        while (n < CHUNK_ELEMENTS) {
            int got = read_number(command, &reader, ops, in, n);
            if (got <= 0) {
                more = 0;
                failed = got < 0;
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
        int status = device.ops->apply(device.state,
                                       dir == FORWARD ? CLI_APPLY_FORWARD : CLI_APPLY_BACKWARD,
                                       ops->library_dtype, &slice, out, in, n);
        if (status != DROPOUT_OK) {
            failed = cli_error(command, "%s", device.ops->status_string(status));
            break;
        }
        for (size_t k = 0; k < n; k++)
            ops->print(stdout, out, k);
        done += n;
        if (ferror(stdout))
            break; /* output lost: stop here, cli_finish reports it */
    }
    free(in);
    free(out);
    cli_device_close(&device);
    if (!failed && ferror(stdin))
        failed = cli_error(command, "cannot read the input");
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
