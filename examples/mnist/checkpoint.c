/* checkpoint.c — the whole evolving state of a run in one file, written
 * atomically and read back with every size checked.
 *
 * Layout (native little-endian, checked by an endian marker):
 *   "MNISTCK1" | u32 version (2) | u32 0x01020304
 *   u64 n_layers | u64 units[n_layers+1] | u64 n_train
 *   u64 length | the train_describe() text ("--name value" lines)
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

#define CKPT_VERSION 2u
#define CKPT_TEXT_MAX 4096

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
    put_u64(&w, s->n_train);
    char desc[CKPT_TEXT_MAX];
    int dn = train_describe(s, desc, sizeof desc);
    if (dn < 0)
        w.failed = 1;
    put_u64(&w, dn < 0 ? 0 : (uint64_t)dn);
    put(&w, desc, dn < 0 ? 0 : (size_t)dn);
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

static const uint8_t *take(reader *r, size_t n)
{
    if (r->failed || n > r->left) {
        r->failed = 1;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    r->left -= n;
    return p;
}

static uint64_t get_u64(reader *r)
{
    uint64_t v = 0;
    const uint8_t *p = take(r, 8);
    if (p != NULL)
        memcpy(&v, p, 8);
    return v;
}

static double f64_at(const uint8_t *p, size_t i)
{
    double v;
    memcpy(&v, p + 8 * i, 8);
    return v;
}

/* The value of option `name` in describe-text t[0..n), or NULL. */
static const char *find_option(const char *t, size_t n, const char *name,
                               size_t *len)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < n;) {
        const char *end = memchr(t + i, '\n', n - i);
        size_t line = end ? (size_t)(end - (t + i)) : n - i;
        if (line > nl && memcmp(t + i, name, nl) == 0 && t[i + nl] == ' ') {
            *len = line - nl - 1;
            return t + i + nl + 1;
        }
        i += line + 1;
    }
    return NULL;
}

/* Every option line of `now` must be in `then` with the same value, and
 * `then` must hold nothing else.  Writes the first difference to why. */
static int same_options(const char *now, size_t now_n, const char *then,
                        size_t then_n, char *why, size_t why_size)
{
    size_t lines = 0;
    for (size_t i = 0; i < now_n;) {
        const char *end = memchr(now + i, '\n', now_n - i);
        size_t line = end ? (size_t)(end - (now + i)) : now_n - i;
        const char *sp = memchr(now + i, ' ', line);
        char name[64];
        size_t name_n = sp ? (size_t)(sp - (now + i)) : line;
        if (name_n >= sizeof name)
            name_n = sizeof name - 1;
        memcpy(name, now + i, name_n);
        name[name_n] = '\0';
        const char *val = sp ? sp + 1 : now + i + line;
        size_t val_n = (size_t)(now + i + line - val), old_n = 0;
        const char *old = find_option(then, then_n, name, &old_n);
        if (old == NULL) {
            snprintf(why, why_size, "it does not record %s (this run has %s %.*s)",
                     name, name, (int)val_n, val);
            return 0;
        }
        if (old_n != val_n || memcmp(old, val, val_n) != 0) {
            snprintf(why, why_size,
                     "%s %.*s differs from the checkpoint's %s %.*s (a resume "
                     "must repeat every option that changes the result)",
                     name, (int)val_n, val, name, (int)old_n, old);
            return 0;
        }
        lines++;
        i += line + 1;
    }
    size_t then_lines = 0;
    for (size_t i = 0; i < then_n; i++)
        then_lines += then[i] == '\n';
    if (then_lines != lines) {
        snprintf(why, why_size, "it records options this run does not have");
        return 0;
    }
    return 1;
}

static int all_finite(const uint8_t *p, size_t count, size_t *bad)
{
    for (size_t i = 0; i < count; i++) {
        float v;
        memcpy(&v, p + 4 * i, 4);
        if (!(v - v == 0.0f)) {
            *bad = i;
            return 0;
        }
    }
    return 1;
}

static int same_layer(const dropout_layer *a, const dropout_layer *b)
{
    return a->p == b->p && a->mode == b->mode && a->seed == b->seed &&
           a->next_stream == b->next_stream && a->last_stream == b->last_stream &&
           a->last_mode == b->last_mode;
}

/* Checks that the state in the file is one this configuration reaches
 * after `epoch` epochs; the pointers locate each part inside the file. */
static int plausible(const train_state *s, size_t epoch, const uint8_t *hist,
                     const uint8_t *order, const uint8_t *const *params,
                     const dropout_layer *layers, char *why, size_t why_size)
{
    const mlp *m = &s->model;
    for (size_t e = 0; e < epoch; e++) {
        double loss = f64_at(hist, 4 * e), tr = f64_at(hist, 4 * e + 1);
        double te = f64_at(hist, 4 * e + 2), sec = f64_at(hist, 4 * e + 3);
        if (!(loss >= 0 && loss < 1e300) || !(tr >= 0 && tr <= 100) ||
            !(te >= 0 && te <= 100) || !(sec >= 0 && sec < 1e300)) {
            snprintf(why, why_size, "the history of epoch %zu is out of range", e + 1);
            return 0;
        }
    }
    uint8_t *seen = calloc(s->n_train ? s->n_train : 1, 1);
    if (seen == NULL) {
        snprintf(why, why_size, "out of memory");
        return 0;
    }
    for (size_t i = 0; i < s->n_train; i++) {
        uint32_t k;
        memcpy(&k, order + 4 * i, 4);
        if (k >= s->n_train || seen[k]) {
            if (k >= s->n_train)
                snprintf(why, why_size, "the data order names image %u of %zu",
                         (unsigned)k, s->n_train);
            else
                snprintf(why, why_size, "the data order lists image %u twice",
                         (unsigned)k);
            free(seen);
            return 0;
        }
        seen[k] = 1;
    }
    free(seen);
    static const char *const part_name[4] = {"weight", "bias", "momentum of weight",
                                             "momentum of bias"};
    for (size_t l = 0; l < m->n_layers; l++)
        for (int q = 0; q < 4; q++) {
            size_t count = q % 2 == 0 ? m->units[l + 1] * m->units[l] : m->units[l + 1];
            size_t bad = 0;
            if (!all_finite(params[4 * l + q], count, &bad)) {
                snprintf(why, why_size, "%s %zu of layer %zu is not finite",
                         part_name[q], bad, l + 1);
                return 0;
            }
        }
    /* A fresh state holds each layer's p and seed; training advances every
     * layer by one stream per step. */
    uint64_t steps = (uint64_t)epoch * train_steps_per_epoch(s);
    for (size_t l = 0; l < m->n_layers; l++) {
        dropout_layer want = m->drop[l];
        want.mode = DROPOUT_TRAIN;
        want.next_stream = steps;
        if (steps > 0) {
            want.last_stream = steps - 1;
            want.last_mode = DROPOUT_TRAIN;
        }
        const dropout_layer *got = &layers[l];
        if (got->p != want.p)
            snprintf(why, why_size, "dropout layer %zu has p = %g but this run has "
                     "p = %g (%s)", l, got->p, want.p, l == 0 ? "--p-input" : "--p-hidden");
        else if (got->seed != want.seed)
            snprintf(why, why_size, "dropout layer %zu has a seed that --seed %llu "
                     "does not give", l, (unsigned long long)s->cfg.seed);
        else if (!same_layer(got, &want))
            snprintf(why, why_size, "dropout layer %zu is at stream %llu, not at "
                     "the %llu steps of %zu epoch(s)", l,
                     (unsigned long long)got->next_stream, (unsigned long long)steps, epoch);
        else
            continue;
        return 0;
    }
    return 1;
}

int checkpoint_load_bytes(train_state *s, const uint8_t *buf, size_t n,
                          const char *name, char *err, size_t err_size)
{
    char why[1024] = "";
    mlp *m = &s->model;
    reader r = {buf, n >= 8 ? n - 8 : 0, 0};
    const uint8_t *head = take(&r, 16);
    uint64_t h = 0xcbf29ce484222325ull, stored = 0;
    uint32_t version = 0, endian = 0;
    if (head != NULL) {
        memcpy(&version, head + 8, 4);
        memcpy(&endian, head + 12, 4);
        fnv(&h, buf, n - 8);
        memcpy(&stored, buf + n - 8, 8);
    }
    if (head == NULL || memcmp(head, "MNISTCK1", 8) != 0 || endian != 0x01020304u)
        snprintf(why, sizeof why, "not an mnist-mlp checkpoint");
    else if (version != CKPT_VERSION)
        snprintf(why, sizeof why, "checkpoint version %u, this build reads version %u",
                 (unsigned)version, (unsigned)CKPT_VERSION);
    else if (h != stored)
        snprintf(why, sizeof why, "checksum mismatch (corrupt file)");
    /* The options by name first (the sizes come with them). */
    int sizes_ok = 0;
    if (why[0] == '\0') {
        uint64_t nl = get_u64(&r);
        if (nl < 1 || nl > MLP_MAX_LAYERS)
            r.failed = 1;
        sizes_ok = nl == m->n_layers;
        for (size_t l = 0; !r.failed && l <= nl; l++) {
            uint64_t u = get_u64(&r);
            sizes_ok &= l <= m->n_layers && u == m->units[l];
        }
        sizes_ok &= get_u64(&r) == s->n_train;
        char now[CKPT_TEXT_MAX];
        int now_n = train_describe(s, now, sizeof now);
        uint64_t tn = get_u64(&r);
        const uint8_t *t = tn <= CKPT_TEXT_MAX ? take(&r, (size_t)tn) : NULL;
        if (t == NULL || now_n < 0)
            snprintf(why, sizeof why, "truncated or inconsistent checkpoint");
        else if (same_options(now, (size_t)now_n, (const char *)t, (size_t)tn, why,
                              sizeof why) && !sizes_ok)
            snprintf(why, sizeof why, "its layer sizes or training-set size "
                     "disagree with its own options");
    }
    size_t epoch = 0;
    const uint8_t *hist = NULL, *order = NULL, *params[4 * MLP_MAX_LAYERS];
    dropout_layer layers[MLP_MAX_LAYERS];
    if (why[0] == '\0') {
        uint64_t e = get_u64(&r);
        if (!r.failed && e > s->history_cap)
            snprintf(why, sizeof why, "it is at epoch %llu, past the %zu epochs of "
                     "this run (--epochs)", (unsigned long long)e, s->history_cap);
        epoch = (size_t)e;
    }
    if (why[0] == '\0') {
        hist = take(&r, epoch * 32);
        order = take(&r, s->n_train * sizeof(uint32_t));
        for (size_t l = 0; l < m->n_layers; l++) {
            size_t nw = m->units[l + 1] * m->units[l], nb = m->units[l + 1];
            params[4 * l] = take(&r, nw * 4);
            params[4 * l + 1] = take(&r, nb * 4);
            params[4 * l + 2] = take(&r, nw * 4);
            params[4 * l + 3] = take(&r, nb * 4);
        }
        for (size_t l = 0; l < m->n_layers; l++) {
            const uint8_t *st = take(&r, DROPOUT_LAYER_STATE_BYTES);
            if (st == NULL || dropout_layer_load(&layers[l], st) != DROPOUT_OK)
                r.failed = 1;
        }
        if (r.failed || r.left != 0)
            snprintf(why, sizeof why, "truncated or inconsistent checkpoint");
        else
            plausible(s, epoch, hist, order, params, layers, why, sizeof why);
    }
    if (why[0] != '\0') {
        snprintf(err, err_size, "cannot resume from %s: %s", name, why);
        return -1;
    }
    /* Everything checked: only now is the state written. */
    for (size_t e = 0; e < epoch; e++) {
        s->history[e].loss = f64_at(hist, 4 * e);
        s->history[e].train_error = f64_at(hist, 4 * e + 1);
        s->history[e].test_error = f64_at(hist, 4 * e + 2);
        s->history[e].seconds = f64_at(hist, 4 * e + 3);
    }
    memcpy(s->order, order, s->n_train * sizeof(uint32_t));
    for (size_t l = 0; l < m->n_layers; l++) {
        size_t nw = m->units[l + 1] * m->units[l], nb = m->units[l + 1];
        memcpy(m->w[l], params[4 * l], nw * 4);
        memcpy(m->b[l], params[4 * l + 1], nb * 4);
        memcpy(m->vw[l], params[4 * l + 2], nw * 4);
        memcpy(m->vb[l], params[4 * l + 3], nb * 4);
        m->drop[l] = layers[l];
    }
    s->epoch = epoch;
    return 0;
}

int checkpoint_read_file(const char *path, uint8_t **buf, size_t *n, char *err,
                         size_t err_size)
{
    *buf = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        if (errno == ENOENT)
            return 1;
        snprintf(err, err_size, "cannot open checkpoint %s: %s", path,
                 strerror(errno));
        return -1;
    }
    long len = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        len = ftell(f);
    if (len >= 0 && fseek(f, 0, SEEK_SET) != 0)
        len = -1;
    uint8_t *b = len > 0 ? malloc((size_t)len) : NULL;
    if (b == NULL || fread(b, 1, (size_t)len, f) != (size_t)len) {
        fclose(f);
        free(b);
        snprintf(err, err_size, "cannot read checkpoint %s%s", path,
                 len == 0 ? " (empty file)" : "");
        return -1;
    }
    fclose(f);
    *buf = b;
    *n = (size_t)len;
    return 0;
}

int checkpoint_load(train_state *s, const char *path, char *err,
                    size_t err_size)
{
    uint8_t *buf;
    size_t n;
    int rc = checkpoint_read_file(path, &buf, &n, err, err_size);
    if (rc != 0)
        return rc;
    rc = checkpoint_load_bytes(s, buf, n, path, err, err_size);
    free(buf);
    return rc;
}
