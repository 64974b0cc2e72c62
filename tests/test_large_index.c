/*
 * test_large_index.c — one call over n = 2^32 + 1003 elements (a 537 MB
 * packed mask), starting at first = 0: 64-bit sizes and indices must hold
 * where a 32-bit count, byte offset or block index would wrap.
 *
 * Checked against dropout_keep (one element at a time, no bulk path):
 *   - the last 5000 bits (past 2^32) and the bits around element 2^32;
 *   - 200 000 random positions over the whole range;
 *   - a separate call on the tail with its own `first` gives the same bytes;
 *   - the unused high bits of the last byte are zero.
 *
 * If the buffer cannot be allocated the test fails (it is not skipped).
 */
#include <time.h>

#include "test_util.h"

static double now_seconds(void)
{
    struct timespec t;
    timespec_get(&t, TIME_UTC); /* C11; wall clock is fine for a report */
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(void)
{
    if (sizeof(size_t) < 8) {
        fprintf(stderr, "FAIL: size_t has %zu bytes; n > 2^32 cannot be expressed\n",
                sizeof(size_t));
        return 1;
    }
    const uint64_t two32 = (uint64_t)1 << 32;
    const size_t n = (size_t)(two32 + 1003); /* a partial last byte too */
    const size_t bytes = dropout_mask_bytes(n);
    const double p = 0.3; /* tie-heavy: tlow / 2^24 = 0.2 */
    const uint64_t seed = 0xb16b00b5, stream = 0x600d;
    uint8_t *mask = malloc(bytes + 1);
    if (mask == NULL) {
        fprintf(stderr, "FAIL: cannot allocate the %zu-byte mask of n = 2^32 + 1003 elements\n",
                bytes);
        return 1;
    }
    mask[bytes] = 0x5A; /* canary past the end */
    printf("isa %s, %u threads: dropout_mask over n = %zu elements (%zu bytes)\n", dropout_isa(),
           dropout_threads(), n, bytes);

    dropout_params params = {.p = p, .seed = seed, .stream = stream, .first = 0};
    double t0 = now_seconds();
    CHECK_OK(dropout_mask(&params, n, mask, bytes));
    double elapsed = now_seconds() - t0;
    printf("  dropout_mask: %.2f s (%.2f ns per element)\n", elapsed, 1e9 * elapsed / (double)n);
    CHECK(mask[bytes] == 0x5A, "dropout_mask wrote past ceil(n / 8) bytes");
    CHECK(n % 8 != 0 && (mask[bytes - 1] >> (n % 8)) == 0, "unused high bits of the last byte: %#x",
          mask[bytes - 1]);

    /* The tail, past 2^32, and both sides of element 2^32. */
    long compared = 0, bad = 0;
    for (uint64_t i = n - 5000; i < n; i++, compared++)
        if (mask_bit(mask, i) != dropout_keep(seed, stream, i, p) && bad++ < 5)
            CHECK(0, "element %" PRIu64 ": mask %d, dropout_keep %d", i, mask_bit(mask, i),
                  dropout_keep(seed, stream, i, p));
    for (uint64_t i = two32 - 3000; i < two32 + 100; i++, compared++)
        if (mask_bit(mask, i) != dropout_keep(seed, stream, i, p) && bad++ < 5)
            CHECK(0, "element %" PRIu64 ": mask %d, dropout_keep %d", i, mask_bit(mask, i),
                  dropout_keep(seed, stream, i, p));
    /* Random positions. */
    test_rng rng = {0x1a26e};
    for (int s = 0; s < 200000; s++, compared++) {
        uint64_t i = test_rng_below(&rng, n);
        if (mask_bit(mask, i) != dropout_keep(seed, stream, i, p) && bad++ < 5)
            CHECK(0, "element %" PRIu64 ": mask %d, dropout_keep %d", i, mask_bit(mask, i),
                  dropout_keep(seed, stream, i, p));
    }
    CHECK(bad == 0, "%ld of %ld sampled bits differ from dropout_keep", bad, compared);
    printf("  %ld bits compared with dropout_keep (tail, around 2^32, random): %ld differ\n",
           compared, bad);

    /* The tail again, as its own call starting at a byte boundary. */
    enum { TAIL = 8000 };
    uint8_t tail[TAIL / 8 + 2];
    const size_t tail_first = (n - TAIL) / 8 * 8, tail_n = n - tail_first;
    params.first = tail_first;
    CHECK_OK(dropout_mask(&params, tail_n, tail, sizeof tail));
    CHECK(memcmp(tail, mask + tail_first / 8, dropout_mask_bytes(tail_n)) == 0,
          "the tail computed with its own first differs from the whole");

    /* Kept fraction near q = 0.7 over the whole (binomial, sigma =
     * sqrt(n q (1 - q)) ~ 30 000; bound 6 sigma). */
    uint64_t kept = 0;
    for (size_t k = 0; k < bytes; k++)
        kept += (uint64_t)__builtin_popcount(mask[k]);
    double q = (double)dropout_keep_threshold(p) / 4294967296.0;
    double sigma = sqrt((double)n * q * (1.0 - q));
    CHECK(fabs((double)kept - (double)n * q) <= 6.0 * sigma,
          "kept %" PRIu64 " of %zu, expected %.0f +- 6 * %.0f", kept, n, (double)n * q, sigma);
    printf("  kept %" PRIu64 " of %zu (expected %.0f, sigma %.0f)\n", kept, n, (double)n * q,
           sigma);
    free(mask);
    return test_exit_code("test_large_index");
}
