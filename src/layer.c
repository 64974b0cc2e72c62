/*
 * layer.c — the module object: p, mode and the RNG state as plain data.
 *
 * Every training forward takes stream next_stream and increments it; the
 * layer remembers the stream and mode of its most recent forward so that
 * backward regenerates exactly that mask.  No hidden state: the struct is
 * everything, and dropout_layer_save() writes all of it.
 */
#include <string.h>

#include "dropout.h"
#include "fpenv.h"
#include "ops.h"

static const uint8_t state_magic[4] = {'D', 'R', 'P', 'L'};
#define STATE_VERSION 1u

static int valid_p(double p)
{
    return p >= 0.0 && p <= 1.0;
}

static int valid_mode(int mode)
{
    return mode == DROPOUT_TRAIN || mode == DROPOUT_EVAL;
}

static int check_layer(const dropout_layer *layer)
{
    if (layer == NULL)
        return DROPOUT_ERROR_NULL_POINTER;
    if (!valid_p(layer->p))
        return DROPOUT_ERROR_INVALID_P;
    if (!valid_mode(layer->mode) || !valid_mode(layer->last_mode))
        return DROPOUT_ERROR_INVALID_MODE;
    return DROPOUT_OK;
}

int dropout_layer_init(dropout_layer *layer, double p, uint64_t seed)
{
    if (layer == NULL)
        return DROPOUT_ERROR_NULL_POINTER;
    if (!valid_p(p))
        return DROPOUT_ERROR_INVALID_P;
    layer->p = p;
    layer->mode = DROPOUT_TRAIN;
    layer->seed = seed;
    layer->next_stream = 0;
    layer->last_stream = 0;
    layer->last_mode = DROPOUT_EVAL;
    return DROPOUT_OK;
}

int dropout_layer_set_mode(dropout_layer *layer, int mode)
{
    if (layer == NULL)
        return DROPOUT_ERROR_NULL_POINTER;
    if (!valid_mode(mode))
        return DROPOUT_ERROR_INVALID_MODE;
    layer->mode = mode;
    return DROPOUT_OK;
}

int dropout_layer_set_p(dropout_layer *layer, double p)
{
    if (layer == NULL)
        return DROPOUT_ERROR_NULL_POINTER;
    if (!valid_p(p))
        return DROPOUT_ERROR_INVALID_P;
    layer->p = p;
    return DROPOUT_OK;
}

static dropout_params forward_params(const dropout_layer *layer)
{
    dropout_params params = {.p = layer->p, .seed = layer->seed,
                             .stream = layer->next_stream, .first = 0, .mode = layer->mode};
    return params;
}

static dropout_params backward_params(const dropout_layer *layer)
{
    dropout_params params = {.p = layer->p, .seed = layer->seed,
                             .stream = layer->last_stream, .first = 0, .mode = layer->last_mode};
    return params;
}

/* After a successful forward: remember what it did, advance the stream. */
static void record_forward(dropout_layer *layer)
{
    layer->last_mode = layer->mode;
    if (layer->mode == DROPOUT_TRAIN)
        layer->last_stream = layer->next_stream++;
}

static FPENV_WORK int layer_forward(dropout_layer *layer, int dtype, void *y, const void *x,
                                    size_t n)
{
    int status = check_layer(layer);
    if (status != DROPOUT_OK)
        return status;
    dropout_params params = forward_params(layer);
    status = ops_elementwise(&params, dtype, y, x, n, NULL, NULL, 0, OPS_FORWARD);
    if (status == DROPOUT_OK)
        record_forward(layer);
    return status;
}

static FPENV_WORK int layer_backward(const dropout_layer *layer, int dtype, void *dx,
                                     const void *dy, size_t n)
{
    int status = check_layer(layer);
    if (status != DROPOUT_OK)
        return status;
    dropout_params params = backward_params(layer);
    return ops_elementwise(&params, dtype, dx, dy, n, NULL, NULL, 0, OPS_BACKWARD_REGEN);
}

int dropout_layer_forward_f32(dropout_layer *layer, float *y, const float *x, size_t n)
{
    FPENV_RETURN(int, layer_forward(layer, DROPOUT_DTYPE_F32, y, x, n));
}

int dropout_layer_forward_f64(dropout_layer *layer, double *y, const double *x, size_t n)
{
    FPENV_RETURN(int, layer_forward(layer, DROPOUT_DTYPE_F64, y, x, n));
}

int dropout_layer_backward_f32(const dropout_layer *layer, float *dx, const float *dy, size_t n)
{
    FPENV_RETURN(int, layer_backward(layer, DROPOUT_DTYPE_F32, dx, dy, n));
}

int dropout_layer_backward_f64(const dropout_layer *layer, double *dx, const double *dy, size_t n)
{
    FPENV_RETURN(int, layer_backward(layer, DROPOUT_DTYPE_F64, dx, dy, n));
}

/* ---- serialization: 48 bytes, little-endian --------------------------------
 *   0  magic "DRPL"       4  version (u32)     8  p (IEEE double bits)
 *  16  seed              24  next_stream      32  last_stream
 *  40  mode (u8)         41  last_mode (u8)   42  six zero bytes
 */
static void put_u64(uint8_t *out, uint64_t v)
{
    for (int k = 0; k < 8; k++)
        out[k] = (uint8_t)(v >> (8 * k));
}

static uint64_t get_u64(const uint8_t *in)
{
    uint64_t v = 0;
    for (int k = 0; k < 8; k++)
        v |= (uint64_t)in[k] << (8 * k);
    return v;
}

int dropout_layer_save(const dropout_layer *layer, uint8_t out[DROPOUT_LAYER_STATE_BYTES])
{
    int status = check_layer(layer);
    if (status != DROPOUT_OK)
        return status;
    if (out == NULL)
        return DROPOUT_ERROR_NULL_POINTER;
    uint8_t buf[DROPOUT_LAYER_STATE_BYTES] = {0};
    uint64_t p_bits;
    memcpy(&p_bits, &layer->p, sizeof p_bits);
    memcpy(buf, state_magic, 4);
    buf[4] = (uint8_t)STATE_VERSION;
    put_u64(buf + 8, p_bits);
    put_u64(buf + 16, layer->seed);
    put_u64(buf + 24, layer->next_stream);
    put_u64(buf + 32, layer->last_stream);
    buf[40] = (uint8_t)layer->mode;
    buf[41] = (uint8_t)layer->last_mode;
    memcpy(out, buf, sizeof buf);
    return DROPOUT_OK;
}

int dropout_layer_load(dropout_layer *layer, const uint8_t in[DROPOUT_LAYER_STATE_BYTES])
{
    if (layer == NULL || in == NULL)
        return DROPOUT_ERROR_NULL_POINTER;
    if (memcmp(in, state_magic, 4) != 0 || in[4] != STATE_VERSION || in[5] || in[6] || in[7])
        return DROPOUT_ERROR_BAD_STATE;
    for (int k = 42; k < DROPOUT_LAYER_STATE_BYTES; k++)
        if (in[k] != 0)
            return DROPOUT_ERROR_BAD_STATE;
    dropout_layer loaded;
    uint64_t p_bits = get_u64(in + 8);
    memcpy(&loaded.p, &p_bits, sizeof loaded.p);
    loaded.seed = get_u64(in + 16);
    loaded.next_stream = get_u64(in + 24);
    loaded.last_stream = get_u64(in + 32);
    loaded.mode = in[40];
    loaded.last_mode = in[41];
    if (!valid_p(loaded.p) || !valid_mode(loaded.mode) || !valid_mode(loaded.last_mode))
        return DROPOUT_ERROR_BAD_STATE;
    *layer = loaded;
    return DROPOUT_OK;
}
