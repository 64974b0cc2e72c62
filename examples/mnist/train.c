/* train.c — data loading, the epoch loop and the learning-rate/momentum
 * schedule. */
#define _POSIX_C_SOURCE 200809L
#include "train.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "fetch.h"
#include "idx.h"
#include "pool.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int to_floats(const idx_array *img, size_t n, float **out)
{
    *out = malloc(n * img->item_size * sizeof(float) + 1);
    if (*out == NULL)
        return -1;
    for (size_t i = 0; i < n * img->item_size; i++)
        (*out)[i] = (float)img->data[i] * (1.0f / 255.0f);
    return 0;
}

int mnist_data_from_idx(mnist_data *d, const uint8_t *tri, size_t tri_n,
                        const uint8_t *trl, size_t trl_n, const uint8_t *tei,
                        size_t tei_n, const uint8_t *tel, size_t tel_n,
                        size_t train_size, char *err, size_t err_size)
{
    memset(d, 0, sizeof *d);
    idx_array a, b, c, e;
    char why[256];
    if (idx_parse(&a, tri, tri_n, 3, why, sizeof why) != 0 ||
        idx_parse(&b, trl, trl_n, 1, why, sizeof why) != 0 ||
        idx_check_mnist(&a, &b, why, sizeof why) != 0) {
        snprintf(err, err_size, "training set: %s", why);
        return -1;
    }
    if (idx_parse(&c, tei, tei_n, 3, why, sizeof why) != 0 ||
        idx_parse(&e, tel, tel_n, 1, why, sizeof why) != 0 ||
        idx_check_mnist(&c, &e, why, sizeof why) != 0) {
        snprintf(err, err_size, "test set: %s", why);
        return -1;
    }
    d->n_train = train_size > 0 && train_size < a.count ? train_size : a.count;
    d->n_test = c.count;
    d->dim = a.item_size;
    d->train_y = malloc(d->n_train);
    d->test_y = malloc(d->n_test);
    if (d->train_y == NULL || d->test_y == NULL ||
        to_floats(&a, d->n_train, &d->train_x) != 0 ||
        to_floats(&c, d->n_test, &d->test_x) != 0) {
        mnist_data_free(d);
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    memcpy(d->train_y, b.data, d->n_train);
    memcpy(d->test_y, e.data, d->n_test);
    return 0;
}

int mnist_data_load(mnist_data *d, const char *dir, size_t train_size,
                    char *err, size_t err_size)
{
    uint8_t *buf[4] = {0};
    size_t size[4] = {0};
    int rc = 0;
    for (int i = 0; i < 4 && rc == 0; i++) {
        char path[4096], why[512];
        snprintf(path, sizeof path, "%s/%s", dir, mnist_file_names[i]);
        if (idx_read_file(path, &buf[i], &size[i], why, sizeof why) != 0) {
            snprintf(err, err_size, "%s", why);
            rc = -1;
        }
    }
    if (rc == 0)
        rc = mnist_data_from_idx(d, buf[0], size[0], buf[1], size[1], buf[2],
                                 size[2], buf[3], size[3], train_size, err,
                                 err_size);
    for (int i = 0; i < 4; i++)
        free(buf[i]);
    return rc;
}

void mnist_data_free(mnist_data *d)
{
    free(d->train_x);
    free(d->test_x);
    free(d->train_y);
    free(d->test_y);
    memset(d, 0, sizeof *d);
}

int train_state_create(train_state *s, const train_config *cfg, size_t n_train,
                       size_t dim)
{
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    size_t units[MLP_MAX_LAYERS + 1];
    units[0] = dim;
    for (size_t i = 0; i < cfg->n_hidden; i++)
        units[i + 1] = cfg->hidden[i];
    units[cfg->n_hidden + 1] = 10;
    /* Evaluation runs in chunks of at least 500 rows: bigger products are
     * more efficient than training-size ones. */
    size_t cap = cfg->batch > 500 ? cfg->batch : 500;
    if (mlp_create(&s->model, cfg->n_hidden + 1, units, cfg->p_input,
                   cfg->p_hidden, cfg->seed, cap) != 0)
        return -1;
    mlp_init_weights(&s->model, cfg->seed);
    s->n_train = n_train;
    s->order = malloc(n_train * sizeof(uint32_t));
    s->history_cap = cfg->epochs > 0 ? cfg->epochs : 1;
    s->history = calloc(s->history_cap, sizeof(epoch_record));
    if (s->order == NULL || s->history == NULL) {
        train_state_free(s);
        return -1;
    }
    for (size_t i = 0; i < n_train; i++)
        s->order[i] = (uint32_t)i;
    if (cfg->micro_shards > 1) {
        s->slot_floats = 4 + mlp_param_count(&s->model);
        size_t bytes = cfg->micro_shards * s->slot_floats * sizeof(float);
        s->slots = malloc(bytes);
        s->gathered = malloc(bytes);
        if (s->slots == NULL || s->gathered == NULL) {
            train_state_free(s);
            return -1;
        }
    }
    return 0;
}

void train_state_free(train_state *s)
{
    mlp_free(&s->model);
    free(s->order);
    free(s->history);
    free(s->slots);
    free(s->gathered);
    memset(s, 0, sizeof *s);
}

/* The shortest "%g" form that reads back as exactly v. */
static void shortest_double(char *out, size_t n, double v)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, n, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

typedef struct text {
    char *buf;
    size_t cap, len;
    int full;
} text;

static void text_add(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, t->len < t->cap ? t->cap - t->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0 || t->len + (size_t)n >= t->cap)
        t->full = 1;
    else
        t->len += (size_t)n;
}

int train_describe(const train_state *s, char *buf, size_t cap)
{
    const train_config *c = &s->cfg;
    text t = {buf, cap, 0, cap == 0};
    char a[32], b[32];
    text_add(&t, "--hidden ");
    for (size_t i = 0; i < c->n_hidden; i++)
        text_add(&t, "%s%zu", i ? "," : "", c->hidden[i]);
    text_add(&t, "\n");
    const struct {
        const char *name;
        double v;
    } reals[] = {{"--p-input", c->p_input}, {"--p-hidden", c->p_hidden},
                 {"--max-norm", c->max_norm}, {"--lr", c->lr},
                 {"--lr-decay", c->lr_decay}};
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
        shortest_double(a, sizeof a, reals[i].v);
        text_add(&t, "%s %s\n", reals[i].name, a);
    }
    shortest_double(a, sizeof a, c->momentum_start);
    shortest_double(b, sizeof b, c->momentum_end);
    text_add(&t, "--momentum %s,%s,%zu\n", a, b, c->momentum_epochs);
    text_add(&t, "--batch %zu\n--train-size %zu\n--seed %llu\n", c->batch,
             s->n_train, (unsigned long long)c->seed);
    text_add(&t, "--gemm %s\n--threads %d\n--micro-shards %zu\n",
             c->gemm == GEMM_BLAS ? "openblas" : "reference", c->threads,
             c->micro_shards);
    return t.full ? -1 : (int)t.len;
}

size_t train_steps_per_epoch(const train_state *s)
{
    return (s->n_train + s->cfg.batch - 1) / s->cfg.batch;
}

int train_weights_sha256(const mlp *m, char hex[65])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    uint8_t chunk[4096];
    for (size_t l = 0; ok && l < m->n_layers; l++) {
        const float *part[2] = {m->w[l], m->b[l]};
        size_t count[2] = {m->units[l + 1] * m->units[l], m->units[l + 1]};
        for (int q = 0; ok && q < 2; q++)
            for (size_t i = 0; ok && i < count[q];) {
                size_t k = 0;
                for (; k < sizeof chunk / 4 && i < count[q]; k++, i++) {
                    uint32_t u;
                    memcpy(&u, &part[q][i], 4);
                    chunk[4 * k] = (uint8_t)u;
                    chunk[4 * k + 1] = (uint8_t)(u >> 8);
                    chunk[4 * k + 2] = (uint8_t)(u >> 16);
                    chunk[4 * k + 3] = (uint8_t)(u >> 24);
                }
                ok = EVP_DigestUpdate(ctx, chunk, 4 * k) == 1;
            }
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    ok = ok && EVP_DigestFinal_ex(ctx, digest, &len) == 1 && len == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return -1;
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    return 0;
}

float train_learning_rate(const train_config *cfg, size_t epoch)
{
    double lr = cfg->lr;
    for (size_t e = 0; e < epoch; e++)
        lr *= cfg->lr_decay;
    return (float)lr;
}

float train_momentum(const train_config *cfg, size_t epoch)
{
    if (cfg->momentum_epochs == 0 || epoch >= cfg->momentum_epochs)
        return (float)cfg->momentum_end;
    double t = (double)epoch / (double)cfg->momentum_epochs;
    return (float)(cfg->momentum_start +
                   t * (cfg->momentum_end - cfg->momentum_start));
}

/* Fisher-Yates on the previous order with Philox words keyed by the seed and
 * counted by (epoch, i): the order of epoch e depends only on the seed. */
static void shuffle(uint32_t *order, size_t n, uint64_t seed, size_t epoch)
{
    const uint32_t key[2] = {(uint32_t)(seed ^ 0x5bd1e995u),
                             (uint32_t)(seed >> 32) ^ 0xda7a0dd3u};
    for (size_t i = n; i-- > 1;) {
        const uint32_t ctr[4] = {(uint32_t)i, (uint32_t)epoch,
                                 (uint32_t)(epoch >> 32), 0x5f0ff1eu};
        uint32_t r[4];
        dropout_philox4x32_10(ctr, key, r);
        /* 64 random bits mod (i+1): bias below 2^-40 for MNIST sizes. */
        uint64_t x = ((uint64_t)r[0] << 32) | r[1];
        size_t j = (size_t)(x % (uint64_t)(i + 1));
        uint32_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
}

/* Pointers to layer l's weight and bias gradient inside a slot. */
static void slot_grads(const mlp *m, float *slot, float **gw, float **gb)
{
    float *p = slot + 4;
    for (size_t l = 0; l < m->n_layers; l++) {
        gw[l] = p;
        p += m->units[l + 1] * m->units[l];
        gb[l] = p;
        p += m->units[l + 1];
    }
}

typedef struct combine_job {
    train_state *s;
    float mu;
} combine_job;

/* v = mu v + (((g_0 + g_1) + g_2) + ...) over the gathered slots, element by
 * element: the same sum in the same order on every rank. */
static void combine_slice(void *ctx, int t, int n)
{
    const combine_job *j = ctx;
    train_state *s = j->s;
    mlp *m = &s->model;
    const size_t S = s->cfg.micro_shards;
    float *gw[MLP_MAX_LAYERS], *gb[MLP_MAX_LAYERS];
    for (size_t l = 0; l < m->n_layers; l++) {
        size_t nin = m->units[l], nout = m->units[l + 1], b, e;
        pool_split(nout, 1, t, n, &b, &e);
        for (int q = 0; q < 2; q++) {
            size_t w = q == 0 ? nin : 1, lo = b * w, hi = e * w;
            float *v = q == 0 ? m->vw[l] : m->vb[l];
            slot_grads(m, s->gathered, gw, gb);
            const float *g0 = q == 0 ? gw[l] : gb[l];
            for (size_t i = lo; i < hi; i++) {
                float sum = g0[i];
                for (size_t k = 1; k < S; k++)
                    sum += g0[i + k * s->slot_floats];
                v[i] = j->mu * v[i] + sum;
            }
        }
    }
}

/* One SGD step over a minibatch cut into micro-shards; this rank computes
 * its own.  Returns the batch's summed loss (shard order) or NAN. */
static double sharded_step(train_state *s, const float *x, const uint8_t *y,
                           size_t rows, float lr, float mu, size_t *wrong)
{
    mlp *m = &s->model;
    const size_t S = s->cfg.micro_shards, dim = m->units[0];
    const int rank = s->comm ? s->comm->rank : 0, size = s->comm ? s->comm->size : 1;
    const size_t per = S / (size_t)size;
    float *gw[MLP_MAX_LAYERS], *gb[MLP_MAX_LAYERS];
    for (size_t k = 0; k < per; k++) {
        size_t shard = (size_t)rank * per + k, lo, hi;
        pool_split(rows, 1, (int)shard, (int)S, &lo, &hi);
        float *slot = s->slots + k * s->slot_floats;
        double stats[2] = {0.0, 0.0};
        slot_grads(m, slot, gw, gb);
        if (hi > lo) {
            size_t e = 0;
            if (mlp_forward_shard(m, x + lo * dim, hi - lo, lo) != 0)
                return NAN;
            stats[0] = mlp_loss(m, y + lo, hi - lo, &e);
            stats[1] = (double)e;
            if (mlp_backward_shard(m, y + lo, hi - lo, lo, rows, gw, gb) != 0)
                return NAN;
        } else {
            memset(slot + 4, 0, (s->slot_floats - 4) * sizeof(float));
        }
        memcpy(slot, stats, sizeof stats);
    }
    size_t bytes = per * s->slot_floats * sizeof(float);
    if (size > 1) {
        if (s->comm->allgather(s->comm->ctx, s->slots, s->gathered, bytes) != 0)
            return NAN;
    } else {
        memcpy(s->gathered, s->slots, bytes);
    }
    double loss = 0.0, errors = 0.0;
    for (size_t k = 0; k < S; k++) {
        double stats[2];
        memcpy(stats, s->gathered + k * s->slot_floats, sizeof stats);
        loss += stats[0];
        errors += stats[1];
    }
    combine_job j = {s, mu};
    pool_run(combine_slice, &j);
    mlp_update(m, lr, (float)s->cfg.max_norm);
    if (mlp_step_done(m) != 0)
        return NAN;
    *wrong = (size_t)errors;
    return loss;
}

int train_epoch(train_state *s, const mnist_data *d, train_progress_fn progress,
                void *ctx)
{
    if (s->epoch >= s->history_cap)
        return -1;
    double t0 = now_seconds();
    const train_config *cfg = &s->cfg;
    mlp *m = &s->model;
    shuffle(s->order, s->n_train, cfg->seed, s->epoch);
    float lr = train_learning_rate(cfg, s->epoch);
    float mu = train_momentum(cfg, s->epoch);
    size_t B = cfg->batch, dim = d->dim;
    size_t nb = train_steps_per_epoch(s);
    float *x = malloc(B * dim * sizeof(float));
    uint8_t *y = malloc(B);
    if (x == NULL || y == NULL) {
        free(x);
        free(y);
        return -1;
    }
    mlp_set_mode(m, DROPOUT_TRAIN);
    double loss = 0.0;
    size_t wrong = 0;
    for (size_t bi = 0; bi < nb; bi++) {
        size_t first = bi * B;
        size_t rows = s->n_train - first < B ? s->n_train - first : B;
        for (size_t r = 0; r < rows; r++) {
            uint32_t k = s->order[first + r];
            memcpy(x + r * dim, d->train_x + (size_t)k * dim, dim * sizeof(float));
            y[r] = d->train_y[k];
        }
        size_t e = 0;
        if (cfg->micro_shards > 1)
            loss += sharded_step(s, x, y, rows, lr, mu, &e);
        else
            loss += mlp_train_step(m, x, y, rows, lr, mu, (float)cfg->max_norm, &e);
        wrong += e;
        if (progress != NULL)
            progress(ctx, bi + 1, nb);
    }
    free(x);
    free(y);
    epoch_record *rec = &s->history[s->epoch];
    rec->test_error = 0.0;
    if (s->comm == NULL || s->comm->rank == 0) {
        size_t test_wrong = mlp_count_errors(m, d->test_x, d->test_y, d->n_test, NULL);
        rec->test_error = 100.0 * (double)test_wrong / (double)d->n_test;
    }
    rec->loss = loss / (double)s->n_train;
    rec->train_error = 100.0 * (double)wrong / (double)s->n_train;
    rec->seconds = now_seconds() - t0;
    s->epoch++;
    return 0;
}
