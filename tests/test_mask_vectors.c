/*
 * test_mask_vectors.c — every known answer of docs/SPEC.md section 4, through
 * every way the library hands out a mask: dropout_mask, the mask output of
 * dropout_forward_f32/_f64 (whose y must follow the same bits), and
 * dropout_keep one element at a time.  Then the library against the
 * independent mask stream in test_util.h on random (seed, stream, first, p),
 * offsets beyond 2^32 and tie-heavy p included.
 */
#include "test_util.h"

typedef struct mask_vector {
    uint64_t seed, stream, first;
    size_t n;
    double p;
    char hex[2 * 32 + 1];
} mask_vector;

/* tests/data/mask_v1_kat.txt: SPEC section 4's table and generated cases,
 * one a line (the file's header says the format). */
#define MAX_VECTORS 1024
#define MAX_N 256
static mask_vector vectors[MAX_VECTORS];
static size_t vector_count;

static void read_vectors(const char *path)
{
    FILE *f = fopen(path, "r");
    REQUIRE(f != NULL, "cannot open %s", path);
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        REQUIRE(vector_count < MAX_VECTORS, "%s: more than %d cases", path, MAX_VECTORS);
        mask_vector *v = &vectors[vector_count];
        char seed[32], stream[32], p[64];
        REQUIRE(sscanf(line, "%31s %31s %" SCNu64 " %zu %63s %64s", seed, stream, &v->first, &v->n,
                       p, v->hex) == 6,
                "%s: bad line: %s", path, line);
        v->seed = strtoull(seed, NULL, 0);
        v->stream = strtoull(stream, NULL, 0);
        v->p = strtod(p, NULL);
        REQUIRE(v->n <= MAX_N, "%s: n %zu > %d", path, v->n, MAX_N);
        vector_count++;
    }
    fclose(f);
    REQUIRE(vector_count >= 10, "%s: only %zu cases", path, vector_count);
}

static void check_vector(const mask_vector *v)
{
    dropout_params params = {.p = v->p, .seed = v->seed, .stream = v->stream,
                             .first = v->first, .mode = DROPOUT_TRAIN};
    size_t bytes = dropout_mask_bytes(v->n);
    CHECK(2 * bytes == strlen(v->hex), "vector %s: n = %zu gives %zu bytes", v->hex, v->n,
          bytes);
    uint8_t mask[MAX_N / 8 + 1];
    char hex[2 * sizeof mask + 1];

    /* 1. dropout_mask; a byte past the end must stay untouched. */
    memset(mask, 0xA5, sizeof mask);
    CHECK_OK(dropout_mask(&params, v->n, mask, bytes));
    test_hex(mask, bytes, hex);
    CHECK(strcmp(hex, v->hex) == 0, "dropout_mask seed %#" PRIx64 " stream %#" PRIx64
          " first %" PRIu64 " n %zu p %g: got %s, expected %s", v->seed, v->stream, v->first,
          v->n, v->p, hex, v->hex);
    CHECK(mask[bytes] == 0xA5, "dropout_mask wrote past ceil(n/8) bytes");
    if (v - vectors < 10) /* SPEC section 4's table */
        printf("  dropout_mask seed %#-18" PRIx64 " stream %#-18" PRIx64 " first %-12" PRIu64
           " n %-3zu p %-6g -> %s (expected %s)\n", v->seed, v->stream, v->first, v->n, v->p,
           hex, v->hex);

    uint8_t expected[MAX_N / 8 + 1];
    memcpy(expected, mask, bytes);

    /* 2. dropout_keep, one element at a time. */
    for (size_t k = 0; k < v->n; k++) {
        int keep = dropout_keep(v->seed, v->stream, v->first + k, v->p);
        CHECK(keep == mask_bit(expected, k), "dropout_keep element %" PRIu64 ": %d, mask says %d",
              v->first + k, keep, mask_bit(expected, k));
    }

    /* 3. forward's mask output and y, f32 and f64. */
    const double s = 1.0 / (1.0 - v->p);
    float x32[MAX_N], y32[MAX_N];
    double x64[MAX_N], y64[MAX_N];
    for (size_t k = 0; k < v->n; k++) {
        x32[k] = (float)k - 20.5f;
        x64[k] = (double)k * 1.25 - 33.0;
    }
    memset(mask, 0xA5, sizeof mask);
    CHECK_OK(dropout_forward_f32(&params, y32, x32, v->n, mask, bytes));
    test_hex(mask, bytes, hex);
    CHECK(strcmp(hex, v->hex) == 0, "forward_f32 mask: got %s, expected %s", hex, v->hex);
    for (size_t k = 0; k < v->n; k++) {
        float want = mask_bit(expected, k) ? x32[k] * (float)s : 0.0f;
        CHECK(bits_f32(y32[k]) == bits_f32(want), "forward_f32 element %zu: y %.9g, expected %.9g",
              k, y32[k], want);
    }
    memset(mask, 0xA5, sizeof mask);
    CHECK_OK(dropout_forward_f64(&params, y64, x64, v->n, mask, bytes));
    test_hex(mask, bytes, hex);
    CHECK(strcmp(hex, v->hex) == 0, "forward_f64 mask: got %s, expected %s", hex, v->hex);
    for (size_t k = 0; k < v->n; k++) {
        double want = mask_bit(expected, k) ? x64[k] * s : 0.0;
        CHECK(bits_f64(y64[k]) == bits_f64(want),
              "forward_f64 element %zu: y %.17g, expected %.17g", k, y64[k], want);
    }

    /* 4. The independent implementation agrees on each bit. */
    for (size_t k = 0; k < v->n; k++)
        CHECK(ref_keep(v->seed, v->stream, v->first + k, v->p) == mask_bit(expected, k),
              "reference disagrees at element %" PRIu64, v->first + k);
}

/* The table's notes: element 290 of (0x2a, 7, p 0.1) is a tie that is
 * dropped, element 924 a tie that is kept.  Check that they really are ties,
 * so the vectors exercise the tie draw. */
static void check_tie_notes(void)
{
    uint64_t T = ref_threshold(0.1);
    unsigned t0 = (unsigned)(T >> 24);
    CHECK(ref_random_byte(0x2a, 7, 290) == t0, "element 290 is not a tie");
    CHECK(ref_random_byte(0x2a, 7, 924) == t0, "element 924 is not a tie");
    CHECK(dropout_keep(0x2a, 7, 290, 0.1) == 0, "element 290 should be dropped");
    CHECK(dropout_keep(0x2a, 7, 924, 0.1) == 1, "element 924 should be kept");
    printf("  ties: element 290 byte %u == t0 %u dropped, element 924 kept\n",
           ref_random_byte(0x2a, 7, 290), t0);
}

static void check_thresholds(void)
{
    const double ps[] = {0.0, 1e-12, 1e-9, 1e-6, 0.1, 0.25, 0.3, 0.5, 0.9, 0.999,
                         1.0 - 1e-12, 1.0};
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++)
        CHECK(dropout_keep_threshold(ps[k]) == ref_threshold(ps[k]),
              "dropout_keep_threshold(%g) = %" PRIu64 ", spec says %" PRIu64, ps[k],
              dropout_keep_threshold(ps[k]), ref_threshold(ps[k]));
    CHECK(dropout_keep_threshold(0.0) == ((uint64_t)1 << 32), "T(0) != 2^32");
    CHECK(dropout_keep_threshold(1.0) == 0, "T(1) != 0");
    CHECK(dropout_keep_threshold(NAN) == 0 && dropout_keep_threshold(-0.5) == 0 &&
              dropout_keep_threshold(1.5) == 0,
          "invalid p must give threshold 0");
    CHECK(dropout_keep(1, 2, 3, NAN) == 0 && dropout_keep(1, 2, 3, -1.0) == 0,
          "dropout_keep with invalid p must be 0");
}

/* Random inputs: the library's mask against the independent reference. */
static void check_random(void)
{
    test_rng rng = {20261127};
    const double ps[] = {0.1, 0.3, 0.5, 0.25, 0.9, 1e-6, 0.999, 0.7};
    enum { N = 300 };
    uint8_t mask[N / 8 + 1];
    long compared = 0, mismatches = 0;
    for (int trial = 0; trial < 200; trial++) {
        uint64_t seed = test_rng_next(&rng), stream = test_rng_next(&rng);
        uint64_t first;
        switch (trial % 4) {
        case 0: first = test_rng_below(&rng, 1u << 20); break;
        case 1: first = ((uint64_t)1 << 32) - test_rng_below(&rng, 400); break; /* crosses 2^32 */
        case 2: first = test_rng_next(&rng) >> 1; break;
        default: first = UINT64_MAX - N + 1 - test_rng_below(&rng, 50); break;  /* the very end */
        }
        double p = ps[trial % 8];
        if (trial % 16 == 15)
            p = test_rng_unit(&rng);
        size_t n = 1 + (size_t)test_rng_below(&rng, N);
        dropout_params params = {.p = p, .seed = seed, .stream = stream, .first = first};
        CHECK_OK(dropout_mask(&params, n, mask, sizeof mask));
        for (size_t k = 0; k < n; k++) {
            int want = ref_keep(seed, stream, first + k, p);
            compared++;
            if (mask_bit(mask, k) != want && mismatches++ < 10)
                CHECK(0, "seed %#" PRIx64 " stream %#" PRIx64 " p %.17g element %" PRIu64
                      ": library %d, reference %d", seed, stream, p, first + k,
                      mask_bit(mask, k), want);
        }
        if (n % 8)
            CHECK((mask[n / 8] >> (n % 8)) == 0, "unused high bits of the last byte set");
    }
    CHECK(mismatches == 0, "%ld of %ld bits differ from the reference", mismatches, compared);
    printf("  random: %ld bits compared with the independent reference, %ld mismatches\n",
           compared, mismatches);
}

int main(int argc, char **argv)
{
    read_vectors(argc > 1 ? argv[1] : DROPOUT_MASK_KAT_FILE);
    printf("SPEC section 4 vectors (and %zu more from the file):\n", vector_count - 10);
    for (size_t k = 0; k < vector_count; k++)
        check_vector(&vectors[k]);
    check_tie_notes();
    check_thresholds();
    check_random();
    return test_exit_code("test_mask_vectors");
}
