/*
 * test_slices.c — chunks equal the whole (docs/SPEC.md section 2): a call on
 * elements [base + a, base + b) with first = base + a computes exactly that
 * slice of the whole call's mask and outputs.
 *
 * For random (seed, stream, p) and random split points (chunk lengths that
 * are mostly not multiples of 8 or 16), the chunks' packed masks are
 * re-assembled bit by bit and their f32/f64 outputs concatenated, then
 * compared with one call over the whole range.  Bases: small, straddling
 * 2^32 (the hi word of the block counter), far beyond 2^32, and so close to
 * 2^64 - 1 that the last element is index 2^64 - 1.
 */
#include "test_util.h"

#define N_MAX 4099

typedef struct whole {
    uint8_t mask[N_MAX / 8 + 1];
    float y32[N_MAX];
    double y64[N_MAX];
} whole;

static float x32[N_MAX];
static double x64[N_MAX];

static void compute(const dropout_params *params, size_t n, size_t offset, whole *out)
{
    /* Element offset of the whole is element 0 of this call. */
    CHECK_OK(dropout_mask(params, n, out->mask, sizeof out->mask));
    CHECK_OK(dropout_forward_f32(params, out->y32 + offset, x32 + offset, n, NULL, 0));
    CHECK_OK(dropout_forward_f64(params, out->y64 + offset, x64 + offset, n, NULL, 0));
}

static long trials_run = 0, chunks_run = 0;

static void check_trial(test_rng *rng, uint64_t base, size_t n)
{
    static whole all, parts;
    uint64_t seed = test_rng_next(rng), stream = test_rng_next(rng);
    double p;
    switch (test_rng_below(rng, 4)) {
    case 0: p = 0.1; break;  /* tie-heavy: tlow is large */
    case 1: p = 0.3; break;
    case 2: p = 0.5; break;  /* tlow == 0: ties drop without a draw */
    default: p = test_rng_unit(rng); break;
    }
    dropout_params params = {.p = p, .seed = seed, .stream = stream, .first = base};
    compute(&params, n, 0, &all);

    /* Split [0, n) at random points into chunks of 1 ... 300 elements. */
    memset(&parts, 0xEE, sizeof parts);
    uint8_t assembled[N_MAX / 8 + 1];
    memset(assembled, 0, sizeof assembled);
    size_t a = 0;
    while (a < n) {
        size_t len = 1 + (size_t)test_rng_below(rng, 300);
        if (len > n - a)
            len = n - a;
        dropout_params chunk = params;
        chunk.first = base + a;
        compute(&chunk, len, a, &parts);
        for (size_t k = 0; k < len; k++)
            assembled[(a + k) / 8] |= (uint8_t)(mask_bit(parts.mask, k) << ((a + k) % 8));
        a += len;
        chunks_run++;
    }
    size_t bytes = dropout_mask_bytes(n);
    size_t first_bad = n;
    for (size_t k = 0; k < n && first_bad == n; k++)
        if (mask_bit(assembled, k) != mask_bit(all.mask, k) ||
            bits_f32(parts.y32[k]) != bits_f32(all.y32[k]) ||
            bits_f64(parts.y64[k]) != bits_f64(all.y64[k]))
            first_bad = k;
    CHECK(first_bad == n && memcmp(assembled, all.mask, bytes) == 0,
          "seed %#" PRIx64 " stream %#" PRIx64 " p %.17g base %" PRIu64 " n %zu: chunks differ "
          "from the whole at element %zu (mask %d vs %d, f32 %.9g vs %.9g, f64 %.17g vs %.17g)",
          seed, stream, p, base, n, first_bad, first_bad < n ? mask_bit(assembled, first_bad) : -1,
          first_bad < n ? mask_bit(all.mask, first_bad) : -1,
          first_bad < n ? parts.y32[first_bad] : 0.0f, first_bad < n ? all.y32[first_bad] : 0.0f,
          first_bad < n ? parts.y64[first_bad] : 0.0, first_bad < n ? all.y64[first_bad] : 0.0);
    /* The whole is right too: spot-check it against dropout_keep. */
    for (int s = 0; s < 16; s++) {
        size_t k = (size_t)test_rng_below(rng, n);
        CHECK(mask_bit(all.mask, k) == dropout_keep(seed, stream, base + k, p),
              "whole mask differs from dropout_keep at index %" PRIu64, base + k);
    }
    trials_run++;
}

int main(void)
{
    test_rng rng = {0x51ce5};
    for (size_t k = 0; k < N_MAX; k++) {
        x32[k] = (float)(test_rng_unit(&rng) * 8.0 - 4.0);
        x64[k] = test_rng_unit(&rng) * 8.0 - 4.0;
    }
    for (int trial = 0; trial < 400; trial++) {
        size_t n = 1 + (size_t)test_rng_below(&rng, N_MAX);
        uint64_t base;
        switch (trial % 5) {
        case 0: base = test_rng_below(&rng, 100000); break;
        case 1: base = ((uint64_t)1 << 32) * 16 - test_rng_below(&rng, n); break; /* block 2^32 */
        case 2: base = ((uint64_t)1 << 32) - test_rng_below(&rng, n); break;
        case 3: base = test_rng_next(&rng) >> (test_rng_below(&rng, 30)); break;
        default: base = UINT64_MAX - n + 1; break; /* ends at index 2^64 - 1 */
        }
        if (base > UINT64_MAX - n + 1)
            base = UINT64_MAX - n + 1;
        check_trial(&rng, base, n);
    }
    printf("compared %ld whole calls with %ld chunks (mask bits, f32 and f64 outputs)\n",
           trials_run, chunks_run);
    return test_exit_code("test_slices");
}
