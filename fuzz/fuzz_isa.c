/*
 * fuzz_isa.c — libFuzzer target: any call of the API on every ISA against the
 * scalar reference.
 *
 * Property: for arbitrary operations (tier 2 forward / backward / mask, the
 * shaped family with every variant, the fused bias + residual op), dtypes
 * (valid and not), modes, p, first, sizes, shapes, mask sizes, NULL pointers
 * and buffer layouts (disjoint, misaligned, in place, overlapping), every ISA
 * this machine runs returns the same status as dropout_set_isa("scalar") and
 * leaves the same bytes in memory; and a call that fails leaves every byte
 * untouched.
 *
 * All buffers of a call live in one arena, filled from the input (so the
 * data holds NaNs with payloads, infinities, subnormals): the comparison is
 * of the whole arena, outputs, inputs and the gaps between them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dropout.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ARENA 12288
#define SLOTS 5 /* A, B (n elements), C (d elements), D (n elements), M (mask) */

enum {
    OP_FORWARD,
    OP_BACKWARD_MASK,
    OP_BACKWARD_REGEN,
    OP_MASK,
    OP_SHAPED_FORWARD,
    OP_SHAPED_BACKWARD_MASK,
    OP_SHAPED_BACKWARD_REGEN,
    OP_FUSED_FORWARD,
    OP_FUSED_BACKWARD_MASK,
    OP_FUSED_BACKWARD_REGEN,
    OP_COUNT
};

typedef struct call {
    int op, dtype, variant;
    dropout_params params;
    dropout_shape shape;
    size_t n, d, mask_size;
    size_t offset[SLOTS]; /* where each slot starts in the arena */
    unsigned null_slots;  /* bit k: slot k is passed as NULL */
} call;

static void *slot(uint8_t *arena, const call *c, int k)
{
    return c->null_slots >> k & 1 ? NULL : arena + c->offset[k];
}

static int run(const call *c, uint8_t *arena)
{
    const dropout_params *p = &c->params;
    void *a = slot(arena, c, 0), *b = slot(arena, c, 1), *cc = slot(arena, c, 2);
    void *dd = slot(arena, c, 3);
    uint8_t *m = slot(arena, c, 4);
    size_t n = c->n, ms = c->mask_size;
    switch (c->op) {
    case OP_FORWARD:
        switch (c->dtype) {
        case DROPOUT_DTYPE_F32: return dropout_forward_f32(p, a, b, n, m, ms);
        case DROPOUT_DTYPE_F64: return dropout_forward_f64(p, a, b, n, m, ms);
        case DROPOUT_DTYPE_BF16: return dropout_forward_bf16(p, a, b, n, m, ms);
        default: return dropout_forward_f16(p, a, b, n, m, ms);
        }
    case OP_BACKWARD_MASK:
        switch (c->dtype) {
        case DROPOUT_DTYPE_F32: return dropout_backward_mask_f32(p, a, b, n, m, ms);
        case DROPOUT_DTYPE_F64: return dropout_backward_mask_f64(p, a, b, n, m, ms);
        case DROPOUT_DTYPE_BF16: return dropout_backward_mask_bf16(p, a, b, n, m, ms);
        default: return dropout_backward_mask_f16(p, a, b, n, m, ms);
        }
    case OP_BACKWARD_REGEN:
        switch (c->dtype) {
        case DROPOUT_DTYPE_F32: return dropout_backward_regen_f32(p, a, b, n);
        case DROPOUT_DTYPE_F64: return dropout_backward_regen_f64(p, a, b, n);
        case DROPOUT_DTYPE_BF16: return dropout_backward_regen_bf16(p, a, b, n);
        default: return dropout_backward_regen_f16(p, a, b, n);
        }
    case OP_MASK:
        return dropout_mask(p, n, m, ms);
    case OP_SHAPED_FORWARD:
        return dropout_shaped_forward(p, c->variant, c->dtype, &c->shape, a, b, m, ms);
    case OP_SHAPED_BACKWARD_MASK:
        return dropout_shaped_backward_mask(p, c->variant, c->dtype, &c->shape, a, b, m, ms);
    case OP_SHAPED_BACKWARD_REGEN:
        return dropout_shaped_backward_regen(p, c->variant, c->dtype, &c->shape, a, b);
    case OP_FUSED_FORWARD:
        return dropout_bias_residual_forward(p, c->dtype, a, b, cc, dd, n, c->d, m, ms);
    case OP_FUSED_BACKWARD_MASK:
        return dropout_bias_residual_backward_mask(p, c->dtype, a, cc, dd, b, n, c->d, m, ms);
    default:
        return dropout_bias_residual_backward_regen(p, c->dtype, a, cc, dd, b, n, c->d);
    }
}

/* Decodes a call; 0 if it does not fit the arena (the input is skipped). */
static int decode(fuzz_input *in, call *c)
{
    memset(c, 0, sizeof *c);
    c->op = (int)fuzz_pick(in, OP_COUNT);
    unsigned dtype = fuzz_u8(in);
    c->dtype = dtype < 250 ? (int)(dtype % 4) : (int)dtype - 252; /* -2 ... 3 */
    unsigned variant = fuzz_u8(in);
    c->variant = variant < 250 ? (int)(variant % 3) : (int)variant - 252;
    static const int modes[] = {DROPOUT_TRAIN, DROPOUT_TRAIN, DROPOUT_TRAIN, DROPOUT_EVAL,
                                DROPOUT_EVAL, 2, -1};
    c->params.mode = modes[fuzz_pick(in, sizeof modes / sizeof modes[0])];
    c->params.p = fuzz_p(in);
    c->params.seed = fuzz_pick(in, 2) ? fuzz_u64(in) : fuzz_u8(in);
    c->params.stream = fuzz_pick(in, 2) ? fuzz_u64(in) : fuzz_u8(in);

    size_t esize = dropout_dtype_size(c->dtype);
    if (esize == 0)
        esize = 4;
    size_t mask_elements;
    if (c->op >= OP_SHAPED_FORWARD && c->op <= OP_SHAPED_BACKWARD_REGEN) {
        c->shape.ndim = fuzz_pick(in, 5) == 0 ? fuzz_pick(in, DROPOUT_MAX_DIMS + 2)
                                              : 1 + fuzz_pick(in, 4);
        size_t total = 1;
        for (size_t k = 0; k < c->shape.ndim && k < DROPOUT_MAX_DIMS; k++) {
            c->shape.dims[k] = fuzz_pick(in, 13);
            total *= c->shape.dims[k];
        }
        c->shape.broadcast = fuzz_u8(in);
        if (fuzz_pick(in, 8) == 0)
            c->shape.broadcast |= 1u << fuzz_pick(in, 32);
        if (dropout_shape_check(&c->shape) == DROPOUT_OK) {
            c->n = dropout_shape_elements(&c->shape);
            mask_elements = dropout_shape_mask_elements(&c->shape);
        } else {
            c->n = total > 1024 ? 1024 : total;
            mask_elements = c->n;
        }
    } else if (c->op >= OP_FUSED_FORWARD) {
        c->d = fuzz_pick(in, 40);
        c->n = c->d * fuzz_pick(in, 12);
        if (fuzz_pick(in, 8) == 0)
            c->n += fuzz_pick(in, 4); /* not whole rows: an error */
        mask_elements = c->n;
    } else {
        c->n = fuzz_pick(in, 4) == 0 ? fuzz_u8(in) % 9 : fuzz_u16(in) % 1100;
        mask_elements = c->n;
    }
    c->params.first = fuzz_first(in, mask_elements);
    size_t mask_bytes = dropout_mask_bytes(mask_elements);
    switch (fuzz_pick(in, 6)) {
    case 0: c->mask_size = mask_bytes ? mask_bytes - 1 : 0; break; /* too small */
    case 1: c->mask_size = mask_bytes + fuzz_u8(in) % 9; break;
    default: c->mask_size = mask_bytes;
    }

    size_t bytes[SLOTS] = {c->n * esize, c->n * esize, c->d * esize, c->n * esize, c->mask_size};
    size_t total = 0;
    for (int k = 0; k < SLOTS; k++)
        total += bytes[k] + 16;
    if (total > ARENA)
        return 0;
    unsigned layout = fuzz_pick(in, 8);
    size_t end = fuzz_u8(in) % 64;
    for (int k = 0; k < SLOTS; k++) {
        if (layout < 4) { /* disjoint, each slot misaligned by 0 ... 7 bytes or aligned */
            size_t gap = layout < 2 ? (8 - end % 8) % 8 : fuzz_u8(in) % 8;
            c->offset[k] = end + gap;
            end = c->offset[k] + bytes[k];
        } else if (layout < 6) { /* some slots the same buffer (in place) */
            int alias = (int)fuzz_pick(in, SLOTS + 2);
            c->offset[k] = alias < k ? c->offset[alias] : end;
            end = c->offset[k] + bytes[k] > end ? c->offset[k] + bytes[k] : end;
        } else { /* anywhere: partial overlaps */
            size_t room = ARENA - bytes[k];
            c->offset[k] = (size_t)fuzz_u16(in) % (room + 1);
            if (layout == 6)
                c->offset[k] &= ~(size_t)7;
        }
        if (c->offset[k] + bytes[k] > ARENA)
            return 0;
    }
    if (fuzz_pick(in, 4) == 0)
        c->null_slots = 1u << 4; /* no mask: optional for forwards, needed by gaussian */
    if (fuzz_pick(in, 10) == 0)
        c->null_slots = fuzz_u8(in);
    return 1;
}

/* Says what went wrong before the abort, so a reproducer explains itself. */
static void fail(const call *c, const char *isa, int want, int got, const uint8_t *expected,
                 const uint8_t *actual)
{
    size_t at = 0;
    while (at < ARENA && expected[at] == actual[at])
        at++;
    fprintf(stderr,
            "fuzz_isa: %s disagrees with scalar: op %d dtype %d variant %d mode %d p %a seed "
            "%llu stream %llu first %llu n %zu d %zu mask_size %zu null %#x offsets %zu %zu "
            "%zu %zu %zu ndim %zu dims %zu %zu %zu %zu broadcast %#x; status %d vs %d",
            isa, c->op, c->dtype, c->variant, c->params.mode, c->params.p,
            (unsigned long long)c->params.seed, (unsigned long long)c->params.stream,
            (unsigned long long)c->params.first, c->n, c->d, c->mask_size, c->null_slots,
            c->offset[0], c->offset[1], c->offset[2], c->offset[3], c->offset[4], c->shape.ndim,
            c->shape.dims[0], c->shape.dims[1], c->shape.dims[2], c->shape.dims[3],
            (unsigned)c->shape.broadcast, want, got);
    if (at < ARENA)
        fprintf(stderr, "; first differing byte at arena offset %zu: %#04x vs %#04x", at,
                expected[at], actual[at]);
    fputc('\n', stderr);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const isas[] = {"avx2", "avx512", "neon"};
    fuzz_input in = {data, size, 0};
    call c;
    if (!decode(&in, &c))
        return 0;
    static uint8_t initial[ARENA], reference[ARENA], other[ARENA];
    fuzz_fill(&in, initial, ARENA);

    memcpy(reference, initial, ARENA);
    if (dropout_set_isa("scalar") != DROPOUT_OK)
        abort();
    int want = run(&c, reference);
    if (want != DROPOUT_OK && memcmp(reference, initial, ARENA) != 0)
        fail(&c, "scalar (an error that wrote)", DROPOUT_OK, want, initial, reference);
    for (size_t k = 0; k < sizeof isas / sizeof isas[0]; k++) {
        if (dropout_set_isa(isas[k]) != DROPOUT_OK)
            continue; /* not on this machine */
        memcpy(other, initial, ARENA);
        int got = run(&c, other);
        if (got != want || memcmp(other, reference, ARENA) != 0)
            fail(&c, isas[k], want, got, reference, other);
    }
    dropout_set_isa(NULL);
    return 0;
}
