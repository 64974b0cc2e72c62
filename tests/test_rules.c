/*
 * test_rules.c — every rule of docs/SPEC.md section 1 and every error rule of
 * include/dropout.h, for f32 and f64:
 *
 *   - kept NaN/Inf/-Inf/-0 become x * s (NaN stays NaN); dropped ones are
 *     +0.0, sign bit clear;
 *   - p == 0: y is bitwise x (NaN payloads too), mask all ones;
 *   - p == 1: +0.0 everywhere, mask all zeros, no NaN or Inf;
 *   - tiny p (T == 2^32) keeps all, y = x * s; p so close to 1 that T == 0;
 *   - s = (float)(1.0 / (1.0 - p)) for f32, each kept value exactly x * s;
 *   - invalid p, NULL pointers, a mask too small, an invalid mode, first + n
 *     past 2^64 and partially overlapping buffers: an error and not one
 *     output byte written (canaries);
 *   - n == 0 with NULL pointers is fine and touches nothing;
 *   - in-place equals out-of-place; evaluation is the identity and writes no
 *     mask byte; unused high bits of the last mask byte are zero;
 *   - a distinct sentence for every status code.
 *
 * Both dtypes run through one table of wrappers (dtype below), so every rule
 * is written once.
 */
#include "test_util.h"

/* ---- one interface for f32 and f64 --------------------------------------- */

typedef struct dtype {
    const char *name;
    size_t size;
    int (*forward)(const dropout_params *, void *, const void *, size_t, uint8_t *, size_t);
    int (*backward_mask)(const dropout_params *, void *, const void *, size_t, const uint8_t *,
                         size_t);
    int (*backward_regen)(const dropout_params *, void *, const void *, size_t);
    uint64_t (*get)(const void *buf, size_t k);       /* bits of element k */
    void (*put)(void *buf, size_t k, uint64_t bits);  /* element k = bits  */
    uint64_t (*times_s)(uint64_t x_bits, double p);   /* bits of x * s      */
    int (*is_nan)(uint64_t bits);
    int (*is_inf)(uint64_t bits);
} dtype;

static int fwd32(const dropout_params *pr, void *y, const void *x, size_t n, uint8_t *m, size_t ms)
{
    return dropout_forward_f32(pr, y, x, n, m, ms);
}
static int fwd64(const dropout_params *pr, void *y, const void *x, size_t n, uint8_t *m, size_t ms)
{
    return dropout_forward_f64(pr, y, x, n, m, ms);
}
static int bwm32(const dropout_params *pr, void *dx, const void *dy, size_t n, const uint8_t *m,
                 size_t ms)
{
    return dropout_backward_mask_f32(pr, dx, dy, n, m, ms);
}
static int bwm64(const dropout_params *pr, void *dx, const void *dy, size_t n, const uint8_t *m,
                 size_t ms)
{
    return dropout_backward_mask_f64(pr, dx, dy, n, m, ms);
}
static int bwr32(const dropout_params *pr, void *dx, const void *dy, size_t n)
{
    return dropout_backward_regen_f32(pr, dx, dy, n);
}
static int bwr64(const dropout_params *pr, void *dx, const void *dy, size_t n)
{
    return dropout_backward_regen_f64(pr, dx, dy, n);
}
static uint64_t get32(const void *buf, size_t k) { return bits_f32(((const float *)buf)[k]); }
static uint64_t get64(const void *buf, size_t k) { return bits_f64(((const double *)buf)[k]); }
static void put32(void *buf, size_t k, uint64_t b) { ((float *)buf)[k] = f32_from_bits((uint32_t)b); }
static void put64(void *buf, size_t k, uint64_t b) { ((double *)buf)[k] = f64_from_bits(b); }
/* SPEC: s is computed once in double and rounded once to the element type. */
static uint64_t times_s32(uint64_t xb, double p)
{
    const float s = (float)(1.0 / (1.0 - p));
    return bits_f32(f32_from_bits((uint32_t)xb) * s);
}
static uint64_t times_s64(uint64_t xb, double p)
{
    const double s = 1.0 / (1.0 - p);
    return bits_f64(f64_from_bits(xb) * s);
}
static int nan32(uint64_t b) { return isnan(f32_from_bits((uint32_t)b)); }
static int nan64(uint64_t b) { return isnan(f64_from_bits(b)); }
static int inf32(uint64_t b) { return isinf(f32_from_bits((uint32_t)b)); }
static int inf64(uint64_t b) { return isinf(f64_from_bits(b)); }

static const dtype dtypes[2] = {
    {"f32", sizeof(float), fwd32, bwm32, bwr32, get32, put32, times_s32, nan32, inf32},
    {"f64", sizeof(double), fwd64, bwm64, bwr64, get64, put64, times_s64, nan64, inf64},
};

/* Special and ordinary values, as bit patterns of each type: quiet NaN,
 * NaN with a payload, signalling NaN, -NaN, Inf, -Inf, -0, +0, the smallest
 * subnormal, the largest finite, and ordinary numbers. */
static const uint32_t specials32[] = {0x7fc00000u, 0x7fc12345u, 0x7f800001u, 0xffc00000u,
                                      0x7f800000u, 0xff800000u, 0x80000000u, 0x00000000u,
                                      0x00000001u, 0x7f7fffffu};
static const uint64_t specials64[] = {
    0x7ff8000000000000ull, 0x7ff80000deadbeefull, 0x7ff0000000000001ull, 0xfff8000000000000ull,
    0x7ff0000000000000ull, 0xfff0000000000000ull, 0x8000000000000000ull, 0x0000000000000000ull,
    0x0000000000000001ull, 0x7fefffffffffffffull};
#define SPECIAL_COUNT 10

/* x[k]: every 4th element an ordinary random number, the rest the specials
 * in turn, so every special value meets both kept and dropped bits. */
static void fill_inputs(const dtype *t, void *x, size_t n, uint64_t salt)
{
    test_rng rng = {salt};
    for (size_t k = 0; k < n; k++) {
        if (k % 4 == 3) {
            double v = (test_rng_unit(&rng) - 0.5) * 200.0;
            t->put(x, k, t->size == 4 ? bits_f32((float)v) : bits_f64(v));
        } else {
            size_t j = (k / 4 * 3 + k % 4) % SPECIAL_COUNT;
            t->put(x, k, t->size == 4 ? specials32[j] : specials64[j]);
        }
    }
}

static uint8_t *canary_buffer(size_t bytes, uint8_t fill)
{
    uint8_t *b = test_malloc(bytes);
    memset(b, fill, bytes);
    return b;
}

static int all_bytes(const uint8_t *b, size_t bytes, uint8_t fill)
{
    for (size_t k = 0; k < bytes; k++)
        if (b[k] != fill)
            return 0;
    return 1;
}

/* y[k] must be keep ? x * s : +0.0 (NaN stays NaN), per the mask. */
static void check_output(const dtype *t, const char *what, double p, const void *x,
                         const void *y, const uint8_t *mask, size_t n, long *kept_nan,
                         long *dropped_nan)
{
    long bad = 0;
    for (size_t k = 0; k < n; k++) {
        uint64_t xb = t->get(x, k), yb = t->get(y, k);
        int ok;
        if (mask_bit(mask, k)) {
            uint64_t want = t->times_s(xb, p);
            ok = t->is_nan(xb) ? t->is_nan(yb) : yb == want;
            if (t->is_nan(xb) && kept_nan)
                (*kept_nan)++;
        } else {
            ok = yb == 0; /* +0.0: every bit clear */
            if (t->is_nan(xb) && dropped_nan)
                (*dropped_nan)++;
        }
        if (!ok && bad++ < 5)
            CHECK(0, "%s %s p %.17g element %zu: x bits %#" PRIx64 " kept %d -> y bits %#" PRIx64,
                  t->name, what, p, k, xb, mask_bit(mask, k), yb);
    }
    CHECK(bad == 0, "%s %s p %.17g: %ld of %zu elements wrong", t->name, what, p, bad, n);
}

/* ---- the rules --------------------------------------------------------- */

/* Special inputs kept and dropped, forward and both backwards, several p;
 * each kept value exactly x * s with s rounded once to the type. */
static void rule_specials(const dtype *t)
{
    const double ps[] = {0.5, 0.1, 0.3, 1.0 / 3.0, 0.7, 0.999};
    enum { N = 1003 };
    void *x = test_malloc(N * t->size), *y = test_malloc(N * t->size);
    void *dx = test_malloc(N * t->size), *dx2 = test_malloc(N * t->size);
    uint8_t mask[N / 8 + 1];
    for (size_t j = 0; j < sizeof ps / sizeof ps[0]; j++) {
        dropout_params params = {.p = ps[j], .seed = 99 + j, .stream = 5, .first = 17};
        fill_inputs(t, x, N, j);
        long kept_nan = 0, dropped_nan = 0;
        CHECK_OK(t->forward(&params, y, x, N, mask, sizeof mask));
        check_output(t, "forward", ps[j], x, y, mask, N, &kept_nan, &dropped_nan);
        CHECK(ps[j] > 0.9 || (kept_nan > 0 && dropped_nan > 0),
              "%s p %g: the inputs did not meet both kept and dropped NaN (%ld, %ld)", t->name,
              ps[j], kept_nan, dropped_nan);
        CHECK_OK(t->backward_mask(&params, dx, x, N, mask, sizeof mask));
        check_output(t, "backward_mask", ps[j], x, dx, mask, N, NULL, NULL);
        CHECK_OK(t->backward_regen(&params, dx2, x, N));
        check_output(t, "backward_regen", ps[j], x, dx2, mask, N, NULL, NULL);
    }
    printf("  %s: NaN/Inf/-0/subnormal/max inputs kept and dropped, p in {0.5 .. 0.999}, "
           "forward and both backwards\n", t->name);
    free(x), free(y), free(dx), free(dx2);
}

/* p == 0: bitwise identity, NaN payloads included; the mask all ones. */
static void rule_p_zero(const dtype *t)
{
    enum { N = 77 };
    void *x = test_malloc(N * t->size), *y = test_malloc(N * t->size);
    uint8_t mask[N / 8 + 1];
    fill_inputs(t, x, N, 1);
    dropout_params params = {.p = 0.0, .seed = 3, .stream = 4};
    memset(mask, 0, sizeof mask);
    CHECK_OK(t->forward(&params, y, x, N, mask, sizeof mask));
    CHECK(memcmp(x, y, N * t->size) == 0, "%s p == 0: forward is not bitwise x", t->name);
    for (size_t k = 0; k < N; k++)
        CHECK(mask_bit(mask, k) == 1, "%s p == 0: mask bit %zu is 0", t->name, k);
    CHECK(mask[N / 8] >> (N % 8) == 0, "%s p == 0: unused mask bits set", t->name);
    memset(y, 0x5A, N * t->size);
    CHECK_OK(t->backward_regen(&params, y, x, N));
    CHECK(memcmp(x, y, N * t->size) == 0, "%s p == 0: backward_regen is not bitwise dy", t->name);
    memset(y, 0x5A, N * t->size);
    CHECK_OK(t->backward_mask(&params, y, x, N, mask, sizeof mask));
    CHECK(memcmp(x, y, N * t->size) == 0, "%s p == 0: backward_mask is not bitwise dy", t->name);
    free(x), free(y);
}

/* p == 1 (and p so close to 1 that T == 0): +0.0 everywhere, no NaN or Inf,
 * the mask all zeros. */
static void rule_drop_all(const dtype *t, double p)
{
    enum { N = 77 };
    void *x = test_malloc(N * t->size), *y = test_malloc(N * t->size);
    uint8_t mask[N / 8 + 1];
    CHECK(dropout_keep_threshold(p) == 0, "p %.17g: T = %" PRIu64 ", expected 0", p,
          dropout_keep_threshold(p));
    fill_inputs(t, x, N, 2);
    dropout_params params = {.p = p, .seed = 3, .stream = 4};
    memset(mask, 0xFF, sizeof mask);
    memset(y, 0xFF, N * t->size);
    CHECK_OK(t->forward(&params, y, x, N, mask, sizeof mask));
    CHECK(all_bytes(y, N * t->size, 0), "%s p %.17g: forward is not +0.0 everywhere", t->name, p);
    CHECK(all_bytes(mask, sizeof mask, 0), "%s p %.17g: mask not all zeros", t->name, p);
    memset(y, 0xFF, N * t->size);
    CHECK_OK(t->backward_regen(&params, y, x, N));
    CHECK(all_bytes(y, N * t->size, 0), "%s p %.17g: backward_regen not +0.0", t->name, p);
    memset(y, 0xFF, N * t->size);
    CHECK_OK(t->backward_mask(&params, y, x, N, mask, sizeof mask));
    CHECK(all_bytes(y, N * t->size, 0), "%s p %.17g: backward_mask not +0.0", t->name, p);
    free(x), free(y);
}

/* Tiny p: T == 2^32 keeps everything; y = x * s (s rounds to 1 in f32 but
 * not in f64, so this is not the identity of p == 0 for f64). */
static void rule_keep_all(const dtype *t, double p)
{
    enum { N = 77 };
    void *x = test_malloc(N * t->size), *y = test_malloc(N * t->size);
    uint8_t mask[N / 8 + 1];
    CHECK(dropout_keep_threshold(p) == ((uint64_t)1 << 32), "p %.17g: T = %" PRIu64
          ", expected 2^32", p, dropout_keep_threshold(p));
    fill_inputs(t, x, N, 3);
    dropout_params params = {.p = p, .seed = 3, .stream = 4};
    memset(mask, 0, sizeof mask);
    CHECK_OK(t->forward(&params, y, x, N, mask, sizeof mask));
    for (size_t k = 0; k < N; k++)
        CHECK(mask_bit(mask, k) == 1, "%s p %g: mask bit %zu is 0", t->name, p, k);
    CHECK(mask[N / 8] >> (N % 8) == 0, "%s p %g: unused mask bits set", t->name, p);
    check_output(t, "forward", p, x, y, mask, N, NULL, NULL);
    CHECK_OK(t->backward_regen(&params, y, x, N));
    check_output(t, "backward_regen", p, x, y, mask, N, NULL, NULL);
    CHECK_OK(t->backward_mask(&params, y, x, N, mask, sizeof mask));
    check_output(t, "backward_mask", p, x, y, mask, N, NULL, NULL);
    free(x), free(y);
}

/* Every entry point returns `expected` and leaves y, x and the mask as they
 * were (each filled with canary bytes). */
static void expect_error(const dtype *t, const char *what, const dropout_params *params,
                         size_t n, size_t mask_size, int expected)
{
    enum { N = 64 };
    uint8_t *x = canary_buffer(N * 8, 0x3C), *y = canary_buffer(N * 8, 0xA5);
    uint8_t *mask = canary_buffer(N, 0xC3);
    CHECK_STATUS(t->forward(params, y, x, n, mask, mask_size), expected);
    if (expected != DROPOUT_ERROR_MASK_TOO_SMALL) /* regen takes no mask */
        CHECK_STATUS(t->backward_regen(params, y, x, n), expected);
    if (!(params->mode == DROPOUT_EVAL && expected == DROPOUT_ERROR_MASK_TOO_SMALL))
        CHECK_STATUS(t->backward_mask(params, y, x, n, mask, mask_size), expected);
    if (expected != DROPOUT_ERROR_INVALID_MODE)
        CHECK_STATUS(dropout_mask(params, n, mask, mask_size), expected);
    CHECK(all_bytes(y, N * 8, 0xA5), "%s %s: y written on error", t->name, what);
    CHECK(all_bytes(x, N * 8, 0x3C), "%s %s: x written on error", t->name, what);
    CHECK(all_bytes(mask, N, 0xC3), "%s %s: mask written on error", t->name, what);
    free(x), free(y), free(mask);
}

static void rule_errors(const dtype *t)
{
    const double bad_p[] = {NAN, -0.1, 1.0000001, -INFINITY, INFINITY, -NAN, -1e-300};
    for (size_t j = 0; j < sizeof bad_p / sizeof bad_p[0]; j++) {
        for (int mode = DROPOUT_TRAIN; mode <= DROPOUT_EVAL; mode++) {
            dropout_params params = {.p = bad_p[j], .seed = 1, .stream = 2, .mode = mode};
            expect_error(t, "invalid p", &params, 40, 5, DROPOUT_ERROR_INVALID_P);
        }
    }
    /* Invalid mode. */
    const int bad_modes[] = {2, -1, 1000};
    for (size_t j = 0; j < 3; j++) {
        dropout_params params = {.p = 0.5, .mode = bad_modes[j]};
        expect_error(t, "invalid mode", &params, 40, 5, DROPOUT_ERROR_INVALID_MODE);
    }
    /* Mask too small: ceil(40 / 8) = 5 bytes needed; also 41 elements need 6. */
    dropout_params params = {.p = 0.5, .seed = 1, .stream = 2};
    expect_error(t, "mask too small", &params, 40, 4, DROPOUT_ERROR_MASK_TOO_SMALL);
    expect_error(t, "mask too small", &params, 41, 5, DROPOUT_ERROR_MASK_TOO_SMALL);
    /* first + n > 2^64. */
    dropout_params range = {.p = 0.5, .first = UINT64_MAX};
    expect_error(t, "range", &range, 2, 5, DROPOUT_ERROR_RANGE);
    range.first = UINT64_MAX - 9;
    expect_error(t, "range", &range, 11, 5, DROPOUT_ERROR_RANGE);
    range.mode = DROPOUT_EVAL;
    expect_error(t, "range (eval)", &range, 11, 5, DROPOUT_ERROR_RANGE);

    /* first + n == 2^64 exactly is the last valid slice, and it is right. */
    uint8_t mask[2];
    float x[10] = {0}, y[10];
    range.mode = DROPOUT_TRAIN;
    range.first = UINT64_MAX;
    CHECK_OK(dropout_mask(&range, 1, mask, 1));
    CHECK(mask[0] == (uint8_t)ref_keep(0, 0, UINT64_MAX, 0.5), "mask of element 2^64-1 wrong");
    range.first = UINT64_MAX - 9;
    CHECK_OK(dropout_mask(&range, 10, mask, 2));
    CHECK_OK(dropout_forward_f32(&range, y, x, 10, NULL, 0));
    for (unsigned k = 0; k < 10; k++)
        CHECK(mask_bit(mask, k) == ref_keep(0, 0, UINT64_MAX - 9 + k, 0.5),
              "mask near 2^64 wrong at %u", k);

    /* NULL pointers with n > 0. */
    uint8_t *xb = canary_buffer(64 * 8, 0x3C), *yb = canary_buffer(64 * 8, 0xA5);
    uint8_t *mb = canary_buffer(64, 0xC3);
    CHECK_STATUS(t->forward(NULL, yb, xb, 8, mb, 1), DROPOUT_ERROR_NULL_POINTER);
    CHECK_STATUS(t->forward(&params, NULL, xb, 8, mb, 1), DROPOUT_ERROR_NULL_POINTER);
    CHECK_STATUS(t->forward(&params, yb, NULL, 8, mb, 1), DROPOUT_ERROR_NULL_POINTER);
    CHECK_STATUS(t->backward_regen(NULL, yb, xb, 8), DROPOUT_ERROR_NULL_POINTER);
    CHECK_STATUS(t->backward_regen(&params, NULL, xb, 8), DROPOUT_ERROR_NULL_POINTER);
    CHECK_STATUS(t->backward_regen(&params, yb, NULL, 8), DROPOUT_ERROR_NULL_POINTER);
    CHECK_STATUS(t->backward_mask(NULL, yb, xb, 8, mb, 1), DROPOUT_ERROR_NULL_POINTER);
    CHECK_STATUS(t->backward_mask(&params, NULL, xb, 8, mb, 1), DROPOUT_ERROR_NULL_POINTER);
    CHECK_STATUS(t->backward_mask(&params, yb, NULL, 8, mb, 1), DROPOUT_ERROR_NULL_POINTER);
    CHECK_STATUS(t->backward_mask(&params, yb, xb, 8, NULL, 1), DROPOUT_ERROR_NULL_POINTER);
    CHECK_STATUS(dropout_mask(NULL, 8, mb, 1), DROPOUT_ERROR_NULL_POINTER);
    CHECK_STATUS(dropout_mask(&params, 8, NULL, 1), DROPOUT_ERROR_NULL_POINTER);
    CHECK(all_bytes(yb, 64 * 8, 0xA5) && all_bytes(xb, 64 * 8, 0x3C) && all_bytes(mb, 64, 0xC3),
          "%s: a buffer was written by a call with a NULL pointer", t->name);
    /* The mask of forward is optional; of backward_mask in eval mode too. */
    CHECK_OK(t->forward(&params, yb, xb, 8, NULL, 0));
    dropout_params eval = params;
    eval.mode = DROPOUT_EVAL;
    CHECK_OK(t->backward_mask(&eval, yb, xb, 8, NULL, 0));

    /* n == 0: NULL everywhere is fine, and real buffers are not touched. */
    memset(yb, 0xA5, 64 * 8);
    memset(mb, 0xC3, 64);
    for (int mode = DROPOUT_TRAIN; mode <= DROPOUT_EVAL; mode++) {
        dropout_params p0 = {.p = 0.5, .mode = mode};
        CHECK_OK(t->forward(&p0, NULL, NULL, 0, NULL, 0));
        CHECK_OK(t->backward_regen(&p0, NULL, NULL, 0));
        CHECK_OK(t->backward_mask(&p0, NULL, NULL, 0, NULL, 0));
        CHECK_OK(dropout_mask(&p0, 0, NULL, 0));
        CHECK_OK(t->forward(&p0, yb, xb, 0, mb, 0));
        CHECK_OK(t->backward_regen(&p0, yb, xb, 0));
        CHECK_OK(t->backward_mask(&p0, yb, xb, 0, mb, 0));
        CHECK_OK(dropout_mask(&p0, 0, mb, 0));
    }
    CHECK(all_bytes(yb, 64 * 8, 0xA5) && all_bytes(mb, 64, 0xC3), "%s: n == 0 wrote output",
          t->name);

    /* Partial overlap, either direction, by one element or one byte. */
    const size_t n = 32;
    uint8_t *buf = canary_buffer(3 * n * t->size, 0x77);
    uint8_t *copy = test_malloc(3 * n * t->size);
    fill_inputs(t, buf + n * t->size, n, 4);
    memcpy(copy, buf, 3 * n * t->size);
    uint8_t *in = buf + n * t->size;
    uint8_t *outs[] = {in + t->size, in - t->size, in + 1, in - 1, in + (n - 1) * t->size};
    for (size_t j = 0; j < sizeof outs / sizeof outs[0]; j++) {
        CHECK_STATUS(t->forward(&params, outs[j], in, n, mb, 64), DROPOUT_ERROR_OVERLAP);
        CHECK_STATUS(t->backward_regen(&params, outs[j], in, n), DROPOUT_ERROR_OVERLAP);
        CHECK_STATUS(t->backward_mask(&params, outs[j], in, n, mb, 64), DROPOUT_ERROR_OVERLAP);
        CHECK_STATUS(t->forward(&eval, outs[j], in, n, mb, 64), DROPOUT_ERROR_OVERLAP);
    }
    CHECK(memcmp(buf, copy, 3 * n * t->size) == 0, "%s: overlapping call wrote", t->name);
    CHECK(all_bytes(mb, 64, 0xC3), "%s: overlapping call wrote the mask", t->name);
    /* Adjacent (touching, not overlapping) buffers are fine. */
    CHECK_OK(t->forward(&params, in + n * t->size, in, n, NULL, 0));
    CHECK_OK(t->forward(&params, in - n * t->size, in, n, NULL, 0));
    free(buf), free(copy), free(xb), free(yb), free(mb);
    printf("  %s: invalid p/mode, mask too small, range, NULL, n == 0 and overlap: errors, "
           "no byte written\n", t->name);
}

/* In-place equals out-of-place, for every operation and mode. */
static void rule_in_place(const dtype *t)
{
    enum { N = 333 };
    const double ps[] = {0.5, 0.0, 1.0, 1e-12, 0.3};
    void *x = test_malloc(N * t->size), *y = test_malloc(N * t->size);
    void *z = test_malloc(N * t->size);
    uint8_t mask[N / 8 + 1], mask2[N / 8 + 1];
    for (size_t j = 0; j < sizeof ps / sizeof ps[0]; j++) {
        for (int mode = DROPOUT_TRAIN; mode <= DROPOUT_EVAL; mode++) {
            dropout_params params = {.p = ps[j], .seed = 11, .stream = 12, .first = 13,
                                     .mode = mode};
            fill_inputs(t, x, N, 5);
            memset(mask, 0, sizeof mask);
            memset(mask2, 0, sizeof mask2);
            CHECK_OK(t->forward(&params, y, x, N, mask, sizeof mask));
            memcpy(z, x, N * t->size);
            CHECK_OK(t->forward(&params, z, z, N, mask2, sizeof mask2));
            CHECK(memcmp(y, z, N * t->size) == 0 && memcmp(mask, mask2, sizeof mask) == 0,
                  "%s p %g mode %d: in-place forward differs", t->name, ps[j], mode);
            if (mode == DROPOUT_TRAIN)
                CHECK_OK(dropout_mask(&params, N, mask, sizeof mask));
            CHECK_OK(t->backward_mask(&params, y, x, N, mask, sizeof mask));
            memcpy(z, x, N * t->size);
            CHECK_OK(t->backward_mask(&params, z, z, N, mask, sizeof mask));
            CHECK(memcmp(y, z, N * t->size) == 0, "%s p %g mode %d: in-place backward_mask differs",
                  t->name, ps[j], mode);
            CHECK_OK(t->backward_regen(&params, y, x, N));
            memcpy(z, x, N * t->size);
            CHECK_OK(t->backward_regen(&params, z, z, N));
            CHECK(memcmp(y, z, N * t->size) == 0,
                  "%s p %g mode %d: in-place backward_regen differs", t->name, ps[j], mode);
        }
    }
    free(x), free(y), free(z);
}

/* Evaluation: y = x bitwise, no mask byte written; backward dx = dy. */
static void rule_eval(const dtype *t)
{
    enum { N = 101 };
    void *x = test_malloc(N * t->size), *y = test_malloc(N * t->size);
    uint8_t mask[N / 8 + 1];
    fill_inputs(t, x, N, 6);
    const double ps[] = {0.5, 0.0, 1.0};
    for (size_t j = 0; j < 3; j++) {
        dropout_params params = {.p = ps[j], .seed = 1, .mode = DROPOUT_EVAL};
        memset(mask, 0xC3, sizeof mask);
        CHECK_OK(t->forward(&params, y, x, N, mask, sizeof mask));
        CHECK(memcmp(x, y, N * t->size) == 0, "%s eval p %g: forward not bitwise x", t->name,
              ps[j]);
        CHECK(all_bytes(mask, sizeof mask, 0xC3), "%s eval: mask written", t->name);
        /* A mask too small does not matter: it is not written. */
        CHECK_OK(t->forward(&params, y, x, N, mask, 1));
        memset(y, 0, N * t->size);
        CHECK_OK(t->backward_regen(&params, y, x, N));
        CHECK(memcmp(x, y, N * t->size) == 0, "%s eval: backward_regen not bitwise dy", t->name);
        memset(y, 0, N * t->size);
        CHECK_OK(t->backward_mask(&params, y, x, N, mask, sizeof mask));
        CHECK(memcmp(x, y, N * t->size) == 0, "%s eval: backward_mask not bitwise dy", t->name);
        CHECK(all_bytes(mask, sizeof mask, 0xC3), "%s eval: mask written", t->name);
    }
    free(x), free(y);
}

/* Unused high bits of the last mask byte are zero, for every n % 8, on the
 * random path and on the keep-all/drop-all paths; no byte past ceil(n/8). */
static void rule_mask_tail(const dtype *t)
{
    const double ps[] = {0.5, 0.0, 1e-12, 0.01};
    float x32[24] = {0};
    double x64[24] = {0};
    void *x = t->size == 4 ? (void *)x32 : (void *)x64;
    double y[24];
    for (size_t j = 0; j < 4; j++) {
        for (size_t n = 1; n <= 24; n++) {
            dropout_params params = {.p = ps[j], .seed = 5, .stream = 6, .first = n * 3};
            uint8_t mask[4];
            size_t bytes = dropout_mask_bytes(n);
            memset(mask, 0xFF, sizeof mask);
            CHECK_OK(t->forward(&params, y, x, n, mask, bytes));
            if (n % 8)
                CHECK((mask[bytes - 1] >> (n % 8)) == 0, "%s p %g n %zu: forward mask tail %#x",
                      t->name, ps[j], n, mask[bytes - 1]);
            CHECK(bytes == sizeof mask || mask[bytes] == 0xFF, "forward wrote past the mask");
            memset(mask, 0xFF, sizeof mask);
            CHECK_OK(dropout_mask(&params, n, mask, bytes));
            if (n % 8)
                CHECK((mask[bytes - 1] >> (n % 8)) == 0, "p %g n %zu: dropout_mask tail %#x",
                      ps[j], n, mask[bytes - 1]);
            CHECK(bytes == sizeof mask || mask[bytes] == 0xFF, "dropout_mask wrote past the mask");
        }
    }
}

/* No element past n is written on success. */
static void rule_no_overrun(const dtype *t)
{
    enum { N = 37 };
    uint8_t *x = canary_buffer((N + 8) * t->size, 0);
    uint8_t *y = canary_buffer((N + 8) * t->size, 0xA5);
    uint8_t mask[8];
    dropout_params params = {.p = 0.4, .seed = 1};
    CHECK_OK(t->forward(&params, y, x, N, mask, sizeof mask));
    CHECK_OK(t->backward_regen(&params, y, x, N));
    CHECK_OK(t->backward_mask(&params, y, x, N, mask, sizeof mask));
    CHECK(all_bytes(y + N * t->size, 8 * t->size, 0xA5), "%s: wrote past element n", t->name);
    free(x), free(y);
}

static void rule_status_strings(void)
{
    /* Known codes run from DROPOUT_OK without gaps; each has its own
     * sentence, and every other code gets the (non-empty) unknown one. */
    const char *unknown = dropout_status_string(-1);
    CHECK(unknown != NULL && unknown[0] != '\0', "unknown status -1 has no string");
    const char *seen[256];
    int last_known = -1;
    for (int code = 0; code < 256; code++) {
        const char *s = dropout_status_string(code);
        CHECK(s != NULL && s[0] != '\0', "status %d has no string", code);
        if (s == NULL || unknown == NULL)
            continue;
        if (strcmp(s, unknown) == 0)
            continue;
        CHECK(code == last_known + 1, "status %d has a string but %d has none", code,
              last_known + 1);
        for (int k = 0; k <= last_known; k++)
            CHECK(strcmp(seen[k], s) != 0, "status %d and %d share the string \"%s\"", k, code,
                  s);
        seen[code] = s;
        last_known = code;
        printf("  status %d: %s\n", code, s);
    }
    CHECK(last_known >= DROPOUT_ERROR_OVERLAP, "only codes up to %d have strings", last_known);
    const int others[] = {-1, -2147483647 - 1, 256, 1000, 2147483647};
    for (int k = 0; k < 5; k++) {
        const char *s = dropout_status_string(others[k]);
        CHECK(s != NULL && s[0] != '\0', "unknown status %d has no string", others[k]);
    }
    CHECK(dropout_mask_bytes(0) == 0 && dropout_mask_bytes(1) == 1 && dropout_mask_bytes(8) == 1 &&
              dropout_mask_bytes(9) == 2 && dropout_mask_bytes(SIZE_MAX) == SIZE_MAX / 8 + 1,
          "dropout_mask_bytes is not ceil(n / 8)");
    CHECK(strcmp(dropout_version_string(), DROPOUT_VERSION_STRING) == 0, "version string %s",
          dropout_version_string());
}

int main(void)
{
    for (int d = 0; d < 2; d++) {
        const dtype *t = &dtypes[d];
        rule_specials(t);
        rule_p_zero(t);
        rule_drop_all(t, 1.0);
        rule_drop_all(t, 1.0 - 0x1p-34); /* (2^-34 * 2^32 + 0.5) truncates to T == 0 */
        rule_keep_all(t, 1e-12);         /* (1 - 1e-12) * 2^32 + 0.5 rounds to T == 2^32 */
        rule_keep_all(t, 0x1p-34);
        rule_errors(t);
        rule_in_place(t);
        rule_eval(t);
        rule_mask_tail(t);
        rule_no_overrun(t);
        printf("  %s: p == 0, p == 1, T == 0, T == 2^32, in-place, eval, mask tail: checked\n",
               t->name);
    }
    rule_status_strings();
    return test_exit_code("test_rules");
}
