/*
 * test_util.h — what every core test shares: CHECK macros that count
 * failures and say what was compared, a deterministic PRNG (splitmix64), bit
 * views of floats, and an independent implementation of mask stream v1
 * (docs/SPEC.md section 2) built on the public dropout_philox4x32_10 only.
 *
 * A test prints what it compared and the first mismatch or the largest
 * difference, then returns test_exit_code(): non-zero if any CHECK failed.
 */
#ifndef DROPOUT_TEST_UTIL_H
#define DROPOUT_TEST_UTIL_H

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dropout.h"

static long test_failures = 0;
static long test_checks = 0;

/* Reports a failed condition with its location; continues the test so that
 * one run shows every broken rule (the first TEST_PRINT_LIMIT are printed, so
 * one broken kernel does not flood the log; all are counted). */
#define TEST_PRINT_LIMIT 50
#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        test_checks++;                                                          \
        if (!(cond) && ++test_failures <= TEST_PRINT_LIMIT) {                   \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);     \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
        }                                                                       \
    } while (0)

/* A call must return `expected` (a dropout_status). */
#define CHECK_STATUS(call, expected)                                            \
    do {                                                                        \
        int status_ = (call);                                                   \
        CHECK(status_ == (expected), "%s returned %d (%s), expected %d (%s)",  \
              #call, status_, dropout_status_string(status_), (int)(expected), \
              dropout_status_string(expected));                                \
    } while (0)

#define CHECK_OK(call) CHECK_STATUS(call, DROPOUT_OK)

/* Fatal: the test cannot go on (allocation failed, data file missing). */
#define REQUIRE(cond, ...)                                                      \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "FATAL %s:%d: %s: ", __FILE__, __LINE__, #cond);    \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
            exit(2);                                                            \
        }                                                                       \
    } while (0)

static inline int test_exit_code(const char *name)
{
    if (test_failures)
        printf("%s: FAILED %ld of %ld checks\n", name, test_failures, test_checks);
    else
        printf("%s: OK (%ld checks)\n", name, test_checks);
    return test_failures ? 1 : 0;
}

static inline void *test_malloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    REQUIRE(p != NULL, "malloc of %zu bytes failed", bytes);
    return p;
}

/* ---- splitmix64: small, fast, deterministic ---------------------------- */

typedef struct test_rng {
    uint64_t state;
} test_rng;

static inline uint64_t test_rng_next(test_rng *rng)
{
    uint64_t z = (rng->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, bound), bound > 0 (the tiny modulo bias does not matter). */
static inline uint64_t test_rng_below(test_rng *rng, uint64_t bound)
{
    return test_rng_next(rng) % bound;
}

/* Uniform double in [0, 1). */
static inline double test_rng_unit(test_rng *rng)
{
    return (double)(test_rng_next(rng) >> 11) * 0x1.0p-53;
}

/* ---- bit views ---------------------------------------------------------- */

static inline uint32_t bits_f32(float v)
{
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

static inline uint64_t bits_f64(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

static inline float f32_from_bits(uint32_t b)
{
    float v;
    memcpy(&v, &b, sizeof v);
    return v;
}

static inline double f64_from_bits(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

static inline int mask_bit(const uint8_t *mask, uint64_t k)
{
    return (mask[k / 8] >> (k % 8)) & 1;
}

/* ---- an independent mask stream v1, from SPEC.md section 2 -------------
 * Written from the spec text, not from src/: the tests compare the library
 * against it on random inputs. */

static inline uint64_t ref_threshold(double p)
{
    return (uint64_t)((1.0 - p) * 4294967296.0 + 0.5);
}

/* Byte i % 16 of block i / 16. */
static inline unsigned ref_random_byte(uint64_t seed, uint64_t stream, uint64_t i)
{
    uint64_t j = i / 16;
    const uint32_t counter[4] = {(uint32_t)j, (uint32_t)(j >> 32), (uint32_t)stream,
                                 (uint32_t)(stream >> 32)};
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint32_t w[4];
    dropout_philox4x32_10(counter, key, w);
    unsigned k = (unsigned)(i % 16);
    return (w[k / 4] >> (8 * (k % 4))) & 0xFFu;
}

/* The 24-bit tie draw of element i. */
static inline uint32_t ref_tie_draw(uint64_t seed, uint64_t stream, uint64_t i)
{
    const uint32_t counter[4] = {(uint32_t)i, (uint32_t)(i >> 32), (uint32_t)stream,
                                 (uint32_t)(stream >> 32)};
    const uint32_t key[2] = {(uint32_t)seed ^ 0x243F6A88u, (uint32_t)(seed >> 32)};
    uint32_t w[4];
    dropout_philox4x32_10(counter, key, w);
    return w[0] & 0xFFFFFFu;
}

static inline int ref_keep(uint64_t seed, uint64_t stream, uint64_t i, double p)
{
    uint64_t T = ref_threshold(p);
    if (T == ((uint64_t)1 << 32))
        return 1;
    if (T == 0)
        return 0;
    unsigned t0 = (unsigned)(T >> 24);
    uint32_t tlow = (uint32_t)(T & 0xFFFFFFu);
    unsigned r = ref_random_byte(seed, stream, i);
    if (r < t0)
        return 1;
    if (r > t0)
        return 0;
    return tlow != 0 && ref_tie_draw(seed, stream, i) < tlow;
}

/* Packed hex, byte 0 first, into out (2 * bytes + 1 chars). */
static inline void test_hex(const uint8_t *bytes, size_t count, char *out)
{
    for (size_t k = 0; k < count; k++)
        sprintf(out + 2 * k, "%02x", bytes[k]);
    out[2 * count] = '\0';
}

#endif /* DROPOUT_TEST_UTIL_H */
