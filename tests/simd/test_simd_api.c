/*
 * test_simd_api.c — the public API on every variant and thread count.
 *
 *     test_simd_api scalar,avx2,avx512 [--expect-isa NAME]
 *                   [--expect-isa-status N] [--expect-threads N]
 *
 * 1. The first argument lists the variants this machine runs: each must be
 *    selectable with dropout_set_isa(), and every operation (forward with
 *    and without mask, backward from the mask, backward regenerating it, the
 *    mask alone; f32 and f64) must give the bits of scalar on 1 thread, for
 *    p in {0, tiny, 0.1, 0.3, 0.5, 0.9, 1 - tiny, 1}, n large enough to use
 *    the thread pool, in-place too, and for thread counts 1 ... 8.
 * 2. Several caller threads calling at once get the same bits as alone.
 * 3. The --expect options check what DROPOUT_ISA / DROPOUT_THREADS did
 *    (tests/simd.cmake runs this program with them set).
 */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <pthread.h>

#include "simd_test.h"

#include "dropout.h"

static const double api_p[] = {0.0, 1e-12, 0.1, 0.3, 0.5, 0.9, 1.0 - 1e-12, 1.0};
#define P_COUNT (sizeof api_p / sizeof api_p[0])

/* Everything one configuration produces for one p. */
typedef struct outputs {
    float *y32, *dx32_mask, *dx32_regen, *inplace32;
    double *y64, *dx64_mask, *dx64_regen;
    uint8_t *mask32, *mask64, *mask;
} outputs;

static size_t big_n;
static float *x32;
static double *x64;

static void outputs_alloc(outputs *o)
{
    size_t mb = dropout_mask_bytes(big_n);
    o->y32 = malloc(big_n * 4);
    o->dx32_mask = malloc(big_n * 4);
    o->dx32_regen = malloc(big_n * 4);
    o->inplace32 = malloc(big_n * 4);
    o->y64 = malloc(big_n * 8);
    o->dx64_mask = malloc(big_n * 8);
    o->dx64_regen = malloc(big_n * 8);
    o->mask32 = malloc(mb);
    o->mask64 = malloc(mb);
    o->mask = malloc(mb);
    REQUIRE(o->y32 && o->dx32_mask && o->dx32_regen && o->inplace32 && o->y64 && o->dx64_mask &&
            o->dx64_regen && o->mask32 && o->mask64 && o->mask, "out of memory");
}

static void outputs_free(outputs *o)
{
    free(o->y32); free(o->dx32_mask); free(o->dx32_regen); free(o->inplace32);
    free(o->y64); free(o->dx64_mask); free(o->dx64_regen);
    free(o->mask32); free(o->mask64); free(o->mask);
}

static void run_all(const dropout_params *params, outputs *o)
{
    size_t n = big_n, mb = dropout_mask_bytes(n);
    CHECK(dropout_forward_f32(params, o->y32, x32, n, o->mask32, mb) == DROPOUT_OK, "forward_f32");
    CHECK(dropout_backward_mask_f32(params, o->dx32_mask, x32, n, o->mask32, mb) == DROPOUT_OK,
          "backward_mask_f32");
    CHECK(dropout_backward_regen_f32(params, o->dx32_regen, x32, n) == DROPOUT_OK,
          "backward_regen_f32");
    memcpy(o->inplace32, x32, n * 4);
    CHECK(dropout_forward_f32(params, o->inplace32, o->inplace32, n, NULL, 0) == DROPOUT_OK,
          "forward_f32 in-place");
    CHECK(dropout_forward_f64(params, o->y64, x64, n, o->mask64, mb) == DROPOUT_OK, "forward_f64");
    CHECK(dropout_backward_mask_f64(params, o->dx64_mask, x64, n, o->mask64, mb) == DROPOUT_OK,
          "backward_mask_f64");
    CHECK(dropout_backward_regen_f64(params, o->dx64_regen, x64, n) == DROPOUT_OK,
          "backward_regen_f64");
    CHECK(dropout_mask(params, n, o->mask, mb) == DROPOUT_OK, "mask");
}

static void compare(const outputs *a, const outputs *b, const char *isa, unsigned threads, double p)
{
    size_t n = big_n, mb = dropout_mask_bytes(n);
    struct { const char *name; const void *x, *y; size_t bytes; } parts[] = {
        {"forward_f32", a->y32, b->y32, n * 4},
        {"forward_f32 mask", a->mask32, b->mask32, mb},
        {"backward_mask_f32", a->dx32_mask, b->dx32_mask, n * 4},
        {"backward_regen_f32", a->dx32_regen, b->dx32_regen, n * 4},
        {"forward_f32 in-place", a->inplace32, b->inplace32, n * 4},
        {"forward_f64", a->y64, b->y64, n * 8},
        {"forward_f64 mask", a->mask64, b->mask64, mb},
        {"backward_mask_f64", a->dx64_mask, b->dx64_mask, n * 8},
        {"backward_regen_f64", a->dx64_regen, b->dx64_regen, n * 8},
        {"mask", a->mask, b->mask, mb},
    };
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        long diff = first_difference(parts[i].x, parts[i].y, parts[i].bytes);
        CHECK(diff < 0, "%s on %s with %u threads, p=%.17g, n=%zu: first difference from scalar "
              "at byte %ld", parts[i].name, isa, threads, p, n, diff);
    }
}

/* ---- several callers at once ---------------------------------------------- */

#define CALLERS 4

typedef struct caller {
    pthread_t thread;
    dropout_params params;
    float *y, *expected;
} caller;

static void *caller_main(void *arg)
{
    caller *c = arg;
    for (int repeat = 0; repeat < 3; repeat++) {
        memset(c->y, 0, big_n * 4);
        if (dropout_forward_f32(&c->params, c->y, x32, big_n, NULL, 0) != DROPOUT_OK ||
            memcmp(c->y, c->expected, big_n * 4) != 0)
            return (void *)1;
    }
    return NULL;
}

static void check_concurrent_callers(void)
{
    caller callers[CALLERS];
    dropout_set_threads(2);
    for (int i = 0; i < CALLERS; i++) {
        callers[i].params = (dropout_params){.p = 0.3, .seed = 99, .stream = (uint64_t)i,
                                             .first = 12345, .mode = DROPOUT_TRAIN};
        callers[i].y = malloc(big_n * 4);
        callers[i].expected = malloc(big_n * 4);
        REQUIRE(callers[i].y && callers[i].expected, "out of memory");
        CHECK(dropout_forward_f32(&callers[i].params, callers[i].expected, x32, big_n, NULL, 0) ==
                  DROPOUT_OK, "forward");
    }
    for (int i = 0; i < CALLERS; i++)
        REQUIRE(pthread_create(&callers[i].thread, NULL, caller_main, &callers[i]) == 0,
                "pthread_create failed");
    for (int i = 0; i < CALLERS; i++) {
        void *result;
        pthread_join(callers[i].thread, &result);
        CHECK(result == NULL, "caller thread %d got different bits than when alone", i);
        free(callers[i].y);
        free(callers[i].expected);
    }
}

int main(int argc, char **argv)
{
    REQUIRE(argc >= 2, "usage: test_simd_api ISA,ISA,... [--expect-isa NAME] "
            "[--expect-isa-status N] [--expect-threads N]");
    /* What the environment did, before anything else is set. */
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--expect-isa") == 0)
            CHECK(strcmp(dropout_isa(), argv[i + 1]) == 0, "DROPOUT_ISA=%s: dropout_isa() is %s, "
                  "expected %s", getenv("DROPOUT_ISA") ? getenv("DROPOUT_ISA") : "(unset)",
                  dropout_isa(), argv[i + 1]);
        else if (strcmp(argv[i], "--expect-isa-status") == 0)
            CHECK(dropout_isa_status() == atoi(argv[i + 1]), "dropout_isa_status() is %d, expected %s",
                  dropout_isa_status(), argv[i + 1]);
        else if (strcmp(argv[i], "--expect-threads") == 0)
            CHECK(dropout_threads() == (unsigned)atoi(argv[i + 1]), "dropout_threads() is %u, "
                  "expected %s", dropout_threads(), argv[i + 1]);
        else
            REQUIRE(0, "unknown option %s", argv[i]);
    }

    /* dropout_set_isa: unknown names fail and change nothing */
    const char *before = dropout_isa();
    CHECK(dropout_set_isa("bogus") == DROPOUT_ERROR_UNSUPPORTED_ISA, "unknown ISA accepted");
    CHECK(strcmp(dropout_isa(), before) == 0, "a failed dropout_set_isa changed the ISA");
    CHECK(dropout_set_isa(NULL) == DROPOUT_OK, "auto");
#if !defined(__x86_64__)
    CHECK(dropout_set_isa("avx2") == DROPOUT_ERROR_UNSUPPORTED_ISA, "avx2 accepted off x86-64");
#endif
#if !defined(__aarch64__)
    CHECK(dropout_set_isa("neon") == DROPOUT_ERROR_UNSUPPORTED_ISA, "neon accepted off AArch64");
#endif
    CHECK(dropout_set_threads(100000) == DROPOUT_ERROR_INVALID_ARGUMENT, "100000 threads accepted");
    CHECK(dropout_set_threads(0) == DROPOUT_OK && dropout_threads() >= 1, "0 threads = all cores");

    /* the variants to compare */
    const char *isas[8];
    size_t isa_count = 0;
    char *list = strdup(argv[1]);
    REQUIRE(list != NULL, "out of memory");
    for (char *tok = strtok(list, ","); tok && isa_count < 8; tok = strtok(NULL, ","))
        isas[isa_count++] = tok;

    /* big enough to use the pool, odd, random first */
    big_n = ((size_t)1 << 19) + 77; /* the pool starts at 2^16 elements */
    x32 = malloc(big_n * 4);
    x64 = malloc(big_n * 8);
    REQUIRE(x32 && x64, "out of memory");
    uint64_t rng = 2024;
    for (size_t i = 0; i < big_n; i++) {
        x32[i] = test_value_f32(&rng);
        x64[i] = test_value_f64(&rng);
    }

    outputs ref, got;
    outputs_alloc(&ref);
    outputs_alloc(&got);
    for (size_t pi = 0; pi < P_COUNT; pi++) {
        dropout_params params = {.p = api_p[pi], .seed = rng_next(&rng), .stream = rng_next(&rng),
                                 .first = (rng_next(&rng) >> 4) | ((uint64_t)1 << 40) | 5,
                                 .mode = DROPOUT_TRAIN};
        CHECK(dropout_set_isa("scalar") == DROPOUT_OK, "scalar");
        dropout_set_threads(1);
        run_all(&params, &ref);
        for (size_t i = 0; i < isa_count; i++) {
            CHECK(dropout_set_isa(isas[i]) == DROPOUT_OK, "this machine should run %s", isas[i]);
            CHECK(strcmp(dropout_isa(), isas[i]) == 0, "dropout_isa() is %s after setting %s",
                  dropout_isa(), isas[i]);
            /* all thread counts for two p, 1 and 2 threads for the rest (time) */
            unsigned max_threads = (pi == 2 || pi == 4) ? 8 : 2;
            for (unsigned threads = 1; threads <= max_threads; threads++) {
                CHECK(dropout_set_threads(threads) == DROPOUT_OK && dropout_threads() == threads,
                      "set %u threads", threads);
                run_all(&params, &got);
                compare(&got, &ref, isas[i], threads, params.p);
            }
        }
    }
    printf("test_simd_api: compared %zu variant(s) (%s) with scalar, n = %zu\n", isa_count,
           argv[1], big_n);

    dropout_set_isa(NULL);
    check_concurrent_callers();
    outputs_free(&ref);
    outputs_free(&got);
    free(list);
    free(x32);
    free(x64);
    return test_exit_code("test_simd_api");
}
