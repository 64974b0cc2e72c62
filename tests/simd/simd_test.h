/*
 * simd_test.h — what the SIMD tests share: a CHECK macro that counts
 * failures, a deterministic PRNG (splitmix64), test inputs full of special
 * values, and buffers with guard bytes on both sides, so a kernel that
 * writes one byte too many is caught.
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

static long simd_failures = 0;
static long simd_checks = 0;

/* Counts a check; on failure says where and what, and goes on (up to a
 * limit, so one broken kernel does not flood the log). */
#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        simd_checks++;                                                          \
        if (!(cond)) {                                                          \
            if (++simd_failures <= 20) {                                        \
                fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
                fprintf(stderr, __VA_ARGS__);                                   \
                fputc('\n', stderr);                                            \
            }                                                                   \
        }                                                                       \
    } while (0)

#define REQUIRE(cond, ...)                                                      \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "FATAL %s:%d: %s: ", __FILE__, __LINE__, #cond);    \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
            exit(2);                                                            \
        }                                                                       \
    } while (0)

static inline int simd_exit_code(const char *name)
{
    if (simd_failures)
        printf("%s: FAILED %ld of %ld checks\n", name, simd_failures, simd_checks);
    else
        printf("%s: OK (%ld checks)\n", name, simd_checks);
    return simd_failures ? 1 : 0;
}

/* Sanitizer builds run 5-20x slower: the large cases shrink there. */
#ifdef DROPOUT_TEST_SANITIZE
#define SIMD_LARGE_SCALE 8
#else
#define SIMD_LARGE_SCALE 1
#endif

/* ---- splitmix64 ------------------------------------------------------------ */

static inline uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
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
