/*
 * explain.c — `dropout explain`: the textbook example of dropout, computed
 * by the library.
 *
 * A layer of three neurons with outputs h1, h2, h3.  In training each is
 * dropped with probability p; if h2 is dropped, the layer's total without
 * scaling is h1 + h3, below the h1 + h2 + h3 it has in evaluation.  With the
 * survivors scaled by s = 1/(1-p), each neuron's expected output is
 * (1-p) * h_i/(1-p) = h_i, so the expected total is the evaluation total.
 * In evaluation nothing is dropped and nothing is scaled: the layer is the
 * identity, because the scaling already happened in training.
 *
 * Every number printed comes from the library's own calls:
 *   - training pass k (k = 1 ... N) is dropout_forward_f64 with
 *     {p, seed, stream k-1, first 0, DROPOUT_TRAIN}, which also returns the
 *     packed mask: the successive streams a dropout_layer would use;
 *   - evaluation is dropout_forward_f64 with DROPOUT_EVAL;
 *   - the keep probability is dropout_keep_threshold(p) / 2^32 (exact);
 *   - s and the kept outputs h_i * s of the mask table are
 *     dropout_backward_mask_f64 with a mask of all ones (the forward's
 *     multiply, applied to a given mask); a dropped neuron's output is +0.
 * Only the totals "without scaling" (the sum of the kept h_i) and the
 * statistics (running means, standard errors) are computed here.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dropout.h"

#include "args.h"
#include "commands.h"
#include "svg.h"

#define MAX_NEURONS 8                 /* 2^8 masks; one mask byte */
#define MAX_MASKS (1u << MAX_NEURONS)
#define SHOWN_PASSES 5
#define MAX_PASSES 100000000u
#define MAX_OUTPUT 1e150              /* |h| s n below this: squares stay finite */

/* Running mean and sum of squared deviations (Welford), for the standard
 * error of the mean. */
typedef struct running {
    double mean, m2;
} running;

static void running_add(running *r, uint64_t count_after, double value)
{
    double delta = value - r->mean;
    r->mean += delta / (double)count_after;
    r->m2 += delta * (value - r->mean);
}

/* sd / sqrt(N) with the sample sd (N - 1 in the denominator); N >= 2. */
static double running_se(const running *r, uint64_t count)
{
    return sqrt(r->m2 / (double)(count - 1) / (double)count);
}

typedef struct mask_row {
    double probability;
    double y[MAX_NEURONS];     /* the library's outputs for this mask */
    double total, total_unscaled;
    uint64_t seen;             /* passes that drew this mask          */
} mask_row;

typedef struct pass_record {
    unsigned bits; /* bit i: neuron i kept */
    double y[MAX_NEURONS];
    double total, total_unscaled;
} pass_record;

/* Which running mean: index i < n is neuron i, index n the layer's total. */
enum { WITH_SCALING, WITHOUT_SCALING, EVALUATION, MODES };

typedef struct explanation {
    double p, q, s; /* drop probability, keep probability T/2^32, scale */
    uint64_t seed, passes;
    size_t n;
    double h[MAX_NEURONS], sum_h;
    mask_row table[MAX_MASKS];
    double expected_unscaled, expected_scaled; /* over the table */
    size_t shown;
    pass_record first[SHOWN_PASSES];
    running mean[MODES][MAX_NEURONS + 1];
    uint64_t dropped[MAX_NEURONS];
    double eval_y[MAX_NEURONS];
    int eval_identical;
    /* The running means at log-spaced pass numbers, for --svg. */
    size_t points;
    double *at_pass;                            /* points            */
    double *curve[MODES][MAX_NEURONS];          /* points each       */
} explanation;

/* ---- the computation --------------------------------------------------- */

/* The next pass number to record for the plot: every pass up to 20, then
 * 40 per decade, and the last one. */
static uint64_t next_point(uint64_t k, uint64_t passes)
{
    uint64_t next = k < 20 ? k + 1 : (uint64_t)ceil((double)k * 1.0592537251772889);
    return next < passes ? next : passes;
}

static size_t count_points(uint64_t passes)
{
    size_t points = 0;
    for (uint64_t k = 1;; k = next_point(k, passes)) {
        points++;
        if (k == passes)
            return points;
    }
}

static int alloc_curves(explanation *e)
{
    e->points = count_points(e->passes);
    e->at_pass = malloc(e->points * sizeof(double));
    int ok = e->at_pass != NULL;
    for (int m = 0; m < MODES; m++)
        for (size_t i = 0; i < e->n; i++) {
            e->curve[m][i] = malloc(e->points * sizeof(double));
            ok = ok && e->curve[m][i] != NULL;
        }
    return ok ? 0 : -1;
}

static void free_curves(explanation *e)
{
    free(e->at_pass);
    for (int m = 0; m < MODES; m++)
        for (size_t i = 0; i < e->n; i++)
            free(e->curve[m][i]);
}

/* The 2^n masks, their probabilities and outputs, and the expectations.
 * A kept neuron's output is h_i * s as the library computes it (applying a
 * mask of all ones to h); a dropped one's is +0, the forward's rule.  (Not
 * one library call per mask: at p = 0 the library copies its input whatever
 * the mask, and those masks have probability 0 anyway.) */
static int build_table(explanation *e)
{
    const dropout_params train = {.p = e->p, .mode = DROPOUT_TRAIN};
    const uint8_t all_kept = (uint8_t)((1u << e->n) - 1);
    double kept_y[MAX_NEURONS];
    int status = dropout_backward_mask_f64(&train, kept_y, e->h, e->n, &all_kept, 1);
    if (status != DROPOUT_OK)
        return status;
    e->expected_unscaled = e->expected_scaled = 0.0;
    for (unsigned bits = 0; bits < (1u << e->n); bits++) {
        mask_row *row = &e->table[bits];
        row->probability = 1.0;
        row->total = row->total_unscaled = 0.0;
        for (size_t i = 0; i < e->n; i++) {
            int kept = (bits >> i) & 1;
            row->y[i] = kept ? kept_y[i] : +0.0;
            row->probability *= kept ? e->q : 1.0 - e->q;
            row->total += row->y[i];
            row->total_unscaled += kept ? e->h[i] : 0.0;
        }
        row->seen = 0;
        e->expected_unscaled += row->probability * row->total_unscaled;
        e->expected_scaled += row->probability * row->total;
    }
    return DROPOUT_OK;
}

/* N training passes (and an evaluation pass beside each). */
static int run_passes(explanation *e, int record_curves)
{
    double y[MAX_NEURONS], y_eval[MAX_NEURONS];
    uint8_t mask[1];
    size_t point = 0;
    uint64_t record_at = 1;
    for (uint64_t k = 1; k <= e->passes; k++) {
        dropout_params params = {.p = e->p, .seed = e->seed, .stream = k - 1,
                                 .first = 0, .mode = DROPOUT_TRAIN};
        int status = dropout_forward_f64(&params, y, e->h, e->n, mask, sizeof mask);
        if (status != DROPOUT_OK)
            return status;
        params.mode = DROPOUT_EVAL;
        status = dropout_forward_f64(&params, y_eval, e->h, e->n, NULL, 0);
        if (status != DROPOUT_OK)
            return status;
        unsigned bits = mask[0]; /* n <= 8: one byte, bit i = neuron i */
        double value[MODES][MAX_NEURONS + 1] = {{0}};
        for (size_t i = 0; i < e->n; i++) {
            int kept = (bits >> i) & 1;
            value[WITH_SCALING][i] = y[i];
            value[WITHOUT_SCALING][i] = kept ? e->h[i] : 0.0;
            value[EVALUATION][i] = y_eval[i];
            for (int m = 0; m < MODES; m++)
                value[m][e->n] += value[m][i];
            e->dropped[i] += !kept;
        }
        for (int m = 0; m < MODES; m++)
            for (size_t i = 0; i <= e->n; i++)
                running_add(&e->mean[m][i], k, value[m][i]);
        e->table[bits].seen++;
        if (k <= SHOWN_PASSES) {
            pass_record *r = &e->first[e->shown++];
            r->bits = bits;
            memcpy(r->y, y, e->n * sizeof(double));
            r->total = value[WITH_SCALING][e->n];
            r->total_unscaled = value[WITHOUT_SCALING][e->n];
        }
        if (record_curves && k == record_at) {
            e->at_pass[point] = (double)k;
            for (int m = 0; m < MODES; m++)
                for (size_t i = 0; i < e->n; i++)
                    e->curve[m][i][point] = e->mean[m][i].mean;
            point++;
            record_at = next_point(k, e->passes);
        }
    }
    /* Evaluation mode once more, on its own: the output must be h, bit for
     * bit (compared as bytes, so -0 and NaN payloads would count too). */
    dropout_params eval = {.p = e->p, .seed = e->seed, .mode = DROPOUT_EVAL};
    int status = dropout_forward_f64(&eval, e->eval_y, e->h, e->n, NULL, 0);
    if (status != DROPOUT_OK)
        return status;
    e->eval_identical = memcmp(e->eval_y, e->h, e->n * sizeof(double)) == 0;
    return DROPOUT_OK;
}

/* ---- formatting ------------------------------------------------------------ */

static const char *num(char buffer[CLI_NUMBER_TEXT], double value)
{
    cli_format_double(buffer, value);
    return buffer;
}

/* "mean +- se", with the mean to the precision of two digits of the se. */
static void format_mean(char *out, size_t size, double mean, double se)
{
    char a[CLI_NUMBER_TEXT], b[CLI_NUMBER_TEXT];
    if (se > 0.0) {
        int places = 1 - (int)floor(log10(se));
        if (places >= 0 && places <= 12 && fabs(mean) < 1e9)
            snprintf(out, size, "%.*f +- %.*f", places, mean, places, se);
        else
            snprintf(out, size, "%.6g +- %.2g", mean, se);
    } else {
        snprintf(out, size, "%s +- %s", num(a, mean), num(b, 0.0));
    }
}

/* How many standard errors `mean` is from `expected` (0 when se is 0). */
static double deviation_in_se(double mean, double expected, double se)
{
    return se > 0.0 ? fabs(mean - expected) / se : 0.0;
}

/* " 1  0  1": the keep bit of neuron i under the "h1 h2 h3" header. */
static void format_bits(char out[3 * MAX_NEURONS + 1], unsigned bits, size_t n)
{
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        strcat(out, (bits >> i) & 1 ? (i ? "  1" : " 1") : (i ? "  0" : " 0"));
}

/* A formula's value, readably (%.10g); library outputs use num(). */
static const char *approx(char buffer[CLI_NUMBER_TEXT], double value)
{
    snprintf(buffer, CLI_NUMBER_TEXT, "%.10g", value);
    return buffer;
}

static void format_list(char *out, size_t size, const double *values, size_t n,
                        const char *separator)
{
    char a[CLI_NUMBER_TEXT];
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t used = strlen(out);
        snprintf(out + used, size - used, "%s%s", i ? separator : "", num(a, values[i]));
    }
}

/* The conclusion, in plain words with this run's numbers. */
static void conclusion(const explanation *e, char *out, size_t size)
{
    /* Each number of one snprintf needs its own buffer. */
    char a[CLI_NUMBER_TEXT], b[CLI_NUMBER_TEXT], c[CLI_NUMBER_TEXT], d[CLI_NUMBER_TEXT];
    char unscaled[96], scaled[96];
    const size_t n = e->n;
    const running *with = e->mean[WITH_SCALING], *without = e->mean[WITHOUT_SCALING];
    double least = 1.0, most = 0.0, worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double rate = (double)e->dropped[i] / (double)e->passes;
        least = fmin(least, rate);
        most = fmax(most, rate);
        worst = fmax(worst, deviation_in_se(with[i].mean, e->h[i],
                                            running_se(&with[i], e->passes)));
    }
    double se_with = running_se(&with[n], e->passes);
    format_mean(unscaled, sizeof unscaled, without[n].mean, running_se(&without[n], e->passes));
    format_mean(scaled, sizeof scaled, with[n].mean, se_with);
    size_t used = (size_t)snprintf(out, size,
        "Over %llu training passes each neuron was dropped in %.1f%% to %.1f%% of them "
        "(p = %s). ", (unsigned long long)e->passes, 100.0 * least, 100.0 * most, num(a, e->p));
    if (used >= size)
        return;
    if (e->p == 0.0) {
        snprintf(out + used, size - used,
                 "With p = 0 nothing is dropped and 1/(1-p) = 1, so every training pass gave "
                 "the layer's evaluation output, total sum h = %s. ", num(a, e->sum_h));
    } else if (se_with == 0.0) {
        snprintf(out + used, size - used,
                 "No neuron happened to be dropped in these passes, so every output was h_i * "
                 "1/(1-p) and the total %s = %s * sum h; over more passes (--passes) the drops "
                 "bring the mean to sum h = %s. ",
                 num(a, with[n].mean), num(b, e->s), num(c, e->sum_h));
    } else {
        snprintf(out + used, size - used,
                 "Without scaling a dropped neuron contributes nothing, so the layer's total "
                 "averaged %s, only 1-p = %s of the %s it has in evaluation ((1-p) * sum h = %s). "
                 "With the survivors scaled by 1/(1-p) = %s the total averaged %s, %.2f "
                 "standard errors from sum h = %s, and each neuron's mean is within %.2f "
                 "standard errors of its h_i: each neuron's expected output is (1-p) * "
                 "h_i/(1-p) = h_i. ",
                 unscaled, approx(a, 1.0 - e->p), num(b, e->sum_h),
                 approx(c, (1.0 - e->p) * e->sum_h), num(d, e->s), scaled,
                 deviation_in_se(with[n].mean, e->sum_h, se_with), b, worst);
    }
    used = strlen(out);
    snprintf(out + used, size - used,
             "In evaluation no neuron is dropped and nothing is scaled: the library returned h "
             "%s, because the scaling already happened in training.",
             e->eval_identical ? "itself, bit for bit" : "CHANGED (this is a bug)");
}

/* ---- text output -------------------------------------------------------------- */

/* prefix + text, broken at spaces into lines of at most `width` columns. */
static void print_wrapped(const char *prefix, const char *text, size_t width)
{
    size_t column = strlen(prefix);
    fputs(prefix, stdout);
    for (const char *word = text; *word;) {
        size_t length = strcspn(word, " ");
        if (column > 0 && column + 1 + length > width) {
            putchar('\n');
            column = 0;
        } else if (column > 0 && word != text) {
            putchar(' ');
            column++;
        }
        fwrite(word, 1, length, stdout);
        column += length;
        word += length;
        while (*word == ' ')
            word++;
    }
    putchar('\n');
}

/* A table of text cells, each column as wide as its widest cell, 3 spaces
 * apart, indented by 2, with no trailing blanks. */
#define TABLE_ROWS (MAX_MASKS + 2)
#define TABLE_COLUMNS 6
#define CELL 200
typedef struct text_table {
    size_t rows, columns;
    char cell[TABLE_ROWS][TABLE_COLUMNS][CELL];
} text_table;

static void table_row(text_table *t, const char *const *cells)
{
    for (size_t c = 0; c < t->columns; c++)
        snprintf(t->cell[t->rows][c], CELL, "%s", cells[c] ? cells[c] : "");
    t->rows++;
}

static void table_print(const text_table *t)
{
    size_t width[TABLE_COLUMNS] = {0};
    for (size_t r = 0; r < t->rows; r++)
        for (size_t c = 0; c < t->columns; c++)
            if (strlen(t->cell[r][c]) > width[c])
                width[c] = strlen(t->cell[r][c]);
    for (size_t r = 0; r < t->rows; r++) {
        size_t last = t->columns;
        while (last > 0 && t->cell[r][last - 1][0] == '\0')
            last--;
        printf(" ");
        for (size_t c = 0; c < last; c++)
            printf("%s%-*s", c ? "   " : " ", c + 1 < last ? (int)width[c] : 0, t->cell[r][c]);
        putchar('\n');
    }
}

static void print_text(const explanation *e)
{
    static text_table table; /* about 300 KB */
    char a[CLI_NUMBER_TEXT], b[CLI_NUMBER_TEXT], c[CLI_NUMBER_TEXT], d[CLI_NUMBER_TEXT];
    char bits[3 * MAX_NEURONS + 1], list[MAX_NEURONS * (CLI_NUMBER_TEXT + 2)];
    char header[3 * MAX_NEURONS + 1] = "", cells[3][CELL];
    const size_t n = e->n;
    for (size_t i = 0; i < n; i++)
        snprintf(header + strlen(header), sizeof header - strlen(header), "%sh%zu",
                 i ? " " : "", i + 1);

    format_list(list, sizeof list, e->h, n, ", ");
    printf("dropout explain: a layer of %zu neuron%s with outputs h = %s; p = %s, seed %llu\n\n",
           n, n == 1 ? "" : "s", list, num(a, e->p), (unsigned long long)e->seed);
    char text[2048];
    snprintf(text, sizeof text,
             "In training each neuron is dropped with probability p = %s and each survivor is "
             "scaled by s = 1/(1-p) = %s; in evaluation nothing is dropped or scaled. The "
             "library keeps a neuron with probability dropout_keep_threshold(p)/2^32 = %s.",
             num(a, e->p), num(b, e->s), num(c, e->q));
    print_wrapped("", text, 80);
    putchar('\n');

    printf("The %u possible masks (1 = kept, 0 = dropped), their probabilities and the\n"
           "layer's total:\n", 1u << n);
    table.rows = 0;
    table.columns = 5;
    table_row(&table, (const char *const[]){header, "probability", "total without scaling",
                                            "total with scaling", "seen in passes"});
    for (unsigned m = 0; m < (1u << n); m++) {
        const mask_row *row = &e->table[m];
        format_bits(bits, m, n);
        snprintf(cells[0], CELL, "%.6g", row->probability);
        snprintf(cells[1], CELL, "%llu", (unsigned long long)row->seen);
        table_row(&table, (const char *const[]){bits, cells[0], num(a, row->total_unscaled),
                                                num(b, row->total), cells[1]});
    }
    snprintf(cells[0], CELL, "%s = (1-p) * sum h", approx(a, e->expected_unscaled));
    snprintf(cells[1], CELL, "%s = sum h", approx(b, e->expected_scaled));
    table_row(&table, (const char *const[]){"", "expectation", cells[0], cells[1], ""});
    table_print(&table);
    printf("In evaluation (no mask, no scaling) the total is %s = sum h.\n\n", num(a, e->sum_h));

    printf("The first %zu training passes, as the library computed them (pass k uses\n"
           "stream k-1 of seed %llu):\n", e->shown, (unsigned long long)e->seed);
    table.rows = 0;
    table.columns = 5;
    table_row(&table, (const char *const[]){"pass", header, "outputs y = keep ? h*s : 0",
                                            "total", "total without scaling"});
    for (size_t k = 0; k < e->shown; k++) {
        const pass_record *r = &e->first[k];
        format_bits(bits, r->bits, n);
        format_list(list, sizeof list, r->y, n, ", ");
        snprintf(cells[0], CELL, "%zu", k + 1);
        table_row(&table, (const char *const[]){cells[0], bits, list, num(a, r->total),
                                                num(b, r->total_unscaled)});
    }
    table_print(&table);

    printf("\nRunning means over %llu training passes, +- one standard error:\n",
           (unsigned long long)e->passes);
    table.rows = 0;
    table.columns = 6;
    table_row(&table, (const char *const[]){"", "with scaling", "expected h", "without scaling",
                                            "expected (1-p) h", "evaluation"});
    for (size_t i = 0; i <= n; i++) {
        double h = i < n ? e->h[i] : e->sum_h;
        if (i < n)
            snprintf(cells[0], CELL, "h%zu = %s", i + 1, num(a, h));
        else
            snprintf(cells[0], CELL, "total = %s", num(a, h));
        format_mean(cells[1], CELL, e->mean[WITH_SCALING][i].mean,
                    running_se(&e->mean[WITH_SCALING][i], e->passes));
        format_mean(cells[2], CELL, e->mean[WITHOUT_SCALING][i].mean,
                    running_se(&e->mean[WITHOUT_SCALING][i], e->passes));
        table_row(&table, (const char *const[]){cells[0], cells[1], num(b, h), cells[2],
                                                approx(c, (1.0 - e->p) * h),
                                                num(d, e->mean[EVALUATION][i].mean)});
    }
    table_print(&table);

    format_list(list, sizeof list, e->eval_y, n, ", ");
    printf("\nEvaluation mode: y = %s, %s.\n\n", list,
           e->eval_identical ? "bitwise equal to h (the identity)"
                             : "NOT bitwise equal to h (a bug)");
    conclusion(e, text, sizeof text);
    print_wrapped("Conclusion. ", text, 80);
}

/* ---- JSON output --------------------------------------------------------------- */

static void json_string(const char *text)
{
    putchar('"');
    for (const char *c = text; *c; c++) {
        if (*c == '"' || *c == '\\')
            printf("\\%c", *c);
        else if ((unsigned char)*c < 0x20)
            printf("\\u%04x", (unsigned char)*c);
        else
            putchar(*c);
    }
    putchar('"');
}

static void json_numbers(const double *values, size_t n)
{
    char a[CLI_NUMBER_TEXT];
    putchar('[');
    for (size_t i = 0; i < n; i++)
        printf("%s%s", i ? ", " : "", num(a, values[i]));
    putchar(']');
}

static void json_bits(unsigned bits, size_t n)
{
    putchar('[');
    for (size_t i = 0; i < n; i++)
        printf("%s%s", i ? ", " : "", (bits >> i) & 1 ? "true" : "false");
    putchar(']');
}

static void json_mean(const char *name, const running *r, uint64_t passes, double expected,
                      const char *end)
{
    char a[CLI_NUMBER_TEXT], b[CLI_NUMBER_TEXT], c[CLI_NUMBER_TEXT];
    printf("\"%s\": {\"mean\": %s, \"standard_error\": %s, \"expected\": %s}%s", name,
           num(a, r->mean), num(b, running_se(r, passes)), num(c, expected), end);
}

static void print_json(const explanation *e)
{
    char a[CLI_NUMBER_TEXT], b[CLI_NUMBER_TEXT], c[CLI_NUMBER_TEXT];
    const size_t n = e->n;
    printf("{\"p\": %s, \"seed\": %llu, \"passes\": %llu, \"h\": ", num(a, e->p),
           (unsigned long long)e->seed, (unsigned long long)e->passes);
    json_numbers(e->h, n);
    printf(",\n \"keep_probability\": %s, \"scale\": %s,\n \"masks\": [\n", num(a, e->q),
           num(b, e->s));
    for (unsigned m = 0; m < (1u << n); m++) {
        const mask_row *row = &e->table[m];
        printf("  {\"kept\": ");
        json_bits(m, n);
        printf(", \"probability\": %s, \"outputs\": ", num(a, row->probability));
        json_numbers(row->y, n);
        printf(", \"total_without_scaling\": %s, \"total_with_scaling\": %s, \"seen\": %llu}%s\n",
               num(b, row->total_unscaled), num(c, row->total), (unsigned long long)row->seen,
               m + 1 < (1u << n) ? "," : "");
    }
    printf(" ],\n \"expectations\": {\"without_scaling\": %s, \"with_scaling\": %s, ",
           num(a, e->expected_unscaled), num(b, e->expected_scaled));
    printf("\"evaluation\": %s, ", num(a, e->sum_h));
    printf("\"formula_without_scaling\": %s, \"formula_with_scaling\": %s},\n",
           num(a, (1.0 - e->p) * e->sum_h), num(b, e->sum_h));
    printf(" \"first_passes\": [\n");
    for (size_t k = 0; k < e->shown; k++) {
        const pass_record *r = &e->first[k];
        printf("  {\"pass\": %zu, \"stream\": %zu, \"kept\": ", k + 1, k);
        json_bits(r->bits, n);
        printf(", \"outputs\": ");
        json_numbers(r->y, n);
        printf(", \"total\": %s, \"total_without_scaling\": %s}%s\n", num(a, r->total),
               num(b, r->total_unscaled), k + 1 < e->shown ? "," : "");
    }
    printf(" ],\n \"running_means\": [\n");
    for (size_t i = 0; i <= n; i++) {
        double h = i < n ? e->h[i] : e->sum_h;
        if (i < n)
            printf("  {\"neuron\": %zu, \"h\": %s, ", i + 1, num(a, h));
        else
            printf("  {\"neuron\": \"total\", \"h\": %s, ", num(a, h));
        json_mean("with_scaling", &e->mean[WITH_SCALING][i], e->passes, h, ", ");
        json_mean("without_scaling", &e->mean[WITHOUT_SCALING][i], e->passes, (1.0 - e->p) * h,
                  ", ");
        json_mean("evaluation", &e->mean[EVALUATION][i], e->passes, h, "");
        printf("}%s\n", i < n ? "," : "");
    }
    printf(" ],\n \"evaluation\": {\"outputs\": ");
    json_numbers(e->eval_y, n);
    printf(", \"bitwise_equal_to_input\": %s},\n \"conclusion\": ",
           e->eval_identical ? "true" : "false");
    char text[2048];
    conclusion(e, text, sizeof text);
    json_string(text);
    printf("}\n");
}

/* ---- the plot ------------------------------------------------------------------ */

static int write_svg(const explanation *e, const char *path)
{
    static const char *const colors[MAX_NEURONS] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                                    "#ff7f0e", "#8c564b", "#e377c2", "#17becf"};
    static const char *const dash[MODES] = {NULL, "7,4", "2,3"};
    svg_curve curves[MODES * MAX_NEURONS];
    char names[MODES * MAX_NEURONS][128];
    size_t count = 0;
    char a[CLI_NUMBER_TEXT], b[CLI_NUMBER_TEXT];
    for (size_t i = 0; i < e->n; i++)
        for (int m = 0; m < MODES; m++) {
            /* The legend says where each curve should end up. */
            if (m == WITH_SCALING)
                snprintf(names[count], sizeof names[count], "h%zu, scaled by 1/(1-p) \u2192 %s",
                         i + 1, num(a, e->h[i]));
            else if (m == WITHOUT_SCALING)
                snprintf(names[count], sizeof names[count], "h%zu, not scaled \u2192 (1-p) h%zu = %s",
                         i + 1, i + 1, approx(a, (1.0 - e->p) * e->h[i]));
            else
                snprintf(names[count], sizeof names[count], "h%zu, evaluation = %s", i + 1,
                         num(a, e->h[i]));
            curves[count] = (svg_curve){.name = names[count], .color = colors[i],
                                        .n = e->points, .x = e->at_pass,
                                        .y = e->curve[m][i], .dash = dash[m]};
            count++;
        }
    char title[400], list[MAX_NEURONS * (CLI_NUMBER_TEXT + 2)];
    format_list(list, sizeof list, e->h, e->n, ", ");
    snprintf(title, sizeof title, "dropout explain: running means, h = (%s), p = %s, seed %llu",
             list, num(b, e->p), (unsigned long long)e->seed);
    return svg_plot(path, title, "training passes (log scale)", "mean output of the neuron",
                    curves, count, 1, 0.0);
}

/* ---- the command --------------------------------------------------------------- */

static void print_help(const cli_option *options, size_t count)
{
    printf("Usage: dropout explain [--p P] [--h H1,H2,H3] [--passes N] [--seed S] [--svg FILE]\n"
           "                       [--json]\n"
           "\n"
           "The worked example of dropout, computed by the library: a layer of neurons with\n"
           "outputs h1, h2, h3, each dropped with probability P in training.  Prints every\n"
           "possible mask with its probability and the layer's total without and with the\n"
           "1/(1-P) scaling, and the expectations ((1-P) * sum h, sum h; sum h in\n"
           "evaluation); the first training passes as the library computed them (pass k\n"
           "uses stream k-1 of seed S); the running means over N passes of each neuron's\n"
           "output and of the total, with and without the scaling, +- their standard\n"
           "errors, next to h_i, (1-P) h_i and the evaluation output; evaluation mode,\n"
           "whose output is bitwise the input; and a conclusion with this run's numbers.\n"
           "\n"
           "Examples:\n"
           "  dropout explain\n"
           "  dropout explain --p 0.2 --h 0.5,-1,4 --passes 100000 --svg explain.svg\n"
           "\n");
    cli_print_options(stdout, options, count);
}

int cli_explain(int argc, char **argv)
{
    static explanation e; /* large (the mask table); one per process */
    memset(&e, 0, sizeof e);
    double p = 0.5;
    cli_double_list h = {3, {1.0, 2.0, 3.0}};
    uint64_t passes = 10000, seed = 0;
    const char *svg_path = NULL;
    int json = 0;
    cli_option options[] = {
        CLI_OPTION("--p", CLI_PROB, &p, "P", "drop probability, 0 <= P < 1 (default 0.5)", 0),
        CLI_OPTION("--h", CLI_DOUBLE_LIST, &h, "H1,H2,...",
                   "the neurons' outputs, 1 to 8 finite numbers (default 1,2,3)", 0),
        CLI_OPTION("--passes", CLI_U64, &passes, "N",
                   "training passes for the running means, 2 to 10^8 (default 10000)", 0),
        CLI_OPTION("--seed", CLI_U64, &seed, "S", "seed of the masks (default 0)", 0),
        CLI_OPTION("--svg", CLI_STRING, &svg_path, "FILE",
                   "also plot the running means against the pass number as SVG", 0),
        CLI_OPTION("--json", CLI_FLAG, &json, NULL, "print the same numbers as one JSON object",
                   0),
    };
    int parsed = cli_parse("explain", argc, argv, options, CLI_COUNT(options));
    if (parsed == CLI_HELP) {
        print_help(options, CLI_COUNT(options));
        return 0;
    }
    if (parsed != CLI_PARSED)
        return 1;
    if (p == 1.0)
        return cli_error("explain", "invalid value for --p: 1 drops every neuron, and the "
                                    "scaling 1/(1-p) does not exist (expected 0 <= p < 1)");
    if (h.count > MAX_NEURONS)
        return cli_error("explain", "invalid value for --h: %zu neurons, at most %d (2^%d masks)",
                         h.count, MAX_NEURONS, MAX_NEURONS);
    if (passes < 2 || passes > MAX_PASSES)
        return cli_error("explain", "invalid value for --passes: %llu (expected 2 to %u, so "
                                    "that a standard error exists)",
                         (unsigned long long)passes, MAX_PASSES);

    e.p = p;
    e.q = (double)dropout_keep_threshold(p) / 4294967296.0;
    e.seed = seed;
    e.passes = passes;
    e.n = h.count;
    /* s as the library multiplies by it: the output of a kept 1.0. */
    const dropout_params train = {.p = p, .mode = DROPOUT_TRAIN};
    const double one = 1.0;
    const uint8_t keep_all = 1;
    int status = dropout_backward_mask_f64(&train, &e.s, &one, 1, &keep_all, 1);
    if (status != DROPOUT_OK)
        return cli_error("explain", "%s", dropout_status_string(status));
    double sum_abs = 0.0;
    for (size_t i = 0; i < e.n; i++) {
        e.h[i] = h.values[i];
        e.sum_h += h.values[i];
        sum_abs += fabs(h.values[i]);
    }
    if (!(sum_abs * e.s * (double)e.n < MAX_OUTPUT))
        return cli_error("explain", "invalid value for --h: the outputs h_i/(1-p) are too large "
                                    "(their sum must stay below %g)", MAX_OUTPUT);
    if (svg_path != NULL && alloc_curves(&e) != 0) {
        free_curves(&e);
        return cli_error("explain", "out of memory");
    }
    if (status == DROPOUT_OK)
        status = build_table(&e);
    if (status == DROPOUT_OK)
        status = run_passes(&e, svg_path != NULL);
    if (status != DROPOUT_OK) {
        free_curves(&e);
        return cli_error("explain", "%s", dropout_status_string(status));
    }
    if (svg_path != NULL) {
        errno = 0;
        int failed = write_svg(&e, svg_path);
        free_curves(&e);
        if (failed)
            return cli_error("explain", "cannot write %s: %s", svg_path,
                             errno ? strerror(errno) : "write error");
    }
    if (json)
        print_json(&e);
    else
        print_text(&e);
    return 0;
}
