/*
 * train.h — the training run: data, schedule, epochs, checkpoints.
 *
 * A run is a pure function of its config and seed at a fixed thread count:
 * the weight init, the data order of every epoch and every dropout mask come
 * from counter-based Philox streams, and a checkpoint holds all state that
 * evolves (weights, momentum, epoch, data order, dropout RNG state, history),
 * so an interrupted and resumed run ends bitwise identical.
 */
#ifndef MNIST_TRAIN_H
#define MNIST_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "mlp.h"

typedef struct mnist_data {
    size_t n_train, n_test, dim;
    float *train_x, *test_x; /* n x dim, pixels / 255 */
    uint8_t *train_y, *test_y;
} mnist_data;

/* Loads the four IDX files from dir (already verified); keeps the first
 * train_size training images if 0 < train_size < 60000.  Returns 0, or -1
 * with err. */
int mnist_data_load(mnist_data *d, const char *dir, size_t train_size,
                    char *err, size_t err_size);
/* Builds the data set from IDX buffers in memory (tests). */
int mnist_data_from_idx(mnist_data *d, const uint8_t *tri, size_t tri_n,
                        const uint8_t *trl, size_t trl_n, const uint8_t *tei,
                        size_t tei_n, const uint8_t *tel, size_t tel_n,
                        size_t train_size, char *err, size_t err_size);
void mnist_data_free(mnist_data *d);

typedef struct train_config {
    size_t n_hidden;
    size_t hidden[MLP_MAX_LAYERS - 1];
    double p_input, p_hidden;
    double max_norm;       /* <= 0: off                              */
    size_t epochs;
    size_t batch;
    double lr, lr_decay;   /* lr at epoch e = lr * lr_decay^e        */
    double momentum_start, momentum_end;
    size_t momentum_epochs; /* linear ramp length                    */
    uint64_t seed;
} train_config;

typedef struct epoch_record {
    double loss;        /* mean training cross-entropy (dropout active) */
    double train_error; /* % of training minibatch rows misclassified, dropout active */
    double test_error;  /* % test error, deterministic network       */
    double seconds;     /* wall time of the epoch                    */
} epoch_record;

typedef struct train_state {
    train_config cfg;
    mlp model;
    size_t epoch;      /* epochs completed                          */
    size_t n_train;
    uint32_t *order;   /* the data order of the last epoch          */
    epoch_record *history; /* cfg.epochs entries, first `epoch` valid */
    size_t history_cap;
} train_state;

int train_state_create(train_state *s, const train_config *cfg, size_t n_train,
                       size_t dim);
void train_state_free(train_state *s);

float train_learning_rate(const train_config *cfg, size_t epoch);
float train_momentum(const train_config *cfg, size_t epoch);

/* Called after every minibatch with (batches done, batches in epoch). */
typedef void (*train_progress_fn)(void *ctx, size_t done, size_t total);

/* Runs one epoch and appends its record. */
int train_epoch(train_state *s, const mnist_data *d, train_progress_fn progress,
                void *ctx);

/* Atomic checkpoint: write FILE.tmp, fsync, rename over FILE, fsync dir. */
int checkpoint_save(const train_state *s, const char *path, char *err,
                    size_t err_size);
/* Loads into a state created with the same config; architecture, batch,
 * seed and data size must match.  Returns 0, 1 if the file does not exist,
 * or -1 with err. */
int checkpoint_load(train_state *s, const char *path, char *err,
                    size_t err_size);

#endif
