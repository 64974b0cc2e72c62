/*
 * fuzz_slices.c — libFuzzer target: slice additivity (docs/SPEC.md section 2).
 *
 * Property: for any params, n, dtype and any split of [first, first + n)
 * into consecutive pieces, calling forward (with its packed mask), the
 * regenerating backward or dropout_mask once per piece, each with its own
 * offset added to params.first, gives the whole call's bits: the outputs
 * concatenated are the whole output, and bit j of a piece's mask is bit
 * offset + j of the whole mask (with the piece's unused high bits zero).
 * Now and then n is large enough for the threads to split the call, with
 * 1 to 4 threads.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dropout.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_N ((size_t)1 << 17)
#define MAX_PIECES 12

enum { OP_FORWARD, OP_BACKWARD_REGEN, OP_MASK, OP_COUNT };

static int call(int op, int dtype, const dropout_params *p, uint8_t *y, const uint8_t *x,
                size_t n, uint8_t *mask, size_t mask_size)
{
    if (op == OP_MASK)
        return dropout_mask(p, n, mask, mask_size);
    if (op == OP_FORWARD) {
        switch (dtype) {
        case 0: return dropout_forward_f32(p, (float *)y, (const float *)x, n, mask, mask_size);
        case 1: return dropout_forward_f64(p, (double *)y, (const double *)x, n, mask, mask_size);
        case 2: return dropout_forward_bf16(p, (uint16_t *)y, (const uint16_t *)x, n, mask,
                                            mask_size);
        default: return dropout_forward_f16(p, (uint16_t *)y, (const uint16_t *)x, n, mask,
                                            mask_size);
        }
    }
    switch (dtype) {
    case 0: return dropout_backward_regen_f32(p, (float *)y, (const float *)x, n);
    case 1: return dropout_backward_regen_f64(p, (double *)y, (const double *)x, n);
    case 2: return dropout_backward_regen_bf16(p, (uint16_t *)y, (const uint16_t *)x, n);
    default: return dropout_backward_regen_f16(p, (uint16_t *)y, (const uint16_t *)x, n);
    }
}

static int bit(const uint8_t *mask, size_t k)
{
    return mask[k / 8] >> (k % 8) & 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = {data, size, 0};
    int op = (int)fuzz_pick(&in, OP_COUNT);
    int dtype = (int)fuzz_pick(&in, 4);
    size_t esize = dropout_dtype_size(dtype);
    dropout_params params = {0};
    params.p = fuzz_p(&in);
    if (!(params.p >= 0.0 && params.p <= 1.0))
        params.p = 0.5; /* additivity is about valid calls */
    params.mode = fuzz_pick(&in, 5) == 0 ? DROPOUT_EVAL : DROPOUT_TRAIN;
    params.seed = fuzz_u64(&in);
    params.stream = fuzz_u64(&in);
    size_t n = fuzz_pick(&in, 32) == 0 ? 65536 + fuzz_u16(&in) % 8192 : fuzz_u16(&in) % 2100;
    params.first = fuzz_first(&in, n);
    if (n > 0 && params.first > UINT64_MAX - (n - 1))
        params.first = UINT64_MAX - (n - 1); /* the last slice: in range */
    /* Threads split only calls of 2^16 elements or more. */
    unsigned threads = n >= 65536 ? 1 + fuzz_pick(&in, 4) : 1;
    size_t cuts[MAX_PIECES + 1];
    size_t pieces = 1 + fuzz_pick(&in, MAX_PIECES);
    cuts[0] = 0;
    for (size_t k = 1; k < pieces; k++) {
        size_t step = fuzz_pick(&in, 3) == 0 ? fuzz_u8(&in) % 9 : fuzz_u16(&in);
        cuts[k] = cuts[k - 1] + (n ? step % (n + 1) : 0);
        if (cuts[k] > n)
            cuts[k] = n;
    }
    cuts[pieces] = n;

    size_t bytes = n * esize, mask_bytes = dropout_mask_bytes(n);
    uint8_t *x = malloc(bytes + 1), *whole = malloc(bytes + 1), *parts = malloc(bytes + 1);
    uint8_t *whole_mask = calloc(mask_bytes + 1, 1), *piece_mask = malloc(mask_bytes + 1);
    if (!x || !whole || !parts || !whole_mask || !piece_mask)
        abort();
    fuzz_fill(&in, x, bytes);
    if (threads != dropout_threads())
        dropout_set_threads(threads);
    int status = call(op, dtype, &params, whole, x, n, whole_mask, mask_bytes);
    if (status != DROPOUT_OK)
        abort(); /* a valid call in range */
    for (size_t k = 0; k < pieces; k++) {
        size_t start = cuts[k], count = cuts[k + 1] - cuts[k];
        dropout_params piece = params;
        piece.first = params.first + start;
        size_t piece_bytes = dropout_mask_bytes(count);
        memset(piece_mask, 0xa5, piece_bytes);
        if (call(op, dtype, &piece, parts + start * esize, x + start * esize, count, piece_mask,
                 piece_bytes) != DROPOUT_OK)
            abort();
        if (op == OP_BACKWARD_REGEN || (op == OP_FORWARD && params.mode == DROPOUT_EVAL))
            continue; /* no mask written */
        for (size_t j = 0; j < count; j++)
            if (bit(piece_mask, j) != bit(whole_mask, start + j))
                abort(); /* the piece's mask is not its slice of the whole */
        for (size_t j = count; j < 8 * piece_bytes; j++)
            if (bit(piece_mask, j))
                abort(); /* unused high bits must be zero */
    }
    if (op != OP_MASK && memcmp(whole, parts, bytes) != 0)
        abort(); /* the pieces' outputs are not the whole output */
    free(x);
    free(whole);
    free(parts);
    free(whole_mask);
    free(piece_mask);
    return 0;
}
