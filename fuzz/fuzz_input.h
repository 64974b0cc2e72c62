/*
 * fuzz_input.h — reading a fuzzer's bytes as the choices of one test case.
 *
 * Every target turns its input into decisions (which call, which sizes,
 * which p) with these readers; past the end of the input every reader
 * returns zeros, so any prefix of an input is itself a valid input (the
 * replay driver, replay_main.c, runs every prefix of each seed).
 */
#ifndef DROPOUT_FUZZ_INPUT_H
#define DROPOUT_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct fuzz_input {
    const uint8_t *data;
    size_t size, pos;
} fuzz_input;

static inline uint8_t fuzz_u8(fuzz_input *in)
{
    return in->pos < in->size ? in->data[in->pos++] : 0;
}

static inline uint16_t fuzz_u16(fuzz_input *in)
{
    uint16_t v = fuzz_u8(in);
    return (uint16_t)(v | fuzz_u8(in) << 8);
}

static inline uint64_t fuzz_u64(fuzz_input *in)
{
    uint64_t v = 0;
    for (int k = 0; k < 8; k++)
        v |= (uint64_t)fuzz_u8(in) << (8 * k);
    return v;
}

/* A choice among `count` (> 0) alternatives. */
static inline unsigned fuzz_pick(fuzz_input *in, unsigned count)
{
    return fuzz_u8(in) % count;
}

/* A drop probability: mostly interesting fixed values (the edges of [0, 1],
 * invalid ones, values near a threshold step), sometimes raw bits. */
static inline double fuzz_p(fuzz_input *in)
{
    static const double table[] = {0.5,   0.0,       1.0,   0.1,       0.9,  1e-9,
                                   -0.0,  0x1p-33,   0x1p-32, 1 - 0x1p-33, 0.75, 0.999999,
                                   -0.1,  1.5,       0.0 / 0.0, 1.0 / 0.0, 0.3,  0.25};
    unsigned k = fuzz_u8(in);
    if (k < 2 * sizeof table / sizeof table[0])
        return table[k % (sizeof table / sizeof table[0])];
    uint64_t bits = fuzz_u64(in);
    double p;
    memcpy(&p, &bits, sizeof p);
    return p;
}

/* A mask index: small, raw, or within a few elements of 2^64 (the range
 * check), relative to n elements. */
static inline uint64_t fuzz_first(fuzz_input *in, size_t n)
{
    switch (fuzz_pick(in, 4)) {
    case 0:
        return fuzz_u16(in);
    case 1:
        return fuzz_u64(in);
    case 2:
        return UINT64_MAX - (uint64_t)n + 1 - fuzz_u8(in) % 4; /* last slice, or past it */
    default:
        return (uint64_t)fuzz_u16(in) << 32 | 0xfffffff0u; /* counter word carries */
    }
}

/* Fills `size` bytes from the rest of the input, repeated; then (or if the
 * input is exhausted) a fixed xorshift sequence.  Raw bytes make every
 * float: NaNs with payloads, infinities, subnormals, -0. */
static inline void fuzz_fill(fuzz_input *in, uint8_t *out, size_t size)
{
    size_t left = in->size - in->pos;
    uint64_t x = 0x9e3779b97f4a7c15ull ^ left;
    for (size_t k = 0; k < size; k++) {
        if (left > 0 && k < 4 * left) {
            out[k] = in->data[in->pos + k % left];
        } else {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out[k] = (uint8_t)(x >> 24);
        }
    }
}

#endif
