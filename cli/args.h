/*
 * args.h — strict option parsing shared by every subcommand of `dropout`.
 *
 * A subcommand describes its options in a table of cli_option, each pointing
 * at the variable that receives the value, and calls cli_parse() once:
 *
 *     uint64_t seed = 0;
 *     int eval = 0;
 *     cli_option options[] = {
 *         CLI_OPTION("--seed", CLI_U64, &seed, "S", "Philox key", CLI_REQUIRED),
 *         CLI_OPTION("--eval", CLI_FLAG, &eval, NULL, "evaluation mode", 0),
 *     };
 *     int rc = cli_parse("forward", argc, argv, options, CLI_COUNT(options));
 *
 * Values are checked strictly, and every problem is reported as exactly one
 * line on stderr, "dropout <command>: <what is wrong>", so scripts and people
 * see the same thing (control characters in it escaped, see
 * cli_put_escaped).  Adding an option to a subcommand is one table row;
 * adding a kind of value (a new CLI_* below) is one case in args.c.
 *
 * Accepted forms: "--name value" and "--name=value"; "--help"/"-h" anywhere.
 */
#ifndef DROPOUT_CLI_ARGS_H
#define DROPOUT_CLI_ARGS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum cli_kind {
    CLI_FLAG,        /* int: set to 1 when present, takes no value            */
    CLI_U64,         /* uint64_t: decimal or 0x hex, 0 ... 2^64 - 1           */
    CLI_PROB,        /* double: a probability, 0 <= p <= 1 (NaN rejected)     */
    CLI_DOUBLE,      /* double: any finite number                             */
    CLI_CHOICE,      /* int: index into `choices` (a NULL-terminated list)    */
    CLI_U64_LIST,    /* cli_u64_list: comma-separated integers, e.g. 2,3,4    */
    CLI_DOUBLE_LIST, /* cli_double_list: comma-separated finite numbers       */
    CLI_STRING       /* const char *: the argument itself, not empty (a path) */
} cli_kind;

#define CLI_LIST_MAX 16
typedef struct cli_u64_list {
    size_t count;
    uint64_t values[CLI_LIST_MAX];
} cli_u64_list;
typedef struct cli_double_list {
    size_t count;
    double values[CLI_LIST_MAX];
} cli_double_list;

#define CLI_REQUIRED 1

typedef struct cli_option {
    const char *name;           /* "--seed"                                  */
    cli_kind kind;
    void *value;                /* where the parsed value goes (see kinds)   */
    const char *metavar;        /* "S" in the help text; NULL for flags      */
    const char *help;           /* one line for --help                       */
    int required;               /* CLI_REQUIRED or 0                         */
    const char *const *choices; /* CLI_CHOICE only: {"f32", "f64", NULL}     */
    int seen;                   /* set by cli_parse                          */
} cli_option;

/* Table rows (designated initializers, so new fields default to zero). */
#define CLI_OPTION(name_, kind_, value_, metavar_, help_, required_)            \
    {.name = (name_), .kind = (kind_), .value = (value_), .metavar = (metavar_), \
     .help = (help_), .required = (required_)}
#define CLI_OPTION_CHOICE(name_, value_, choices_, metavar_, help_)              \
    {.name = (name_), .kind = CLI_CHOICE, .value = (value_), .metavar = (metavar_), \
     .help = (help_), .choices = (choices_)}

#define CLI_COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* cli_parse() results. */
#define CLI_PARSED 0 /* all options valid, required ones present            */
#define CLI_ERROR 1  /* one error line printed to stderr                    */
#define CLI_HELP 2   /* --help given: the caller prints its help, exits 0   */

int cli_parse(const char *command, int argc, char **argv, cli_option *options,
              size_t count);

/* The options section of a subcommand's --help, generated from the table. */
void cli_print_options(FILE *out, const cli_option *options, size_t count);

/* One error line: "dropout <command>: <message>\n" on stderr.  Returns 1 so
 * that `return cli_error(...)` is a non-zero exit status. */
int cli_error(const char *command, const char *format, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Where cli_error writes (NULL: stderr), for the fuzz targets; also forgets
 * whether an error was reported. */
void cli_set_error_stream(FILE *stream);

/* Writes `length` bytes of text with every byte that could end or rewrite a
 * line escaped: C0 controls as \n, \r, \t, \0 or \xHH, DEL and every byte
 * that is not part of well-formed, printable UTF-8 (C1 controls included) as
 * \xHH.  cli_error passes its whole message through it, so a hostile
 * argument or input token cannot forge or hide error lines. */
void cli_put_escaped(FILE *out, const char *text, size_t length);

/* The end of every run of `dropout`: flushes and closes stdout.  If anything
 * written to stdout was lost (a full disk, /dev/full, a closed descriptor),
 * prints one error line (unless the command has already printed one) and
 * returns non-zero; otherwise returns status. */
int cli_finish(const char *command, int status);

/* The shortest text (at most 17 significant digits, %g style) that strtod
 * reads back to exactly `value`: 0.1 is "0.1", 1/3 "0.33333333333333331";
 * nan, -nan, inf, -inf and -0 as such. */
#define CLI_NUMBER_TEXT 32
void cli_format_double(char out[CLI_NUMBER_TEXT], double value);

/* Strict value parsers, also for subcommands' own inputs.  0 on success. */
int cli_parse_u64(const char *text, uint64_t *value);  /* "42", "0x2a" */
int cli_parse_prob(const char *text, double *value);   /* "0.5", "1e-6" */

#endif /* DROPOUT_CLI_ARGS_H */
