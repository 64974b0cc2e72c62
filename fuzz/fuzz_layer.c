/*
 * fuzz_layer.c — libFuzzer target: dropout_layer_load on arbitrary bytes.
 *
 * Property: for any 48 bytes, dropout_layer_load either rejects them with
 * DROPOUT_ERROR_BAD_STATE and leaves the layer untouched, or loads a valid
 * layer that dropout_layer_save writes back as the very same 48 bytes (so no
 * two states load as one, and nothing read is ignored), and that layer runs
 * a forward and a backward without error.
 *
 * Input: the 48 state bytes (shorter inputs are padded with zeros; byte 48,
 * if present, picks a start from a valid saved state instead, so that the
 * fuzzer reaches the accepting paths: byte 49 on XORs into one byte of it).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dropout.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t state[DROPOUT_LAYER_STATE_BYTES] = {0};
    if (size > DROPOUT_LAYER_STATE_BYTES && data[DROPOUT_LAYER_STATE_BYTES] & 1) {
        /* A valid state, then the remaining bytes as (position, xor) edits. */
        dropout_layer base;
        uint64_t seed = 0;
        memcpy(&seed, data, size < 8 ? size : 8);
        dropout_layer_init(&base, (double)(data[8 % size] % 5) / 4.0, seed);
        base.next_stream = seed ^ 0x5555;
        dropout_layer_save(&base, state);
        for (size_t k = DROPOUT_LAYER_STATE_BYTES + 1; k + 1 < size; k += 2)
            state[data[k] % DROPOUT_LAYER_STATE_BYTES] ^= data[k + 1];
    } else {
        memcpy(state, data, size < sizeof state ? size : sizeof state);
    }

    dropout_layer layer, before;
    memset(&layer, 0xa5, sizeof layer);
    before = layer;
    int status = dropout_layer_load(&layer, state);
    if (status != DROPOUT_OK) {
        if (status != DROPOUT_ERROR_BAD_STATE || memcmp(&layer, &before, sizeof layer) != 0)
            abort(); /* the wrong error, or a rejected state half-loaded */
        return 0;
    }
    uint8_t again[DROPOUT_LAYER_STATE_BYTES];
    if (dropout_layer_save(&layer, again) != DROPOUT_OK || memcmp(again, state, sizeof state) != 0)
        abort(); /* accepted but not round-tripped */

    float x[19], y[19], dx[19];
    for (int k = 0; k < 19; k++)
        x[k] = (float)k - 9.0f;
    if (dropout_layer_forward_f32(&layer, y, x, 19) != DROPOUT_OK ||
        dropout_layer_backward_f32(&layer, dx, y, 19) != DROPOUT_OK)
        abort(); /* a loaded layer must be usable */
    return 0;
}
