/*
 * mlp.h — a multilayer perceptron with ReLU hidden layers, softmax
 * cross-entropy, and dropout on the input and on every hidden layer through
 * the library's module object (dropout_layer).
 *
 * Shapes (B = rows in the batch, n[l] = units of layer l, n[0] = 784):
 *   w[l]  n[l+1] x n[l]   row j = the incoming weights of unit j (max-norm
 *                         constrains each row)
 *   b[l]  n[l+1]
 *   act[0]   B x n[0]     input after input dropout
 *   act[l]   B x n[l]     hidden l after bias, ReLU and dropout
 *   act[L]   B x n[L]     softmax probabilities
 */
#ifndef MNIST_MLP_H
#define MNIST_MLP_H

#include <stddef.h>
#include <stdint.h>

#include "dropout.h"

#define MLP_MAX_LAYERS 8 /* weight layers */

typedef struct mlp {
    size_t n_layers;                  /* L: weight layers                */
    size_t units[MLP_MAX_LAYERS + 1]; /* n[0] .. n[L]                    */
    float *w[MLP_MAX_LAYERS], *b[MLP_MAX_LAYERS];
    float *vw[MLP_MAX_LAYERS], *vb[MLP_MAX_LAYERS]; /* momentum buffers  */
    /* drop[0] acts on the input, drop[l] on hidden layer l (1..L-1). */
    dropout_layer drop[MLP_MAX_LAYERS];
    size_t batch_cap;
    float *act[MLP_MAX_LAYERS + 1];
    float *dact[MLP_MAX_LAYERS + 1];
} mlp;

/* units[0..n_layers]; p_input for drop[0], p_hidden for the others; seed
 * keys both the weight initialization and the dropout masks. */
int mlp_create(mlp *m, size_t n_layers, const size_t *units, double p_input,
               double p_hidden, uint64_t seed, size_t batch_cap);
void mlp_free(mlp *m);

/* Weights ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) from Philox keyed by seed,
 * biases and momentum zero. */
void mlp_init_weights(mlp *m, uint64_t seed);

/* DROPOUT_TRAIN or DROPOUT_EVAL on every dropout layer. */
void mlp_set_mode(mlp *m, int mode);

/* x: B x n[0] row-major.  Leaves softmax probabilities in act[L]. */
int mlp_forward(mlp *m, const float *x, size_t B);

/* Cross-entropy (sum over the batch) and misclassified count of the
 * probabilities now in act[L]. */
double mlp_loss(const mlp *m, const uint8_t *labels, size_t B, size_t *errors);

/* Gradient of the mean cross-entropy of the last forward:
 *     gw[l] = beta * gw[l] + dL/dw[l],   gb[l] likewise.
 * beta = 0 gives the plain gradient; beta = momentum with gw = vw turns it
 * into the momentum update v = mu v + g without a separate pass. */
int mlp_backward(mlp *m, const uint8_t *labels, size_t B, float beta,
                 float *const *gw, float *const *gb);

/* Micro-shards of a minibatch (data parallelism): rows [row0, row0 + B) of
 * a batch of batch_rows rows.  The forward uses each dropout layer's next
 * stream at mask index row0 * width: exactly the rows of the whole batch's
 * masks, whatever the cut, without touching the layer; the backward writes
 * this shard's part of the gradient of the whole batch's mean loss
 * (gw = dL/dw, no momentum).  mlp_step_done then advances every layer's
 * stream once, as one training forward of the whole batch would. */
int mlp_forward_shard(mlp *m, const float *x, size_t B, size_t row0);
int mlp_backward_shard(mlp *m, const uint8_t *labels, size_t B, size_t row0,
                       size_t batch_rows, float *const *gw, float *const *gb);
int mlp_step_done(mlp *m);

/* w -= lr * v, then each row of w scaled down to L2 norm max_norm if it is
 * longer (max_norm <= 0: no constraint). */
void mlp_update(mlp *m, float lr, float max_norm);

/* One SGD-with-momentum step: forward (train mode), backward into the
 * momentum buffers, update.  Returns the summed loss; *errors counted. */
double mlp_train_step(mlp *m, const float *x, const uint8_t *labels, size_t B,
                      float lr, float momentum, float max_norm, size_t *errors);

/* Misclassified count of the deterministic network (evaluation mode) over n
 * rows; the dropout layers' state is left as it was. */
size_t mlp_count_errors(mlp *m, const float *x, const uint8_t *labels,
                        size_t n, double *loss_sum);

/* Monte-Carlo model averaging: for each test row, average the softmax of
 * K stochastic passes (training-mode dropout) and count errors, for every
 * K in ks[0..nk) (ascending).  Uses a copy of the dropout state, keyed by
 * mc_seed, so training state is untouched. */
void mlp_mc_errors(mlp *m, const float *x, const uint8_t *labels, size_t n,
                   const int *ks, size_t nk, uint64_t mc_seed, size_t *errors);

size_t mlp_param_count(const mlp *m);

#endif
