/* checkpoint.c — the whole evolving state of a run in one file, written
 * atomically and read back with every size checked.
 *
 * Layout (native little-endian, checked by an endian marker):
 *   "MNISTCK1" | u32 version | u32 0x01020304
 *   u64 n_layers | u64 units[n_layers+1] | u64 batch | u64 seed | u64 n_train
 *   f64 p_input | f64 p_hidden
 *   u64 epoch | epoch x {f64 loss, train_error, test_error, seconds}
 *   u32 order[n_train]
 *   per layer: f32 w, b, vw, vb
 *   per layer: dropout_layer_save() (48 bytes)
 *   u64 FNV-1a of everything before it
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train.h"

#define CKPT_VERSION 1u

typedef struct writer {
    FILE *f;
    uint64_t hash;
    int failed;
} writer;

static void fnv(uint64_t *h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        *h ^= b[i];
        *h *= 0x100000001b3ull;
    }
}

static void put(writer *w, const void *p, size_t n)
{
    if (w->failed || n == 0)
        return;
    fnv(&w->hash, p, n);
    if (fwrite(p, 1, n, w->f) != n)
        w->failed = 1;
}

static void put_u64(writer *w, uint64_t v) { put(w, &v, 8); }
static void put_f64(writer *w, double v) { put(w, &v, 8); }

int checkpoint_save(const train_state *s, const char *path, char *err,
                    size_t err_size)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    writer w = {fopen(tmp, "wb"), 0xcbf29ce484222325ull, 0};
    if (w.f == NULL) {
        snprintf(err, err_size, "cannot write checkpoint %s: %s", tmp,
                 strerror(errno));
        return -1;
    }
    const mlp *m = &s->model;
    uint32_t version = CKPT_VERSION, endian = 0x01020304u;
    put(&w, "MNISTCK1", 8);
    put(&w, &version, 4);
    put(&w, &endian, 4);
    put_u64(&w, m->n_layers);
    for (size_t l = 0; l <= m->n_layers; l++)
        put_u64(&w, m->units[l]);
    put_u64(&w, s->cfg.batch);
    put_u64(&w, s->cfg.seed);
    put_u64(&w, s->n_train);
    put_f64(&w, s->cfg.p_input);
    put_f64(&w, s->cfg.p_hidden);
    put_u64(&w, s->epoch);
    for (size_t e = 0; e < s->epoch; e++) {
        put_f64(&w, s->history[e].loss);
        put_f64(&w, s->history[e].train_error);
        put_f64(&w, s->history[e].test_error);
        put_f64(&w, s->history[e].seconds);
    }
    put(&w, s->order, s->n_train * sizeof(uint32_t));
    for (size_t l = 0; l < m->n_layers; l++) {
        size_t nw = m->units[l + 1] * m->units[l], nb = m->units[l + 1];
        put(&w, m->w[l], nw * sizeof(float));
        put(&w, m->b[l], nb * sizeof(float));
        put(&w, m->vw[l], nw * sizeof(float));
        put(&w, m->vb[l], nb * sizeof(float));
    }
    for (size_t l = 0; l < m->n_layers; l++) {
        uint8_t state[DROPOUT_LAYER_STATE_BYTES];
        if (dropout_layer_save(&m->drop[l], state) != DROPOUT_OK)
            w.failed = 1;
        put(&w, state, sizeof state);
    }
    uint64_t h = w.hash;
    put(&w, &h, 8);
    /* Data on disk before the rename: a crash leaves the old file or the
     * new one, never a torn one. */
    if (fflush(w.f) != 0 || fsync(fileno(w.f)) != 0)
        w.failed = 1;
    if (fclose(w.f) != 0)
        w.failed = 1;
    if (w.failed || rename(tmp, path) != 0) {
        snprintf(err, err_size, "cannot write checkpoint %s: %s", path,
                 strerror(errno));
        remove(tmp);
        return -1;
    }
    /* Make the rename itself durable. */
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    return 0;
}

typedef struct reader {
    const uint8_t *p;
    size_t left;
    int failed;
} reader;

static void get(reader *r, void *out, size_t n)
{
    if (r->failed || n > r->left) {
        r->failed = 1;
        memset(out, 0, n);
        return;
    }
    memcpy(out, r->p, n);
    r->p += n;
    r->left -= n;
}

static uint64_t get_u64(reader *r)
{
    uint64_t v;
    get(r, &v, 8);
    return v;
}

static double get_f64(reader *r)
{
    double v;
    get(r, &v, 8);
    return v;
}

int checkpoint_load(train_state *s, const char *path, char *err,
                    size_t err_size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        if (errno == ENOENT)
            return 1;
        snprintf(err, err_size, "cannot open checkpoint %s: %s", path,
                 strerror(errno));
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = len > 16 ? malloc((size_t)len) : NULL;
    if (buf == NULL || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        fclose(f);
        free(buf);
        snprintf(err, err_size, "cannot read checkpoint %s", path);
        return -1;
    }
    fclose(f);
    size_t n = (size_t)len;
    uint64_t h = 0xcbf29ce484222325ull, stored;
    fnv(&h, buf, n - 8);
    memcpy(&stored, buf + n - 8, 8);
    reader r = {buf, n - 8, 0};
    const char *why = NULL;
    char magic[8];
    uint32_t version = 0, endian = 0;
    get(&r, magic, 8);
    get(&r, &version, 4);
    get(&r, &endian, 4);
    mlp *m = &s->model;
    if (memcmp(magic, "MNISTCK1", 8) != 0 || endian != 0x01020304u)
        why = "not an mnist-mlp checkpoint";
    else if (version != CKPT_VERSION)
        why = "unsupported checkpoint version";
    else if (h != stored)
        why = "checksum mismatch (corrupt file)";
    if (why == NULL) {
        int same = get_u64(&r) == m->n_layers;
        for (size_t l = 0; same && l <= m->n_layers; l++)
            same = get_u64(&r) == m->units[l];
        same = same && get_u64(&r) == s->cfg.batch;
        same = same && get_u64(&r) == s->cfg.seed;
        same = same && get_u64(&r) == s->n_train;
        same = same && get_f64(&r) == s->cfg.p_input;
        same = same && get_f64(&r) == s->cfg.p_hidden;
        if (!same)
            why = "it was written by a run with a different network, batch, "
                  "seed, training-set size or dropout rates";
    }
    size_t epoch = 0;
    if (why == NULL) {
        epoch = (size_t)get_u64(&r);
        if (epoch > s->history_cap)
            why = "it is past the requested number of epochs";
    }
    if (why == NULL) {
        for (size_t e = 0; e < epoch; e++) {
            s->history[e].loss = get_f64(&r);
            s->history[e].train_error = get_f64(&r);
            s->history[e].test_error = get_f64(&r);
            s->history[e].seconds = get_f64(&r);
        }
        get(&r, s->order, s->n_train * sizeof(uint32_t));
        for (size_t i = 0; i < s->n_train; i++)
            if (s->order[i] >= s->n_train)
                r.failed = 1;
        for (size_t l = 0; l < m->n_layers; l++) {
            size_t nw = m->units[l + 1] * m->units[l], nb = m->units[l + 1];
            get(&r, m->w[l], nw * sizeof(float));
            get(&r, m->b[l], nb * sizeof(float));
            get(&r, m->vw[l], nw * sizeof(float));
            get(&r, m->vb[l], nb * sizeof(float));
        }
        for (size_t l = 0; l < m->n_layers; l++) {
            uint8_t state[DROPOUT_LAYER_STATE_BYTES];
            get(&r, state, sizeof state);
            if (!r.failed && dropout_layer_load(&m->drop[l], state) != DROPOUT_OK)
                r.failed = 1;
        }
        if (r.failed || r.left != 0)
            why = "truncated or inconsistent checkpoint";
    }
    free(buf);
    if (why != NULL) {
        snprintf(err, err_size, "cannot resume from %s: %s", path, why);
        return -1;
    }
    s->epoch = epoch;
    return 0;
}
