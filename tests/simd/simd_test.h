/*
 * simd_test.h — what the SIMD tests add to test_util.h (CHECK, REQUIRE,
 * splitmix64): test inputs full of special values, and buffers with guard
 * bytes on both sides, so a kernel that writes one byte too many is caught.
 */
#ifndef DROPOUT_SIMD_TEST_H
#define DROPOUT_SIMD_TEST_H

#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../test_util.h"

/* Sanitizer builds run 5-20x slower: the large cases shrink there. */
#ifdef DROPOUT_TEST_SANITIZE
#define SIMD_LARGE_SCALE 8
#else
#define SIMD_LARGE_SCALE 1
#endif

/* ---- splitmix64 ------------------------------------------------------------ */

/* test_util.h's generator on a bare state word. */
static inline uint64_t rng_next(uint64_t *state)
{
    test_rng rng = {*state};
    uint64_t value = test_rng_next(&rng);
    *state = rng.state;
    return value;
}

/* ---- inputs: ordinary numbers with NaN, +-Inf, +-0, subnormals mixed in --- */

static inline float test_value_f32(uint64_t *state)
{
    uint64_t r = rng_next(state);
    switch (r % 16) {
    case 0: return NAN;
    case 1: return -INFINITY;
    case 2: return INFINITY;
    case 3: return -0.0f;
    case 4: return 1e-40f; /* subnormal */
    case 5: return 3.0e38f; /* overflows when scaled */
    default: return (float)((double)(int32_t)(r >> 32) / 65536.0);
    }
}

static inline double test_value_f64(uint64_t *state)
{
    uint64_t r = rng_next(state);
    switch (r % 16) {
    case 0: return NAN;
    case 1: return -INFINITY;
    case 2: return INFINITY;
    case 3: return -0.0;
    case 4: return 1e-310; /* subnormal */
    case 5: return 1.7e308;
    default: return (double)(int64_t)r / 4294967296.0;
    }
}

/* ---- guarded buffers ------------------------------------------------------- */

#define GUARD_BYTES 64
#define GUARD_FILL 0xA5

/* bytes + guards on both sides, the usable part starting `misalign` bytes
 * after a 64-byte boundary. */
typedef struct guarded {
    unsigned char *base;
    unsigned char *data;
    size_t bytes;
} guarded;

static inline guarded guarded_alloc(size_t bytes, size_t misalign)
{
    guarded g;
    g.bytes = bytes;
    g.base = (unsigned char *)malloc(bytes + 2 * GUARD_BYTES + 64 + misalign);
    REQUIRE(g.base != NULL, "malloc of %zu bytes failed", bytes);
    uintptr_t aligned = ((uintptr_t)g.base + GUARD_BYTES + 63) & ~(uintptr_t)63;
    g.data = (unsigned char *)aligned + misalign;
    memset(g.base, GUARD_FILL, bytes + 2 * GUARD_BYTES + 64 + misalign);
    return g;
}

/* Both guards still intact? */
static inline int guarded_intact(const guarded *g)
{
    for (size_t i = 1; i <= GUARD_BYTES; i++)
        if (g->data[-(ptrdiff_t)i] != GUARD_FILL || g->data[g->bytes + i - 1] != GUARD_FILL)
            return 0;
    return 1;
}

static inline void guarded_free(guarded *g)
{
    free(g->base);
    g->base = g->data = NULL;
}

/* Index of the first differing byte, or -1. */
static inline long first_difference(const void *a, const void *b, size_t bytes)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    for (size_t i = 0; i < bytes; i++)
        if (x[i] != y[i])
            return (long)i;
    return -1;
}

#endif /* DROPOUT_SIMD_TEST_H */
