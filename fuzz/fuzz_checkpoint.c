/*
 * fuzz_checkpoint.c — libFuzzer target: the MNIST demo's checkpoint loader
 * (examples/mnist/checkpoint.c, checkpoint_load_bytes), called as it is.
 *
 * Property: for any bytes, loading into a small run's state either fails
 * with a sentence and leaves the state untouched, or succeeds with a state
 * that checkpoint_save writes back as the very same bytes (nothing in the
 * file is ignored, and two files never load as one state).
 *
 * The FNV-1a checksum would stop a fuzzer at the door, so byte 0 of the
 * input decides: bit 0 set starts from a valid checkpoint of the run (after
 * one epoch) and applies the rest of the input as (offset, xor) edits;
 * bit 1 set rewrites the checksum of the result, so the edits reach every
 * later check.  Otherwise the rest of the input is the file.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static train_state state;
static uint8_t *base, *snapshot;
static size_t base_size, snapshot_size;
static char path[64];

/* Every part of the state checkpoint_load_bytes may write, one after the
 * other, for snapshot and restore. */
#define STATE_PARTS (4 * MLP_MAX_LAYERS + 3)
static size_t parts(void *ptr[STATE_PARTS], size_t bytes[STATE_PARTS])
{
    mlp *m = &state.model;
    size_t k = 0;
    ptr[k] = state.history, bytes[k++] = state.history_cap * sizeof(epoch_record);
    ptr[k] = state.order, bytes[k++] = state.n_train * sizeof(uint32_t);
    ptr[k] = m->drop, bytes[k++] = sizeof m->drop;
    for (size_t l = 0; l < m->n_layers; l++) {
        size_t nw = m->units[l + 1] * m->units[l] * sizeof(float);
        size_t nb = m->units[l + 1] * sizeof(float);
        ptr[k] = m->w[l], bytes[k++] = nw;
        ptr[k] = m->b[l], bytes[k++] = nb;
        ptr[k] = m->vw[l], bytes[k++] = nw;
        ptr[k] = m->vb[l], bytes[k++] = nb;
    }
    return k;
}

/* direction 0: state -> snapshot; 1: snapshot -> state; 2: compare (0 if equal) */
static int copy_state(int direction)
{
    void *ptr[STATE_PARTS];
    size_t bytes[STATE_PARTS], at = 0;
    size_t count = parts(ptr, bytes);
    int differ = 0;
    for (size_t k = 0; k < count; k++) {
        if (direction == 0)
            memcpy(snapshot + at, ptr[k], bytes[k]);
        else if (direction == 1)
            memcpy(ptr[k], snapshot + at, bytes[k]);
        else
            differ |= memcmp(ptr[k], snapshot + at, bytes[k]) != 0;
        at += bytes[k];
    }
    if (direction == 0)
        memcpy(snapshot + at, &state.epoch, sizeof state.epoch);
    else if (direction == 1)
        memcpy(&state.epoch, snapshot + at, sizeof state.epoch);
    else
        differ |= memcmp(&state.epoch, snapshot + at, sizeof state.epoch) != 0;
    return differ;
}

static uint8_t *save_bytes(size_t *n)
{
    char err[512];
    uint8_t *bytes = NULL;
    if (checkpoint_save(&state, path, err, sizeof err) != 0 ||
        checkpoint_read_file(path, &bytes, n, err, sizeof err) != 0)
        abort();
    return bytes;
}

static void remove_file(void)
{
    remove(path);
}

/* A run of 5 images of 4 pixels, network 4-3-10, one epoch done. */
static void setup(void)
{
    train_config cfg = {0};
    cfg.n_hidden = 1;
    cfg.hidden[0] = 3;
    cfg.p_input = 0.2;
    cfg.p_hidden = 0.5;
    cfg.epochs = 3;
    cfg.batch = 2;
    cfg.lr = 0.1;
    cfg.lr_decay = 1.0;
    cfg.momentum_start = cfg.momentum_end = 0.5;
    cfg.seed = 7;
    if (train_state_create(&state, &cfg, 5, 4) != 0)
        abort();
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/fuzz-ckpt-%ld", tmp && strlen(tmp) < 32 ? tmp : "/tmp",
             (long)getpid());
    /* The state one epoch of training reaches (its shape, not its values). */
    uint64_t steps = train_steps_per_epoch(&state);
    state.epoch = 1;
    state.history[0] = (epoch_record){0.5, 20.0, 30.0, 0.25};
    for (uint32_t i = 0; i < 5; i++)
        state.order[i] = (i * 3) % 5;
    for (size_t l = 0; l < state.model.n_layers; l++) {
        state.model.drop[l].next_stream = steps;
        state.model.drop[l].last_stream = steps - 1;
        state.model.drop[l].last_mode = DROPOUT_TRAIN;
    }
    base = save_bytes(&base_size);
    atexit(remove_file);
    void *ptr[STATE_PARTS];
    size_t bytes[STATE_PARTS], count = parts(ptr, bytes);
    snapshot_size = sizeof state.epoch;
    for (size_t k = 0; k < count; k++)
        snapshot_size += bytes[k];
    snapshot = malloc(snapshot_size);
    if (snapshot == NULL)
        abort();
    /* The valid checkpoint loads (else the target tests nothing). */
    char err[512];
    if (checkpoint_load_bytes(&state, base, base_size, "base", err, sizeof err) != 0)
        abort();
    copy_state(0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (base == NULL)
        setup();
    if (size < 1)
        return 0;
    uint8_t *file;
    size_t n;
    if (data[0] & 1) {
        n = base_size;
        file = malloc(n);
        if (file == NULL)
            abort();
        memcpy(file, base, n);
        for (size_t k = 1; k + 2 < size; k += 3) /* (16-bit offset, xor) edits */
            file[(data[k] | (size_t)data[k + 1] << 8) % n] ^= data[k + 2];
        if (data[0] & 2) { /* a right checksum for the edited bytes */
            uint64_t h = 0xcbf29ce484222325ull;
            for (size_t k = 0; k + 8 < n; k++) {
                h ^= file[k];
                h *= 0x100000001b3ull;
            }
            memcpy(file + n - 8, &h, 8);
        }
    } else {
        n = size - 1;
        file = malloc(n ? n : 1); /* exact size: ASan sees any overread */
        if (file == NULL)
            abort();
        memcpy(file, data + 1, n);
    }
    char err[1024] = "";
    int status = checkpoint_load_bytes(&state, file, n, "fuzz", err, sizeof err);
    if (status != 0) {
        if (status != -1 || err[0] == '\0' || strchr(err, '\n') != NULL || copy_state(2) != 0)
            abort(); /* not one sentence, or a refused file changed the state */
    } else {
        size_t again_size;
        uint8_t *again = save_bytes(&again_size);
        if (again_size != n || memcmp(again, file, n) != 0)
            abort(); /* accepted, but not what the loaded state saves */
        free(again);
        copy_state(1); /* the next input starts from the same state */
    }
    free(file);
    return 0;
}
