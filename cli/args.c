/*
 * args.c — strict option parsing (see args.h).
 *
 * Strict means: an integer is all digits (or 0x and hex digits) and fits in
 * 64 bits, a number is the whole token, an option is given once, and nothing
 * is silently ignored.  strtoull alone would accept "-1" (as 2^64 - 1),
 * leading blanks and trailing garbage, hence the hand-written parser.
 */
#include "args.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static FILE *error_stream; /* NULL: stderr */
static int error_reported;

void cli_set_error_stream(FILE *stream)
{
    error_stream = stream;
    error_reported = 0;
}

/* Length of the UTF-8 sequence at s (at most n bytes) that is printable as
 * it is: a well-formed, shortest-form encoding of a code point that is not a
 * C1 control (U+0080 ... U+009F), a surrogate or above U+10FFFF; 0 if the
 * byte at s must be escaped. */
static size_t printable_utf8(const unsigned char *s, size_t n)
{
    size_t length = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    if (s[0] >= 0xf5 || length == 0 || length > n)
        return 0;
    uint32_t code = s[0] & (0x7fu >> length);
    for (size_t k = 1; k < length; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        code = code << 6 | (s[k] & 0x3fu);
    }
    static const uint32_t smallest[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < smallest[length] || code <= 0x9f || (code >= 0xd800 && code <= 0xdfff) ||
        code > 0x10ffff)
        return 0;
    return length;
}

void cli_put_escaped(FILE *out, const char *text, size_t length)
{
    const unsigned char *s = (const unsigned char *)text;
    for (size_t k = 0; k < length;) {
        unsigned char c = s[k];
        if (c >= 0x20 && c < 0x7f) {
            fputc(c, out);
            k++;
            continue;
        }
        size_t run = c >= 0x80 ? printable_utf8(s + k, length - k) : 0;
        if (run > 0) {
            fwrite(s + k, 1, run, out);
            k += run;
            continue;
        }
        switch (c) {
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        case '\0': fputs("\\0", out); break;
        default: fprintf(out, "\\x%02x", c);
        }
        k++;
    }
}

int cli_error(const char *command, const char *format, ...)
{
    char message[2048];
    va_list args;
    va_start(args, format);
    int length = vsnprintf(message, sizeof message, format, args);
    va_end(args);
    if (length < 0)
        length = 0;
    FILE *out = error_stream ? error_stream : stderr;
    fprintf(out, "dropout%s%s: ", command ? " " : "", command ? command : "");
    cli_put_escaped(out, message, (size_t)length < sizeof message ? (size_t)length
                                                                  : sizeof message - 1);
    if ((size_t)length >= sizeof message)
        fputs("...", out);
    fputc('\n', out);
    fflush(out);
    error_reported = 1;
    return 1;
}

int cli_finish(const char *command, int status)
{
    /* errno says why only when this flush is what failed; an earlier failed
     * write leaves just the error indicator. */
    errno = 0;
    int flush_failed = fflush(stdout) != 0;
    int saved = flush_failed ? errno : 0;
    int failed = flush_failed || ferror(stdout);
    if (fclose(stdout) != 0 && !failed) {
        failed = 1;
        saved = errno;
    }
    if (!failed)
        return status;
    /* One line, unless the command already reported its own error. */
    if (!error_reported)
        cli_error(command, "cannot write the output%s%s", saved ? ": " : "",
                  saved ? strerror(saved) : "");
    return status != 0 ? status : 1;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int cli_parse_u64(const char *text, uint64_t *value)
{
    unsigned base = 10;
    const char *digits = text;
    if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
        base = 16;
        digits = text + 2;
    }
    if (*digits == '\0')
        return -1;
    uint64_t result = 0;
    for (const char *c = digits; *c; c++) {
        int d = hex_digit(*c);
        if (d < 0 || (unsigned)d >= base)
            return -1;
        if (result > (UINT64_MAX - (uint64_t)d) / base)
            return -2; /* overflow */
        result = result * base + (uint64_t)d;
    }
    *value = result;
    return 0;
}

/* A whole-token double; -1 if not a number at all. */
static int parse_double(const char *text, double *value)
{
    if (*text == '\0' || isspace((unsigned char)*text)) /* strtod would skip it */
        return -1;
    char *end = NULL;
    double result = strtod(text, &end);
    if (end == text || *end != '\0')
        return -1;
    *value = result;
    return 0;
}

void cli_format_double(char out[CLI_NUMBER_TEXT], double value)
{
    if (isnan(value) || isinf(value) || value == 0.0) {
        snprintf(out, CLI_NUMBER_TEXT, "%s",
                 isnan(value) ? (signbit(value) ? "-nan" : "nan")
                 : isinf(value) ? (value < 0 ? "-inf" : "inf")
                 : signbit(value) ? "-0" : "0");
        return;
    }
    /* At least as many digits as the integer part has, so that %g does not
     * write 10 as "1e+01". */
    double magnitude = fabs(value);
    int digits = magnitude >= 1.0 && magnitude < 1e17 ? (int)floor(log10(magnitude)) + 1 : 1;
    for (; digits <= 17; digits++) { /* 17 always reads back */
        snprintf(out, CLI_NUMBER_TEXT, "%.*g", digits, value);
        if (strtod(out, NULL) == value)
            return;
    }
}

int cli_parse_prob(const char *text, double *value)
{
    double p;
    if (parse_double(text, &p) != 0 || !(p >= 0.0 && p <= 1.0)) /* NaN fails too */
        return -1;
    *value = p;
    return 0;
}

/* One item of a comma-separated list into values[k]; 0 on success. */
static int parse_u64_item(const char *text, void *values, size_t k)
{
    return cli_parse_u64(text, &((uint64_t *)values)[k]);
}

static int parse_double_item(const char *text, void *values, size_t k)
{
    double v;
    if (parse_double(text, &v) != 0 || !isfinite(v))
        return -1;
    ((double *)values)[k] = v;
    return 0;
}

/* 1 to CLI_LIST_MAX comma-separated items, none empty; *count is the number
 * read. */
static int parse_list(const char *text, size_t *count, void *values,
                      int (*parse_item)(const char *text, void *values, size_t k))
{
    *count = 0;
    const char *start = text;
    for (;;) {
        const char *comma = strchr(start, ',');
        size_t length = comma ? (size_t)(comma - start) : strlen(start);
        char item[32];
        if (length == 0 || length >= sizeof item || *count == CLI_LIST_MAX)
            return -1;
        memcpy(item, start, length);
        item[length] = '\0';
        if (parse_item(item, values, *count) != 0)
            return -1;
        (*count)++;
        if (!comma)
            return 0;
        start = comma + 1;
    }
}

static void choices_text(const char *const *choices, char *out, size_t size)
{
    out[0] = '\0';
    for (size_t k = 0; choices[k]; k++) {
        if (k)
            strncat(out, "|", size - strlen(out) - 1);
        strncat(out, choices[k], size - strlen(out) - 1);
    }
}

static int set_value(const char *command, cli_option *option, const char *text)
{
    char allowed[256];
    switch (option->kind) {
    case CLI_FLAG:
        *(int *)option->value = 1;
        return 0;
    case CLI_U64: {
        int r = cli_parse_u64(text, (uint64_t *)option->value);
        if (r == -2)
            return cli_error(command, "invalid value for %s: '%s' is larger than 2^64 - 1",
                             option->name, text);
        if (r != 0)
            return cli_error(command,
                             "invalid value for %s: '%s' (expected a decimal or 0x-hex integer)",
                             option->name, text);
        return 0;
    }
    case CLI_PROB:
        if (cli_parse_prob(text, (double *)option->value) != 0)
            return cli_error(command, "invalid value for %s: '%s' (expected a number in [0, 1])",
                             option->name, text);
        return 0;
    case CLI_DOUBLE:
        if (parse_double_item(text, option->value, 0) != 0)
            return cli_error(command, "invalid value for %s: '%s' (expected a finite number)",
                             option->name, text);
        return 0;
    case CLI_CHOICE:
        for (int k = 0; option->choices[k]; k++) {
            if (strcmp(text, option->choices[k]) == 0) {
                *(int *)option->value = k;
                return 0;
            }
        }
        choices_text(option->choices, allowed, sizeof allowed);
        return cli_error(command, "invalid value for %s: '%s' (expected one of %s)",
                         option->name, text, allowed);
    case CLI_U64_LIST: {
        cli_u64_list *list = option->value;
        if (parse_list(text, &list->count, list->values, parse_u64_item) != 0)
            return cli_error(command,
                             "invalid value for %s: '%s' (expected 1 to %d comma-separated "
                             "integers)", option->name, text, CLI_LIST_MAX);
        return 0;
    }
    case CLI_DOUBLE_LIST: {
        cli_double_list *list = option->value;
        if (parse_list(text, &list->count, list->values, parse_double_item) != 0)
            return cli_error(command,
                             "invalid value for %s: '%s' (expected 1 to %d comma-separated "
                             "finite numbers)", option->name, text, CLI_LIST_MAX);
        return 0;
    }
    case CLI_STRING:
        if (*text == '\0')
            return cli_error(command, "invalid value for %s: empty", option->name);
        *(const char **)option->value = text;
        return 0;
    }
    return cli_error(command, "internal error: option %s has an unknown kind", option->name);
}

int cli_parse(const char *command, int argc, char **argv, cli_option *options, size_t count)
{
    for (size_t k = 0; k < count; k++)
        options[k].seen = 0;
    /* --help wins over any other problem on the line. */
    for (int a = 0; a < argc; a++) {
        if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0)
            return CLI_HELP;
    }
    for (int a = 0; a < argc; a++) {
        const char *arg = argv[a];
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
            return cli_error(command, "unexpected argument '%s' (see 'dropout %s --help')",
                             arg, command);
        const char *equals = strchr(arg, '=');
        size_t name_length = equals ? (size_t)(equals - arg) : strlen(arg);
        cli_option *option = NULL;
        for (size_t k = 0; k < count; k++) {
            if (strlen(options[k].name) == name_length &&
                strncmp(options[k].name, arg, name_length) == 0)
                option = &options[k];
        }
        if (option == NULL)
            return cli_error(command, "unknown option '%.*s' (see 'dropout %s --help')",
                             (int)name_length, arg, command);
        if (option->seen)
            return cli_error(command, "option %s given more than once", option->name);
        option->seen = 1;
        const char *text = NULL;
        if (option->kind == CLI_FLAG) {
            if (equals)
                return cli_error(command, "option %s takes no value", option->name);
        } else if (equals) {
            text = equals + 1;
        } else if (a + 1 < argc) {
            text = argv[++a];
        } else {
            return cli_error(command, "option %s needs a value (%s)", option->name,
                             option->metavar ? option->metavar : "VALUE");
        }
        if (set_value(command, option, text) != 0)
            return CLI_ERROR;
    }
    for (size_t k = 0; k < count; k++) {
        if (options[k].required && !options[k].seen)
            return cli_error(command, "missing required option %s %s", options[k].name,
                             options[k].metavar ? options[k].metavar : "");
    }
    return CLI_PARSED;
}

void cli_print_options(FILE *out, const cli_option *options, size_t count)
{
    fprintf(out, "Options:\n");
    for (size_t k = 0; k < count; k++) {
        char left[192];
        char allowed[128];
        const char *metavar = options[k].metavar;
        if (options[k].kind == CLI_CHOICE && metavar == NULL) {
            choices_text(options[k].choices, allowed, sizeof allowed);
            metavar = allowed;
        }
        snprintf(left, sizeof left, "%s%s%s", options[k].name, metavar ? " " : "",
                 metavar ? metavar : "");
        fprintf(out, "  %-24s %s%s\n", left, options[k].help,
                options[k].required ? " (required)" : "");
    }
    fprintf(out, "  %-24s %s\n", "--help", "show this help and exit");
}
