/*
 * test_mnist.c — tests of the MNIST demo on tiny synthetic IDX data
 * (generated here; the real data set is never used in tests).
 *
 *   test_mnist idx         malformed IDX files are rejected with a reason
 *   test_mnist gemm        BLAS and the plain C product agree (all op() cases)
 *   test_mnist gradcheck   finite differences vs backward, fixed dropout mask
 *   test_mnist eval        evaluation-mode forward is deterministic (identity dropout)
 *   test_mnist smoke       one epoch on a tiny set runs and learns something
 *   test_mnist resume      interrupted + resumed == uninterrupted, bitwise
 *   test_mnist shards      micro-shards: the rows of the whole batch's
 *                          activations and masks, gradients that add up
 *   test_mnist consistency a checkpoint with a valid checksum whose state its
 *                          configuration cannot reach (or another
 *                          configuration's) is refused, the state untouched
 *   test_mnist write-idx DIR [truncated]   synthetic data for the CLI tests
 *   test_mnist ckpt-equal A B              two checkpoints hold the same state
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gemm.h"
#include "idx.h"
#include "mlp.h"
#include "pool.h"
#include "train.h"

static int failures;
#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            failures++;                                                    \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);           \
            fprintf(stderr, __VA_ARGS__);                                  \
            fprintf(stderr, "\n");                                         \
        }                                                                  \
    } while (0)

/* A small deterministic generator for test data (not for the model). */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rng_u32(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}
static float rng_uniform(void) { return (float)(rng_u32() >> 8) / 16777216.0f; }

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Synthetic "digits": class c lights a 6x6 block at a place that depends on
 * c, plus noise, so a small network can learn it in an epoch. */
static uint8_t *make_images(size_t n, const uint8_t *labels, size_t *size)
{
    *size = 16 + n * 784;
    uint8_t *b = calloc(*size, 1);
    b[2] = 0x08;
    b[3] = 3;
    put_be32(b + 4, (uint32_t)n);
    put_be32(b + 8, 28);
    put_be32(b + 12, 28);
    for (size_t i = 0; i < n; i++) {
        uint8_t *img = b + 16 + i * 784;
        for (size_t k = 0; k < 784; k++)
            img[k] = rng_u32() % 8 == 0 ? (uint8_t)(rng_u32() % 100) : 0;
        size_t r0 = 2 + (labels[i] / 5) * 12 + rng_u32() % 3;
        size_t c0 = 1 + (labels[i] % 5) * 5 + rng_u32() % 2;
        for (size_t r = r0; r < r0 + 6 && r < 28; r++)
            for (size_t c = c0; c < c0 + 4 && c < 28; c++)
                img[r * 28 + c] = (uint8_t)(200 + rng_u32() % 56);
    }
    return b;
}

static uint8_t *make_labels(size_t n, size_t *size)
{
    *size = 8 + n;
    uint8_t *b = calloc(*size, 1);
    b[2] = 0x08;
    b[3] = 1;
    put_be32(b + 4, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        b[8 + i] = (uint8_t)(rng_u32() % 10);
    return b;
}

typedef struct synthetic {
    uint8_t *buf[4];
    size_t size[4];
} synthetic;

static void synthetic_make(synthetic *s, size_t n_train, size_t n_test)
{
    s->buf[1] = make_labels(n_train, &s->size[1]);
    s->buf[0] = make_images(n_train, s->buf[1] + 8, &s->size[0]);
    s->buf[3] = make_labels(n_test, &s->size[3]);
    s->buf[2] = make_images(n_test, s->buf[3] + 8, &s->size[2]);
}

static void synthetic_free(synthetic *s)
{
    for (int i = 0; i < 4; i++)
        free(s->buf[i]);
}

/* ---- idx ---------------------------------------------------------------- */
static int expect_reject(const uint8_t *buf, size_t n, size_t ndim, const char *what)
{
    char err[256] = "";
    idx_array a;
    int rc = idx_parse(&a, buf, n, ndim, err, sizeof err);
    CHECK(rc != 0, "%s was accepted", what);
    CHECK(rc == 0 || strlen(err) > 0, "%s: no error message", what);
    if (rc != 0)
        printf("  rejected %-28s -> %s\n", what, err);
    return rc;
}

static void test_idx(void)
{
    synthetic s;
    synthetic_make(&s, 20, 10);
    idx_array img, lab;
    char err[256];
    CHECK(idx_parse(&img, s.buf[0], s.size[0], 3, err, sizeof err) == 0, "valid images: %s", err);
    CHECK(idx_parse(&lab, s.buf[1], s.size[1], 1, err, sizeof err) == 0, "valid labels: %s", err);
    CHECK(idx_check_mnist(&img, &lab, err, sizeof err) == 0, "valid pair: %s", err);
    CHECK(img.count == 20 && img.item_size == 784, "dims");

    uint8_t *b = malloc(s.size[0]);
    expect_reject(s.buf[0], 0, 3, "empty file");
    expect_reject(s.buf[0], 3, 3, "3-byte file");
    expect_reject(s.buf[0], 10, 3, "truncated header");
    expect_reject(s.buf[0], s.size[0] - 1, 3, "truncated data");
    memcpy(b, s.buf[0], s.size[0]);
    b[0] = 1;
    expect_reject(b, s.size[0], 3, "bad magic");
    memcpy(b, s.buf[0], s.size[0]);
    b[2] = 0x0D;
    expect_reject(b, s.size[0], 3, "float element type");
    memcpy(b, s.buf[0], s.size[0]);
    b[3] = 2;
    expect_reject(b, s.size[0], 3, "wrong rank");
    memcpy(b, s.buf[0], s.size[0]);
    put_be32(b + 4, 0xFFFFFFFFu);
    put_be32(b + 8, 0xFFFFFFFFu);
    put_be32(b + 12, 0xFFFFFFFFu);
    expect_reject(b, s.size[0], 3, "huge dimensions");
    memcpy(b, s.buf[0], s.size[0]);
    put_be32(b + 4, 21);
    expect_reject(b, s.size[0], 3, "count larger than data");
    expect_reject(s.buf[1], s.size[1], 3, "labels read as images");
    free(b);

    /* Well-formed files that are not MNIST pairs. */
    uint8_t *lb = malloc(s.size[1]);
    memcpy(lb, s.buf[1], s.size[1]);
    lb[8 + 3] = 10;
    idx_parse(&lab, lb, s.size[1], 1, err, sizeof err);
    CHECK(idx_check_mnist(&img, &lab, err, sizeof err) != 0, "label 10 accepted");
    idx_parse(&lab, s.buf[3], s.size[3], 1, err, sizeof err);
    CHECK(idx_check_mnist(&img, &lab, err, sizeof err) != 0, "20 images with 10 labels accepted");
    free(lb);
    /* A 1-row image set of 7x9 images. */
    uint8_t small[16 + 63] = {0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 9};
    CHECK(idx_parse(&img, small, sizeof small, 3, err, sizeof err) == 0, "7x9 parse: %s", err);
    uint8_t one_label[9] = {0, 0, 8, 1, 0, 0, 0, 1, 3};
    idx_parse(&lab, one_label, sizeof one_label, 1, err, sizeof err);
    CHECK(idx_check_mnist(&img, &lab, err, sizeof err) != 0, "7x9 images accepted as MNIST");
    synthetic_free(&s);
}

/* ---- gemm --------------------------------------------------------------- */
static void test_gemm(void)
{
    if (!gemm_have_blas()) {
        printf("this build has no BLAS: nothing to compare the reference with\n");
        failures++;
        return;
    }
    const size_t M = 37, N = 150, K = 61;
    float *A = malloc(M * K * sizeof(float)), *B = malloc(K * N * sizeof(float));
    float *C0 = malloc(M * N * sizeof(float)), *C1 = malloc(M * N * sizeof(float));
    for (size_t i = 0; i < M * K; i++)
        A[i] = rng_uniform() - 0.5f;
    for (size_t i = 0; i < K * N; i++)
        B[i] = rng_uniform() - 0.5f;
    for (int threads = 1; threads <= 3; threads++) {
        gemm_set_threads(threads);
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                size_t lda = ta ? M : K, ldb = tb ? K : N;
                for (size_t i = 0; i < M * N; i++)
                    C0[i] = C1[i] = (float)i * 1e-3f;
                gemm_reference(ta, tb, M, N, K, 0.7f, A, lda, B, ldb, 0.9f, C0, N);
                gemm_set_backend(GEMM_BLAS);
                gemm_forward(ta, tb, M, N, K, 0.7f, A, lda, B, ldb, 0.9f, C1, N);
                double worst = 0.0;
                for (size_t i = 0; i < M * N; i++)
                    worst = fmax(worst, fabs((double)C0[i] - (double)C1[i]));
                /* Sums of 61 products of size <= 0.25: float rounding and a
                 * different summation order give ~1e-6; 1e-4 is generous. */
                printf("  threads %d op(A)=%s op(B)=%s: largest difference %.3g\n",
                       threads, ta ? "A^T" : "A", tb ? "B^T" : "B", worst);
                CHECK(worst < 1e-4, "BLAS and reference differ by %g", worst);
            }
    }
    /* The split path (large enough to wake the team) against one call. */
    const size_t M2 = 100, N2 = 160, K2 = 70;
    float *A2 = malloc(M2 * K2 * sizeof(float)), *B2 = malloc(N2 * K2 * sizeof(float));
    float *D0 = malloc(M2 * N2 * sizeof(float)), *D1 = malloc(M2 * N2 * sizeof(float));
    for (size_t i = 0; i < M2 * K2; i++)
        A2[i] = rng_uniform() - 0.5f;
    for (size_t i = 0; i < N2 * K2; i++)
        B2[i] = rng_uniform() - 0.5f;
    gemm_set_backend(GEMM_REFERENCE);
    gemm_set_threads(1);
    gemm_forward(0, 1, M2, N2, K2, 1.0f, A2, K2, B2, K2, 0.0f, D0, N2);
    gemm_set_threads(2);
    gemm_forward(0, 1, M2, N2, K2, 1.0f, A2, K2, B2, K2, 0.0f, D1, N2);
    CHECK(memcmp(D0, D1, M2 * N2 * sizeof(float)) == 0,
          "reference product split over 2 threads differs from 1 thread");
    gemm_set_backend(GEMM_BLAS);
    gemm_set_threads(1);
    free(A2), free(B2), free(D0), free(D1);
    free(A), free(B), free(C0), free(C1);
}

/* ---- gradient check ----------------------------------------------------- */
static double batch_loss(mlp *m, const dropout_layer *drop, const float *x,
                         const uint8_t *y, size_t B)
{
    /* Same masks every time: restore the dropout RNG state first. */
    memcpy(m->drop, drop, sizeof m->drop);
    mlp_forward(m, x, B);
    return mlp_loss(m, y, B, NULL) / (double)B;
}

static void test_gradcheck(void)
{
    const size_t units[4] = {12, 9, 7, 4}, B = 6;
    mlp m;
    CHECK(mlp_create(&m, 3, units, 0.2, 0.5, 42, B) == 0, "create");
    mlp_init_weights(&m, 42);
    for (size_t l = 0; l < 3; l++)
        for (size_t j = 0; j < units[l + 1]; j++)
            m.b[l][j] = 0.1f * (rng_uniform() - 0.3f);
    float x[6 * 12];
    uint8_t y[6];
    for (size_t i = 0; i < B * 12; i++)
        x[i] = rng_uniform();
    for (size_t i = 0; i < B; i++)
        y[i] = (uint8_t)(rng_u32() % 4);
    dropout_layer drop[MLP_MAX_LAYERS];
    memcpy(drop, m.drop, sizeof drop);

    /* Analytic gradient (beta = 0: the plain gradient). */
    float *gw[3], *gb[3];
    for (size_t l = 0; l < 3; l++) {
        gw[l] = calloc(units[l + 1] * units[l], sizeof(float));
        gb[l] = calloc(units[l + 1], sizeof(float));
    }
    batch_loss(&m, drop, x, y, B);
    size_t dropped = 0;
    for (size_t k = 0; k < B * units[1]; k++)
        dropped += m.act[1][k] == 0.0f;
    CHECK(dropped > 0, "no hidden unit was zero: the mask is not being applied");
    CHECK(mlp_backward(&m, y, B, 0.0f, gw, gb) == 0, "backward");

    /* Central differences in float with eps = 1e-2 * (|w| + 0.1): truncation
     * error O(eps^2) and rounding ~1e-7/eps, both far below the tolerance.
     * Where a ReLU pre-activation lies within eps of zero the loss has a kink
     * and the difference quotient means nothing: such a parameter is
     * recognised by its one-sided quotients disagreeing, counted, and
     * skipped; at most 2 % may be skipped (the data is fixed, so the count is
     * too). */
    double worst = 0.0;
    size_t checked = 0, kinks = 0, total = 0;
    double f0 = batch_loss(&m, drop, x, y, B);
    for (size_t l = 0; l < 3; l++) {
        size_t nw = units[l + 1] * units[l];
        for (size_t k = 0; k < nw + units[l + 1]; k++) {
            float *p = k < nw ? &m.w[l][k] : &m.b[l][k - nw];
            float ana = k < nw ? gw[l][k] : gb[l][k - nw];
            float saved = *p, eps = 1e-2f * (fabsf(saved) + 0.1f);
            *p = saved + eps;
            double up = batch_loss(&m, drop, x, y, B);
            *p = saved - eps;
            double down = batch_loss(&m, drop, x, y, B);
            *p = saved;
            total++;
            double fwd = (up - f0) / eps, bwd = (f0 - down) / eps;
            if (fabs(fwd - bwd) > 0.2 * (fabs(fwd) + fabs(bwd)) + 2e-3) {
                kinks++;
                continue;
            }
            double num = (up - down) / (2.0 * (double)eps);
            double err = fabs(num - ana) / (fabs(num) + fabs(ana) + 1e-3);
            worst = fmax(worst, err);
            checked++;
            CHECK(err < 2e-2, "layer %zu param %zu: numeric %g analytic %g", l, k, num, ana);
        }
    }
    CHECK(kinks * 50 <= total, "%zu of %zu parameters sit on a ReLU kink", kinks, total);
    printf("  %zu parameters checked (%zu on a ReLU kink skipped)\n", checked, kinks);
    printf("  %zu of %zu hidden-1 activations dropped or zero; largest relative "
           "difference %.3g\n", dropped, B * units[1], worst);
    for (size_t l = 0; l < 3; l++) {
        free(gw[l]);
        free(gb[l]);
    }
    mlp_free(&m);
}

/* Field by field: the struct has padding, which no one promises to copy. */
static int drop_equal(const dropout_layer *a, const dropout_layer *b)
{
    return a->p == b->p && a->mode == b->mode && a->seed == b->seed &&
           a->next_stream == b->next_stream && a->last_stream == b->last_stream &&
           a->last_mode == b->last_mode;
}

/* ---- micro-shards ------------------------------------------------------- */
/* Rows [lo, hi) forwarded as a shard carry exactly the rows of the whole
 * batch's activations (masks keyed by the global row), the shards' gradients
 * add up to the whole batch's, and mlp_step_done leaves the layers as one
 * training forward does. */
static void test_shards(void)
{
    const size_t units[4] = {12, 9, 7, 4}, B = 10;
    const size_t cuts[4] = {0, 3, 4, 10}; /* shards of 3, 1 and 6 rows */
    mlp m;
    CHECK(mlp_create(&m, 3, units, 0.2, 0.5, 7, B) == 0, "create");
    mlp_init_weights(&m, 7);
    float x[10 * 12];
    uint8_t y[10];
    for (size_t i = 0; i < B * 12; i++)
        x[i] = rng_uniform();
    for (size_t i = 0; i < B; i++)
        y[i] = (uint8_t)(rng_u32() % 4);
    dropout_layer before[MLP_MAX_LAYERS];
    memcpy(before, m.drop, sizeof before);
    float *gw[3], *gb[3], *sw[3], *sb[3], *act[4];
    for (size_t l = 0; l < 3; l++) {
        gw[l] = calloc(units[l + 1] * units[l], sizeof(float));
        gb[l] = calloc(units[l + 1], sizeof(float));
        sw[l] = calloc(units[l + 1] * units[l], sizeof(float));
        sb[l] = calloc(units[l + 1], sizeof(float));
    }
    CHECK(mlp_forward(&m, x, B) == 0, "forward");
    for (size_t l = 0; l <= 3; l++) {
        act[l] = malloc(B * units[l] * sizeof(float));
        memcpy(act[l], m.act[l], B * units[l] * sizeof(float));
    }
    CHECK(mlp_backward(&m, y, B, 0.0f, gw, gb) == 0, "backward");
    dropout_layer after[MLP_MAX_LAYERS];
    memcpy(after, m.drop, sizeof after);

    memcpy(m.drop, before, sizeof before);
    size_t differ = 0;
    double worst = 0.0;
    for (size_t k = 0; k < 3; k++) {
        size_t lo = cuts[k], rows = cuts[k + 1] - cuts[k];
        float *tw[3], *tb[3];
        for (size_t l = 0; l < 3; l++) {
            tw[l] = calloc(units[l + 1] * units[l], sizeof(float));
            tb[l] = calloc(units[l + 1], sizeof(float));
        }
        CHECK(mlp_forward_shard(&m, x + lo * 12, rows, lo) == 0, "shard forward");
        for (size_t l = 0; l <= 3; l++)
            differ += memcmp(m.act[l], act[l] + lo * units[l], rows * units[l] * sizeof(float)) != 0;
        CHECK(mlp_backward_shard(&m, y + lo, rows, lo, B, tw, tb) == 0, "shard backward");
        for (size_t l = 0; l < 3; l++) {
            for (size_t i = 0; i < units[l + 1] * units[l]; i++)
                sw[l][i] += tw[l][i];
            for (size_t i = 0; i < units[l + 1]; i++)
                sb[l][i] += tb[l][i];
            free(tw[l]);
            free(tb[l]);
        }
    }
    CHECK(differ == 0, "%zu shard activations differ from the rows of the whole batch", differ);
    for (size_t l = 0; l < 3; l++) {
        for (size_t i = 0; i < units[l + 1] * units[l]; i++)
            worst = fmax(worst, fabs(sw[l][i] - gw[l][i]) / (fabs(gw[l][i]) + 1e-6));
        for (size_t i = 0; i < units[l + 1]; i++)
            worst = fmax(worst, fabs(sb[l][i] - gb[l][i]) / (fabs(gb[l][i]) + 1e-6));
    }
    CHECK(worst < 1e-4, "shard gradients sum to %g relative off the whole batch's", worst);
    for (size_t l = 0; l < 3; l++)
        CHECK(drop_equal(&m.drop[l], &before[l]), "a shard forward moved dropout layer %zu", l);
    CHECK(mlp_step_done(&m) == 0, "step done");
    for (size_t l = 0; l < 3; l++)
        CHECK(drop_equal(&m.drop[l], &after[l]), "layer %zu after the step differs from one forward", l);
    printf("  3 shards (3, 1, 6 rows): activations = rows of the whole batch, bitwise; "
           "gradient sum within %.2g (relative)\n", worst);
    for (size_t l = 0; l < 3; l++) {
        free(gw[l]);
        free(gb[l]);
        free(sw[l]);
        free(sb[l]);
    }
    for (size_t l = 0; l <= 3; l++)
        free(act[l]);
    mlp_free(&m);
}

/* ---- evaluation mode ---------------------------------------------------- */
static void test_eval(void)
{
    const size_t units[3] = {20, 16, 5}, B = 8;
    mlp m, plain;
    CHECK(mlp_create(&m, 2, units, 0.2, 0.5, 7, B) == 0, "create");
    CHECK(mlp_create(&plain, 2, units, 0.0, 0.0, 7, B) == 0, "create");
    mlp_init_weights(&m, 7);
    mlp_init_weights(&plain, 7);
    float x[8 * 20], out1[8 * 5], out2[8 * 5];
    for (size_t i = 0; i < B * 20; i++)
        x[i] = rng_uniform();
    mlp_set_mode(&m, DROPOUT_EVAL);
    mlp_forward(&m, x, B);
    memcpy(out1, m.act[2], sizeof out1);
    mlp_forward(&m, x, B);
    memcpy(out2, m.act[2], sizeof out2);
    CHECK(memcmp(out1, out2, sizeof out1) == 0, "two evaluation forwards differ");
    CHECK(m.drop[0].next_stream == 0 && m.drop[1].next_stream == 0,
          "evaluation consumed dropout streams");
    /* Evaluation mode is the identity: same as the network without dropout. */
    mlp_forward(&plain, x, B);
    CHECK(memcmp(out1, plain.act[2], sizeof out1) == 0,
          "evaluation forward differs from the same network without dropout");
    /* Training mode is random: two passes differ. */
    mlp_set_mode(&m, DROPOUT_TRAIN);
    mlp_forward(&m, x, B);
    memcpy(out1, m.act[2], sizeof out1);
    mlp_forward(&m, x, B);
    CHECK(memcmp(out1, m.act[2], sizeof out1) != 0, "two training forwards are equal");
    mlp_free(&m);
    mlp_free(&plain);
}

/* ---- training ----------------------------------------------------------- */
static train_config tiny_config(size_t epochs)
{
    train_config c;
    memset(&c, 0, sizeof c);
    c.n_hidden = 2;
    c.hidden[0] = 48;
    c.hidden[1] = 32;
    c.p_input = 0.2;
    c.p_hidden = 0.5;
    c.max_norm = 3.5;
    c.epochs = epochs;
    c.batch = 20;
    c.lr = 0.5;
    c.lr_decay = 0.95;
    c.momentum_start = 0.5;
    c.momentum_end = 0.9;
    c.momentum_epochs = 2;
    c.seed = 5;
    c.gemm = gemm_get_backend();
    c.threads = 1;
    c.micro_shards = 1;
    return c;
}

static void test_smoke(void)
{
    synthetic s;
    synthetic_make(&s, 300, 100);
    mnist_data d;
    char err[256];
    CHECK(mnist_data_from_idx(&d, s.buf[0], s.size[0], s.buf[1], s.size[1], s.buf[2],
                              s.size[2], s.buf[3], s.size[3], 0, err, sizeof err) == 0,
          "load: %s", err);
    train_config c = tiny_config(1);
    train_state st;
    CHECK(train_state_create(&st, &c, d.n_train, d.dim) == 0, "state");
    size_t before = mlp_count_errors(&st.model, d.test_x, d.test_y, d.n_test, NULL);
    CHECK(train_epoch(&st, &d, NULL, NULL) == 0, "epoch");
    const epoch_record *r = &st.history[0];
    printf("  one epoch: loss %.4f, train error %.1f%%, test error %.1f%% (%.1f%% before)\n",
           r->loss, r->train_error, r->test_error, 100.0 * (double)before / (double)d.n_test);
    CHECK(isfinite(r->loss) && r->loss > 0, "loss %g", r->loss);
    /* Chance is 90 % error; the synthetic classes are easy (one epoch at
     * these settings reaches a few percent). */
    CHECK(r->test_error < 50.0, "test error %.1f%% after one epoch", r->test_error);
    /* Every unit's incoming weights respect the max-norm constraint. */
    for (size_t l = 0; l < st.model.n_layers; l++)
        for (size_t j = 0; j < st.model.units[l + 1]; j++) {
            double sq = 0;
            for (size_t k = 0; k < st.model.units[l]; k++) {
                double w = st.model.w[l][j * st.model.units[l] + k];
                sq += w * w;
            }
            CHECK(sqrt(sq) <= 3.5 * (1 + 1e-5), "layer %zu unit %zu norm %g", l, j, sqrt(sq));
        }
    train_state_free(&st);
    mnist_data_free(&d);
    synthetic_free(&s);
}

/* A data set of n_train + n_test synthetic images. */
static void synthetic_data(mnist_data *d, size_t n_train, size_t n_test)
{
    synthetic s;
    char err[256];
    synthetic_make(&s, n_train, n_test);
    CHECK(mnist_data_from_idx(d, s.buf[0], s.size[0], s.buf[1], s.size[1], s.buf[2],
                              s.size[2], s.buf[3], s.size[3], 0, err, sizeof err) == 0,
          "load: %s", err);
    synthetic_free(&s);
}


static int states_equal(const train_state *a, const train_state *b)
{
    int same = a->epoch == b->epoch && a->n_train == b->n_train;
    for (size_t l = 0; same && l < a->model.n_layers; l++) {
        size_t nw = a->model.units[l + 1] * a->model.units[l] * sizeof(float);
        size_t nb = a->model.units[l + 1] * sizeof(float);
        same = memcmp(a->model.w[l], b->model.w[l], nw) == 0 &&
               memcmp(a->model.vw[l], b->model.vw[l], nw) == 0 &&
               memcmp(a->model.b[l], b->model.b[l], nb) == 0 &&
               memcmp(a->model.vb[l], b->model.vb[l], nb) == 0 &&
               drop_equal(&a->model.drop[l], &b->model.drop[l]);
    }
    same = same && memcmp(a->order, b->order, a->n_train * sizeof(uint32_t)) == 0;
    for (size_t e = 0; same && e < a->epoch; e++)
        same = a->history[e].loss == b->history[e].loss &&
               a->history[e].train_error == b->history[e].train_error &&
               a->history[e].test_error == b->history[e].test_error;
    return same;
}

static void test_resume(int threads)
{
    gemm_set_threads(threads);
    dropout_set_threads((unsigned)threads);
    mnist_data d;
    char err[256];
    synthetic_data(&d, 200, 60);
    train_config c = tiny_config(3);
    c.threads = threads;
    train_state full, part;
    train_state_create(&full, &c, d.n_train, d.dim);
    for (int e = 0; e < 3; e++)
        train_epoch(&full, &d, NULL, NULL);

    const char *path = "test_mnist_resume.ckpt";
    train_state_create(&part, &c, d.n_train, d.dim);
    train_epoch(&part, &d, NULL, NULL);
    CHECK(checkpoint_save(&part, path, err, sizeof err) == 0, "save: %s", err);
    train_state_free(&part);
    /* A fresh process would start like this: new state, then the file. */
    train_state_create(&part, &c, d.n_train, d.dim);
    CHECK(checkpoint_load(&part, path, err, sizeof err) == 0, "load: %s", err);
    CHECK(part.epoch == 1, "resumed at epoch %zu", part.epoch);
    while (part.epoch < 3)
        train_epoch(&part, &d, NULL, NULL);
    int same = states_equal(&full, &part);
    CHECK(same, "%d threads: resumed run differs from uninterrupted run", threads);
    printf("  %d thread(s): 1 epoch + checkpoint + 2 epochs %s 3 epochs, bitwise\n", threads,
           same ? "==" : "!=");

    /* A corrupted or foreign checkpoint is refused. */
    FILE *f = fopen(path, "r+b");
    fseek(f, 200, SEEK_SET);
    fputc(0x55, f);
    fclose(f);
    CHECK(checkpoint_load(&part, path, err, sizeof err) < 0, "corrupt checkpoint accepted");
    printf("  corrupt checkpoint -> %s\n", err);
    CHECK(checkpoint_load(&part, "no-such-file.ckpt", err, sizeof err) == 1, "missing file");
    remove(path);
    train_state_free(&full);
    train_state_free(&part);
    mnist_data_free(&d);
}

/* ---- checkpoints that lie ---------------------------------------------- */
static int write_file(const char *path, const uint8_t *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    fwrite(b, 1, n, f);
    return fclose(f);
}

static uint8_t *read_all(const char *path, size_t *n)
{
    uint8_t *buf = NULL;
    char err[256];
    if (checkpoint_read_file(path, &buf, n, err, sizeof err) != 0)
        fprintf(stderr, "FAIL: %s\n", err);
    return buf;
}

/* Writes buf with its FNV-1a trailer recomputed: the checksum is right. */
static void write_resealed(const char *path, uint8_t *buf, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i + 8 < n; i++) {
        h ^= buf[i];
        h *= 0x100000001b3ull;
    }
    memcpy(buf + n - 8, &h, 8);
    write_file(path, buf, n);
}

static void expect_refused(train_state *fresh, const char *path, const char *want,
                           const char *what)
{
    char err[1024] = "";
    train_state copy;
    train_state_create(&copy, &fresh->cfg, fresh->n_train, fresh->model.units[0]);
    int rc = checkpoint_load(fresh, path, err, sizeof err);
    CHECK(rc < 0, "%s: accepted", what);
    CHECK(rc >= 0 || strstr(err, want) != NULL, "%s: message '%s' lacks '%s'", what, err, want);
    CHECK(states_equal(fresh, &copy), "%s: the refused load changed the state", what);
    printf("  %-34s -> %s\n", what, rc < 0 ? err : "ACCEPTED");
    train_state_free(&copy);
}

static void test_consistency(void)
{
    mnist_data d;
    char err[256];
    synthetic_data(&d, 200, 60);
    train_config c = tiny_config(3);
    train_state st;
    train_state_create(&st, &c, d.n_train, d.dim);
    train_epoch(&st, &d, NULL, NULL);
    const char *good = "test_mnist_consistency.ckpt", *bad = "test_mnist_consistency_bad.ckpt";
    CHECK(checkpoint_save(&st, good, err, sizeof err) == 0, "save: %s", err);
    const size_t L = st.model.n_layers;
    size_t n = 0;
    uint8_t *orig = read_all(good, &n);
    uint8_t *buf = malloc(n);
    /* Located from the end, where the layout is: order, per layer w b vw vb,
     * per layer a dropout_layer_save() state, the checksum. */
    size_t layers_at = n - 8 - L * DROPOUT_LAYER_STATE_BYTES, params = 0;
    for (size_t l = 0; l < L; l++)
        params += 2 * (st.model.units[l + 1] * st.model.units[l] + st.model.units[l + 1]);
    size_t weights_at = layers_at - 4 * params, order_at = weights_at - 4 * st.n_train;

    train_state fresh;
    train_state_create(&fresh, &c, d.n_train, d.dim);
    CHECK(checkpoint_load(&fresh, good, err, sizeof err) == 0, "good checkpoint refused: %s", err);
    train_state_free(&fresh);

    /* Hidden dropout layer 1 with p = 0.9 in a p = 0.5 run. */
    memcpy(buf, orig, n);
    double p9 = 0.9;
    memcpy(buf + layers_at + DROPOUT_LAYER_STATE_BYTES + 8, &p9, 8);
    write_resealed(bad, buf, n);
    train_state_create(&fresh, &c, d.n_train, d.dim);
    expect_refused(&fresh, bad, "p = 0.9", "dropout layer p = 0.9");
    /* A layer whose stream count is not that of its epoch. */
    memcpy(buf, orig, n);
    buf[layers_at + 24] ^= 1;
    write_resealed(bad, buf, n);
    expect_refused(&fresh, bad, "stream", "dropout layer at another stream");
    /* A NaN weight. */
    memcpy(buf, orig, n);
    float nan = NAN;
    memcpy(buf + weights_at + 4 * 7, &nan, 4);
    write_resealed(bad, buf, n);
    expect_refused(&fresh, bad, "not finite", "NaN weight");
    /* A duplicated data-order entry. */
    memcpy(buf, orig, n);
    memcpy(buf + order_at + 4, buf + order_at, 4);
    write_resealed(bad, buf, n);
    expect_refused(&fresh, bad, "twice", "duplicated data-order entry");
    train_state_free(&fresh);

    /* The good file under other options: each named, with both values. */
    static const struct {
        const char *want;
        int field;
    } changes[] = {{"--lr 0.25 differs from the checkpoint's --lr 0.5", 0},
                   {"--lr-decay 0.5 differs from the checkpoint's --lr-decay 0.95", 1},
                   {"--max-norm 2 differs from the checkpoint's --max-norm 3.5", 2},
                   {"--momentum 0.5,0.8,2 differs from the checkpoint's --momentum 0.5,0.9,2", 3},
                   {"--gemm reference differs from the checkpoint's --gemm openblas", 4},
                   {"--threads 3 differs from the checkpoint's --threads 1", 5},
                   {"--hidden 48,31 differs from the checkpoint's --hidden 48,32", 6}};
    for (size_t k = 0; k < sizeof changes / sizeof changes[0]; k++) {
        train_config o = c;
        switch (changes[k].field) {
        case 0: o.lr = 0.25; break;
        case 1: o.lr_decay = 0.5; break;
        case 2: o.max_norm = 2; break;
        case 3: o.momentum_end = 0.8; break;
        case 4: o.gemm = o.gemm == GEMM_BLAS ? GEMM_REFERENCE : GEMM_BLAS; break;
        case 5: o.threads = 3; break;
        default: o.hidden[1] = 31; break;
        }
        if (changes[k].field == 4 && c.gemm != GEMM_BLAS)
            continue; /* the message names openblas; this build has no BLAS */
        train_state_create(&fresh, &o, d.n_train, d.dim);
        expect_refused(&fresh, good, changes[k].want, changes[k].want);
        train_state_free(&fresh);
    }
    remove(good);
    remove(bad);
    free(orig);
    free(buf);
    train_state_free(&st);
    mnist_data_free(&d);
}

/* ---- helpers for the CLI tests ------------------------------------------ */

static int write_idx(const char *dir, int truncated)
{
    char parent[1024];
    snprintf(parent, sizeof parent, "%s", dir);
    for (char *p = parent + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(parent, 0755);
            *p = '/';
        }
    mkdir(dir, 0755);
    synthetic s;
    synthetic_make(&s, 300, 100);
    static const char *const names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    int rc = 0;
    for (int i = 0; i < 4; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t n = truncated && i == 0 ? s.size[0] / 2 : s.size[i];
        rc |= write_file(path, s.buf[i], n);
    }
    synthetic_free(&s);
    return rc == 0 ? 0 : 1;
}

static int ckpt_equal(const char *a, const char *b)
{
    /* The checkpoints of the CLI test: its network and data size. */
    train_config c = tiny_config(3);
    c.hidden[0] = 32;
    c.hidden[1] = 16;
    c.batch = 25;
    c.seed = 3;
    c.threads = 2;
    c.lr = 0.05; /* the default preset's schedule */
    c.lr_decay = 0.98;
    c.momentum_end = 0.95;
    c.momentum_epochs = 20;
    train_state sa, sb;
    char err[512];
    train_state_create(&sa, &c, 300, 784);
    train_state_create(&sb, &c, 300, 784);
    if (checkpoint_load(&sa, a, err, sizeof err) != 0 ||
        checkpoint_load(&sb, b, err, sizeof err) != 0) {
        fprintf(stderr, "FAIL: %s\n", err);
        return 1;
    }
    int same = states_equal(&sa, &sb);
    printf("%s and %s: %s (epoch %zu)\n", a, b, same ? "identical state" : "DIFFERENT", sa.epoch);
    train_state_free(&sa);
    train_state_free(&sb);
    return same ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_mnist idx|gemm|gradcheck|eval|smoke|resume|consistency|shards|write-idx DIR|ckpt-equal A B\n");
        return 2;
    }
    const char *what = argv[1];
    if (strcmp(what, "write-idx") == 0 && argc >= 3)
        return write_idx(argv[2], argc >= 4 && strcmp(argv[3], "truncated") == 0);
    if (strcmp(what, "ckpt-equal") == 0 && argc == 4)
        return ckpt_equal(argv[2], argv[3]);
    if (strcmp(what, "idx") == 0)
        test_idx();
    else if (strcmp(what, "gemm") == 0)
        test_gemm();
    else if (strcmp(what, "gradcheck") == 0)
        test_gradcheck();
    else if (strcmp(what, "eval") == 0)
        test_eval();
    else if (strcmp(what, "smoke") == 0)
        test_smoke();
    else if (strcmp(what, "shards") == 0)
        test_shards();
    else if (strcmp(what, "consistency") == 0)
        test_consistency();
    else if (strcmp(what, "resume") == 0) {
        test_resume(1);
        test_resume(2);
    } else {
        fprintf(stderr, "unknown test '%s'\n", what);
        return 2;
    }
    pool_set_threads(1);
    printf("%s: %s\n", what, failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
