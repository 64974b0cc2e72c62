/* mlp.c — forward, backward and update of the MLP; matrix products in gemm. */
#include "mlp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "pool.h"

static float *alloc_floats(size_t n)
{
    /* 64-byte alignment: whole cache lines for the BLAS and the vector loops. */
    size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, bytes ? bytes : 64);
    if (p != NULL)
        memset(p, 0, bytes ? bytes : 64);
    return p;
}

/* The seed of dropout layer l, derived so each layer has its own key. */
static uint64_t drop_seed(uint64_t seed, size_t l)
{
    return seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(l + 1));
}

int mlp_create(mlp *m, size_t n_layers, const size_t *units, double p_input,
               double p_hidden, uint64_t seed, size_t batch_cap)
{
    memset(m, 0, sizeof *m);
    if (n_layers < 1 || n_layers > MLP_MAX_LAYERS || batch_cap == 0)
        return -1;
    m->n_layers = n_layers;
    m->batch_cap = batch_cap;
    for (size_t l = 0; l <= n_layers; l++) {
        if (units[l] == 0)
            return -1;
        m->units[l] = units[l];
    }
    int bad = 0;
    for (size_t l = 0; l < n_layers; l++) {
        size_t nw = units[l + 1] * units[l];
        m->w[l] = alloc_floats(nw);
        m->vw[l] = alloc_floats(nw);
        m->b[l] = alloc_floats(units[l + 1]);
        m->vb[l] = alloc_floats(units[l + 1]);
        bad |= !m->w[l] || !m->vw[l] || !m->b[l] || !m->vb[l];
        double p = l == 0 ? p_input : p_hidden;
        bad |= dropout_layer_init(&m->drop[l], p, drop_seed(seed, l)) != DROPOUT_OK;
    }
    for (size_t l = 0; l <= n_layers; l++) {
        m->act[l] = alloc_floats(batch_cap * units[l]);
        m->dact[l] = alloc_floats(batch_cap * units[l]);
        bad |= !m->act[l] || !m->dact[l];
    }
    if (bad) {
        mlp_free(m);
        return -1;
    }
    return 0;
}

void mlp_free(mlp *m)
{
    for (size_t l = 0; l < MLP_MAX_LAYERS; l++) {
        free(m->w[l]);
        free(m->vw[l]);
        free(m->b[l]);
        free(m->vb[l]);
    }
    for (size_t l = 0; l <= MLP_MAX_LAYERS; l++) {
        free(m->act[l]);
        free(m->dact[l]);
    }
    memset(m, 0, sizeof *m);
}

size_t mlp_param_count(const mlp *m)
{
    size_t n = 0;
    for (size_t l = 0; l < m->n_layers; l++)
        n += m->units[l + 1] * m->units[l] + m->units[l + 1];
    return n;
}

void mlp_init_weights(mlp *m, uint64_t seed)
{
    /* Philox as a counter-based generator: word k of layer l comes from
     * counter (k/4, l, 0, 0), so the initialization is a pure function of
     * (seed, shapes). */
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    for (size_t l = 0; l < m->n_layers; l++) {
        size_t nw = m->units[l + 1] * m->units[l];
        float bound = (float)(1.0 / sqrt((double)m->units[l]));
        uint32_t out[4];
        for (size_t k = 0; k < nw; k++) {
            if (k % 4 == 0) {
                const uint32_t ctr[4] = {(uint32_t)(k / 4),
                                         (uint32_t)((k / 4) >> 32),
                                         (uint32_t)l, 0x1417u};
                dropout_philox4x32_10(ctr, key, out);
            }
            /* 24 random bits -> uniform in [-1, 1). */
            float u = (float)(out[k % 4] >> 8) * (1.0f / 8388608.0f) - 1.0f;
            m->w[l][k] = bound * u;
        }
        memset(m->b[l], 0, m->units[l + 1] * sizeof(float));
        memset(m->vw[l], 0, nw * sizeof(float));
        memset(m->vb[l], 0, m->units[l + 1] * sizeof(float));
    }
}

void mlp_set_mode(mlp *m, int mode)
{
    for (size_t l = 0; l < m->n_layers; l++)
        dropout_layer_set_mode(&m->drop[l], mode);
}

/* h = relu(h + b) over a B x n block: one pass, bias and activation fused. */
static void bias_relu_forward(float *h, const float *b, size_t B, size_t n)
{
    for (size_t i = 0; i < B; i++) {
        float *row = h + i * n;
        for (size_t j = 0; j < n; j++) {
            float v = row[j] + b[j];
            row[j] = v > 0.0f ? v : 0.0f;
        }
    }
}

/* Softmax of each row of logits (+ bias) in place, max-subtracted. */
static void bias_softmax_forward(float *z, const float *b, size_t B, size_t n)
{
    for (size_t i = 0; i < B; i++) {
        float *row = z + i * n;
        float mx = -INFINITY;
        for (size_t j = 0; j < n; j++) {
            row[j] += b[j];
            mx = row[j] > mx ? row[j] : mx;
        }
        float sum = 0.0f;
        for (size_t j = 0; j < n; j++) {
            row[j] = expf(row[j] - mx);
            sum += row[j];
        }
        float inv = 1.0f / sum;
        for (size_t j = 0; j < n; j++)
            row[j] *= inv;
    }
}

/* Dropout site l on n elements in place.  shard == NULL: the layer object's
 * own forward (mask index space [0, n), advances its stream).  Otherwise the
 * layer's next stream at mask index first = *row0 * width, the layer
 * left as it is (mlp_step_done advances it once per step). */
static int drop_forward(mlp *m, size_t l, float *y, const float *x, size_t n,
                        size_t width, const size_t *row0)
{
    if (row0 == NULL)
        return dropout_layer_forward_f32(&m->drop[l], y, x, n);
    const dropout_layer *d = &m->drop[l];
    dropout_params q = {.p = d->p, .seed = d->seed, .stream = d->next_stream,
                        .first = (uint64_t)*row0 * width, .mode = d->mode};
    return dropout_forward_f32(&q, y, x, n, NULL, 0);
}

static int forward_impl(mlp *m, const float *x, size_t B, const size_t *row0)
{
    if (B > m->batch_cap)
        return -1;
    size_t L = m->n_layers;
    /* Input dropout (identity in evaluation mode). */
    if (drop_forward(m, 0, m->act[0], x, B * m->units[0], m->units[0], row0) != DROPOUT_OK)
        return -1;
    for (size_t l = 0; l < L; l++) {
        size_t nin = m->units[l], nout = m->units[l + 1];
        /* act[l+1] (B x nout) = act[l] (B x nin) * w[l]^T (nin x nout) */
        gemm_forward(0, 1, B, nout, nin, 1.0f, m->act[l], nin, m->w[l], nin,
                     0.0f, m->act[l + 1], nout);
        if (l + 1 < L) {
            bias_relu_forward(m->act[l + 1], m->b[l], B, nout);
            if (drop_forward(m, l + 1, m->act[l + 1], m->act[l + 1], B * nout, nout,
                             row0) != DROPOUT_OK)
                return -1;
        } else {
            bias_softmax_forward(m->act[l + 1], m->b[l], B, nout);
        }
    }
    return 0;
}

int mlp_forward(mlp *m, const float *x, size_t B)
{
    return forward_impl(m, x, B, NULL);
}

int mlp_forward_shard(mlp *m, const float *x, size_t B, size_t row0)
{
    return forward_impl(m, x, B, &row0);
}

int mlp_step_done(mlp *m)
{
    /* A forward of no elements: the library's own bookkeeping of a training
     * forward (last_stream = next_stream++), nothing computed. */
    float none = 0.0f;
    for (size_t l = 0; l < m->n_layers; l++)
        if (dropout_layer_forward_f32(&m->drop[l], &none, &none, 0) != DROPOUT_OK)
            return -1;
    return 0;
}

double mlp_loss(const mlp *m, const uint8_t *labels, size_t B, size_t *errors)
{
    size_t n = m->units[m->n_layers], wrong = 0;
    double loss = 0.0;
    for (size_t i = 0; i < B; i++) {
        const float *p = m->act[m->n_layers] + i * n;
        size_t best = 0;
        for (size_t j = 1; j < n; j++)
            best = p[j] > p[best] ? j : best;
        wrong += best != labels[i];
        loss -= log((double)p[labels[i]] + 1e-30);
    }
    if (errors != NULL)
        *errors = wrong;
    return loss;
}

/* db = beta * db + column sums of d (B x n). */
static void bias_backward(float *db, const float *d, size_t B, size_t n, float beta)
{
    for (size_t j = 0; j < n; j++)
        db[j] *= beta;
    for (size_t i = 0; i < B; i++)
        for (size_t j = 0; j < n; j++)
            db[j] += d[i * n + j];
}

static int backward_impl(mlp *m, const uint8_t *labels, size_t B, float inv_b,
                         float beta, float *const *gw, float *const *gb,
                         const size_t *row0)
{
    size_t L = m->n_layers;
    size_t nout = m->units[L];
    /* d(mean CE)/d logits = (softmax - onehot) / rows of the whole batch */
    float *d = m->dact[L];
    for (size_t i = 0; i < B; i++) {
        for (size_t j = 0; j < nout; j++)
            d[i * nout + j] = m->act[L][i * nout + j] * inv_b;
        d[i * nout + labels[i]] -= inv_b;
    }
    for (size_t l = L; l-- > 0;) {
        size_t nin = m->units[l];
        nout = m->units[l + 1];
        const float *dout = m->dact[l + 1];
        /* dw (nout x nin) = beta dw + dout^T (nout x B) * act[l] (B x nin) */
        gemm_forward(1, 0, nout, nin, B, 1.0f, dout, nout, m->act[l], nin, beta,
                     gw[l], nin);
        bias_backward(gb[l], dout, B, nout, beta);
        if (l == 0)
            break; /* the input needs no gradient */
        /* dact[l] (B x nin) = dout (B x nout) * w[l] (nout x nin) */
        float *din = m->dact[l];
        gemm_forward(0, 0, B, nin, nout, 1.0f, dout, nout, m->w[l], nin, 0.0f,
                     din, nin);
        /* Through dropout: the mask regenerated (scale 1/(1-p)), from the
         * layer's last forward or, for a shard, its forward's parameters. */
        int st;
        if (row0 == NULL) {
            st = dropout_layer_backward_f32(&m->drop[l], din, din, B * nin);
        } else {
            const dropout_layer *dl = &m->drop[l];
            dropout_params q = {.p = dl->p, .seed = dl->seed, .stream = dl->next_stream,
                                .first = (uint64_t)*row0 * nin, .mode = dl->mode};
            st = dropout_backward_regen_f32(&q, din, din, B * nin);
        }
        if (st != DROPOUT_OK)
            return -1;
        /* Through ReLU: act[l] > 0 exactly where the ReLU passed and dropout
         * kept (a kept positive times 1/(1-p) stays positive); elsewhere the
         * gradient is already zero or must become zero. */
        const float *a = m->act[l];
        for (size_t k = 0; k < B * nin; k++)
            din[k] = a[k] > 0.0f ? din[k] : 0.0f;
    }
    return 0;
}

int mlp_backward(mlp *m, const uint8_t *labels, size_t B, float beta,
                 float *const *gw, float *const *gb)
{
    return backward_impl(m, labels, B, 1.0f / (float)B, beta, gw, gb, NULL);
}

int mlp_backward_shard(mlp *m, const uint8_t *labels, size_t B, size_t row0,
                       size_t batch_rows, float *const *gw, float *const *gb)
{
    return backward_impl(m, labels, B, 1.0f / (float)batch_rows, 0.0f, gw, gb, &row0);
}

typedef struct update_job {
    mlp *m;
    float lr, max_norm;
} update_job;

/* Rows [b, e) of every layer: one pass that applies the step and the
 * max-norm projection while the row is in cache. */
static void update_slice(void *ctx, int t, int n)
{
    const update_job *j = ctx;
    mlp *m = j->m;
    const float lr = j->lr, max_norm = j->max_norm;
    for (size_t l = 0; l < m->n_layers; l++) {
        size_t nin = m->units[l], nout = m->units[l + 1], b, e;
        pool_split(nout, 1, t, n, &b, &e);
        for (size_t r = b; r < e; r++) {
            float *w = m->w[l] + r * nin;
            const float *v = m->vw[l] + r * nin;
            /* Eight partial sums: without -ffast-math the compiler keeps one
             * serial sum, and this loop runs over every weight every step. */
            float part[8] = {0};
            size_t k = 0;
            for (; k + 8 <= nin; k += 8)
                for (size_t u = 0; u < 8; u++) {
                    w[k + u] -= lr * v[k + u];
                    part[u] += w[k + u] * w[k + u];
                }
            for (; k < nin; k++) {
                w[k] -= lr * v[k];
                part[0] += w[k] * w[k];
            }
            float sq = ((part[0] + part[1]) + (part[2] + part[3])) +
                       ((part[4] + part[5]) + (part[6] + part[7]));
            /* Max-norm: project the unit's incoming weights back onto the
             * ball of radius max_norm (Srivastava et al. 2014, section 5.1). */
            if (max_norm > 0.0f && sq > max_norm * max_norm) {
                float scale = max_norm / sqrtf(sq);
                for (size_t k = 0; k < nin; k++)
                    w[k] *= scale;
            }
            m->b[l][r] -= lr * m->vb[l][r];
        }
    }
}

void mlp_update(mlp *m, float lr, float max_norm)
{
    update_job j = {m, lr, max_norm};
    pool_run(update_slice, &j);
}

double mlp_train_step(mlp *m, const float *x, const uint8_t *labels, size_t B,
                      float lr, float momentum, float max_norm, size_t *errors)
{
    if (mlp_forward(m, x, B) != 0)
        return NAN;
    double loss = mlp_loss(m, labels, B, errors);
    if (mlp_backward(m, labels, B, momentum, m->vw, m->vb) != 0)
        return NAN;
    mlp_update(m, lr, max_norm);
    return loss;
}

size_t mlp_count_errors(mlp *m, const float *x, const uint8_t *labels,
                        size_t n, double *loss_sum)
{
    dropout_layer saved[MLP_MAX_LAYERS];
    memcpy(saved, m->drop, sizeof saved);
    mlp_set_mode(m, DROPOUT_EVAL);
    size_t wrong = 0, d = m->units[0];
    double loss = 0.0;
    for (size_t i = 0; i < n; i += m->batch_cap) {
        size_t B = n - i < m->batch_cap ? n - i : m->batch_cap;
        size_t e = 0;
        mlp_forward(m, x + i * d, B);
        loss += mlp_loss(m, labels + i, B, &e);
        wrong += e;
    }
    memcpy(m->drop, saved, sizeof saved);
    if (loss_sum != NULL)
        *loss_sum = loss;
    return wrong;
}

void mlp_mc_errors(mlp *m, const float *x, const uint8_t *labels, size_t n,
                   const int *ks, size_t nk, uint64_t mc_seed, size_t *errors)
{
    dropout_layer saved[MLP_MAX_LAYERS];
    memcpy(saved, m->drop, sizeof saved);
    for (size_t l = 0; l < m->n_layers; l++) {
        dropout_layer_init(&m->drop[l], saved[l].p, drop_seed(mc_seed, l));
        dropout_layer_set_mode(&m->drop[l], DROPOUT_TRAIN);
    }
    size_t d = m->units[0], nc = m->units[m->n_layers];
    int kmax = nk > 0 ? ks[nk - 1] : 0;
    float *sum = calloc(m->batch_cap * nc, sizeof(float));
    for (size_t q = 0; q < nk; q++)
        errors[q] = 0;
    for (size_t i = 0; sum != NULL && i < n; i += m->batch_cap) {
        size_t B = n - i < m->batch_cap ? n - i : m->batch_cap;
        memset(sum, 0, B * nc * sizeof(float));
        size_t q = 0;
        for (int k = 1; k <= kmax; k++) {
            mlp_forward(m, x + i * d, B);
            const float *p = m->act[m->n_layers];
            for (size_t t = 0; t < B * nc; t++)
                sum[t] += p[t];
            while (q < nk && ks[q] == k) {
                for (size_t r = 0; r < B; r++) {
                    const float *s = sum + r * nc;
                    size_t best = 0;
                    for (size_t j = 1; j < nc; j++)
                        best = s[j] > s[best] ? j : best;
                    errors[q] += best != labels[i + r];
                }
                q++;
            }
        }
    }
    free(sum);
    memcpy(m->drop, saved, sizeof saved);
}
