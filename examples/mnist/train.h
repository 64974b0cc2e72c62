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

#include "gemm.h"
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
    /* How the products are computed: part of what decides the bits, so a
     * checkpoint records them and a resume must repeat them. */
    gemm_backend gemm;
    int threads;
    /* Every minibatch is cut into this many micro-shards (rows split as
     * evenly as possible, in order) whose gradients are summed in shard
     * order; 1: one product over the whole batch.  The result depends on
     * it, never on how many ranks compute the shards. */
    size_t micro_shards;
} train_config;

/* The ranks of a data-parallel run (NULL or size 1: one process).  Rank r
 * computes micro-shards [r S/size, (r+1) S/size) of every minibatch. */
typedef struct train_comm {
    int rank, size;
    /* Every rank passes `bytes` bytes; out receives size * bytes, in rank
     * order.  0 or -1. */
    int (*allgather)(void *ctx, const void *in, void *out, size_t bytes);
    /* Rank 0's buf[0..bytes) to every rank.  0 or -1. */
    int (*broadcast)(void *ctx, void *buf, size_t bytes);
    void *ctx;
} train_comm;

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
    const train_comm *comm; /* set after create; NULL: one process      */
    /* micro_shards > 1: one slot per micro-shard (16 bytes of loss and
     * error count, then the gradient of every layer's w and b), those this
     * rank computes and all of them gathered. */
    float *slots, *gathered;
    size_t slot_floats;
} train_state;

int train_state_create(train_state *s, const train_config *cfg, size_t n_train,
                       size_t dim);
void train_state_free(train_state *s);

float train_learning_rate(const train_config *cfg, size_t epoch);
float train_momentum(const train_config *cfg, size_t epoch);

/* Called after every minibatch with (batches done, batches in epoch). */
typedef void (*train_progress_fn)(void *ctx, size_t done, size_t total);

/* Runs one epoch and appends its record.  With a comm every rank calls it
 * at the same time; the test error is evaluated on rank 0 only (0 on the
 * others). */
int train_epoch(train_state *s, const mnist_data *d, train_progress_fn progress,
                void *ctx);

/* The options that decide a run's result, one "--name value" line each
 * (--hidden, --p-input, --p-hidden, --max-norm, --batch, --lr, --lr-decay,
 * --momentum, --train-size, --seed, --gemm, --threads, --micro-shards), in
 * the form the
 * command line takes them.  A checkpoint stores this text; a resume compares
 * it line by line.  Returns the length, or -1 if cap is too small. */
int train_describe(const train_state *s, char *buf, size_t cap);

/* Minibatches (training steps) per epoch. */
size_t train_steps_per_epoch(const train_state *s);

/* SHA-256 of the model's weights as 64 lowercase hex digits: layer by layer
 * from the input, each layer's weight matrix row-major (row j = unit j's
 * incoming weights) and then its biases, every value an IEEE-754 binary32 in
 * little-endian byte order (on any host).  Momentum buffers are not
 * included.  Returns 0, or -1 if libcrypto fails. */
int train_weights_sha256(const mlp *m, char hex[65]);

/* Atomic checkpoint: write FILE.tmp, fsync, rename over FILE, fsync dir. */
int checkpoint_save(const train_state *s, const char *path, char *err,
                    size_t err_size);
/* Loads into a state created with the same config.  Refused (-1 with err,
 * one sentence) unless every line of train_describe() matches the file's
 * (the first option that differs is named with both values), the checksum
 * holds, and the stored state is one this configuration can reach: every
 * dropout layer has the run's p and seed and is at the stream count of its
 * epoch, weights and momentum are finite, the data order is a permutation,
 * the history is in range.  Returns 0, 1 if the file does not exist, or -1;
 * on -1 the state is untouched. */
int checkpoint_load(train_state *s, const char *path, char *err,
                    size_t err_size);
/* A checkpoint file's bytes (malloc'd): 0, 1 if it does not exist, or -1
 * with err. */
int checkpoint_read_file(const char *path, uint8_t **buf, size_t *n, char *err,
                         size_t err_size);
/* checkpoint_load() from a checkpoint's bytes in memory (name: for
 * messages). */
int checkpoint_load_bytes(train_state *s, const uint8_t *buf, size_t n,
                          const char *name, char *err, size_t err_size);

#endif
