/*
 * mask_v1_vectors.h — the known answers every dialect of
 * include/dropout_mask_v1.h is checked against, for host code that compiles
 * as C99/C11, as C++ and through nvcc's host pass (so: no designated
 * initializers, casts on malloc, no VLAs).
 *
 *   - Random123's Philox4x32-10 known-answer lines (tests/data/
 *     philox4x32_10_kat.txt; a file with fewer than KAT_LINES_EXPECTED lines
 *     fails: a truncated file must not pass by checking nothing);
 *   - every row of docs/SPEC.md section 4's mask table, always, plus the
 *     rows of tests/data/mask_v1_kat.txt when the build has that file
 *     (lines "seed stream first n p mask", seed/stream in 0x-hex or decimal,
 *     mask in hex, byte 0 first; '#' starts a comment).
 *
 * Each dialect computes the outputs its own way (the host calls the header,
 * the OpenCL test runs it in a kernel) and reports them here.
 */
#ifndef DROPOUT_TESTS_MASK_V1_VECTORS_H
#define DROPOUT_TESTS_MASK_V1_VECTORS_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KAT_LINES_EXPECTED 55
#define MASK_CASE_MAX_N 4096 /* longest mask of a case, in elements */

typedef struct kat_line {
    uint32_t ctr[4], key[2], out[4];
} kat_line;

typedef struct mask_case {
    uint64_t seed, stream, first;
    uint32_t n;
    double p;
    char hex[2 * (MASK_CASE_MAX_N / 8) + 1];
} mask_case;

typedef struct vector_set {
    kat_line *kat;
    int kat_count;
    mask_case *cases;
    int case_count;
    int spec_rows; /* the first spec_rows cases are SPEC section 4's table */
} vector_set;

static int vector_failures = 0;

#define VECTOR_FAIL(...)                                                       \
    do {                                                                       \
        if (vector_failures++ < 20) {                                          \
            fprintf(stderr, "FAIL: ");                                         \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
        }                                                                      \
    } while (0)

/* SPEC.md section 4, row by row: seed, stream, first, n, p, mask. */
static const struct {
    uint64_t seed, stream, first;
    uint32_t n;
    double p;
    const char *hex;
} spec_table[] = {
    {0x0, 0x0, 0, 64, 0.5, "4c45a0d2a9aee1f3"},
    {0x2a, 0x7, 0, 64, 0.1, "fbfffdfc79feff7f"},
    {0x2a, 0x7, 5, 20, 0.1, "ffef07"},
    {0x2a, 0x7, 288, 16, 0.1, "cbdf"},
    {0x2a, 0x7, 920, 8, 0.1, "fd"},
    {0x123456789abcdefull, 0xfedcba9876543210ull, 1000, 48, 0.3, "ee9f65febffd"},
    {0x1, 0x2, 68719476728ull, 32, 0.25, "fbdfe9ff"},
    {0x7, 0x0, 0, 40, 1e-06, "ffffffffff"},
    {0x7, 0x0, 0, 16, 1.0, "0000"},
    {0x7, 0x0, 0, 16, 0.0, "ffff"},
};
#define SPEC_ROWS ((int)(sizeof spec_table / sizeof spec_table[0]))

static int vectors_read_kat(vector_set *set, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512];
    int capacity = 64, lineno = 0;
    if (f == NULL) {
        VECTOR_FAIL("cannot open %s", path);
        return -1;
    }
    set->kat = (kat_line *)malloc(sizeof(kat_line) * (size_t)capacity);
    set->kat_count = 0;
    while (set->kat != NULL && fgets(line, sizeof line, f)) {
        char name[32];
        unsigned rounds;
        kat_line k;
        lineno++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (sscanf(line,
                   "%31s %u %" SCNx32 " %" SCNx32 " %" SCNx32 " %" SCNx32 " %" SCNx32 " %" SCNx32
                   " %" SCNx32 " %" SCNx32 " %" SCNx32 " %" SCNx32,
                   name, &rounds, &k.ctr[0], &k.ctr[1], &k.ctr[2], &k.ctr[3], &k.key[0],
                   &k.key[1], &k.out[0], &k.out[1], &k.out[2], &k.out[3]) != 12 ||
            strcmp(name, "philox4x32") != 0 || rounds != 10) {
            VECTOR_FAIL("%s line %d is not a philox4x32 10 line", path, lineno);
            continue;
        }
        if (set->kat_count == capacity) {
            kat_line *bigger = (kat_line *)realloc(set->kat, sizeof(kat_line) * 2u * (size_t)capacity);
            if (bigger == NULL)
                break;
            set->kat = bigger;
            capacity *= 2;
        }
        set->kat[set->kat_count++] = k;
    }
    fclose(f);
    if (set->kat == NULL)
        return -1;
    if (set->kat_count < KAT_LINES_EXPECTED)
        VECTOR_FAIL("%s: only %d known-answer lines, expected %d", path, set->kat_count,
                    KAT_LINES_EXPECTED);
    return 0;
}

static int vectors_add_case(vector_set *set, int *capacity, uint64_t seed, uint64_t stream,
                            uint64_t first, uint64_t n, double p, const char *hex)
{
    mask_case *c;
    if (n == 0 || n > MASK_CASE_MAX_N || strlen(hex) != 2 * ((n + 7) / 8)) {
        VECTOR_FAIL("mask case seed %#" PRIx64 " n %" PRIu64 ": bad n or mask length", seed, n);
        return -1;
    }
    if (set->case_count == *capacity) {
        mask_case *bigger =
            (mask_case *)realloc(set->cases, sizeof(mask_case) * 2u * (size_t)*capacity);
        if (bigger == NULL)
            return -1;
        set->cases = bigger;
        *capacity *= 2;
    }
    c = &set->cases[set->case_count++];
    c->seed = seed;
    c->stream = stream;
    c->first = first;
    c->n = (uint32_t)n;
    c->p = p;
    strcpy(c->hex, hex);
    return 0;
}

/* SPEC section 4's table, then the rows of `path` (NULL: none). */
static int vectors_read_masks(vector_set *set, const char *path)
{
    int capacity = 64, k, lineno = 0;
    char line[2 * MASK_CASE_MAX_N];
    FILE *f;
    set->cases = (mask_case *)malloc(sizeof(mask_case) * (size_t)capacity);
    set->case_count = 0;
    if (set->cases == NULL)
        return -1;
    for (k = 0; k < SPEC_ROWS; k++)
        if (vectors_add_case(set, &capacity, spec_table[k].seed, spec_table[k].stream,
                             spec_table[k].first, spec_table[k].n, spec_table[k].p,
                             spec_table[k].hex) != 0)
            return -1;
    set->spec_rows = SPEC_ROWS;
    if (path == NULL)
        return 0;
    f = fopen(path, "r");
    if (f == NULL) {
        VECTOR_FAIL("cannot open %s", path);
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        char seed_text[32], stream_text[32], hex[2 * (MASK_CASE_MAX_N / 8) + 1];
        unsigned long long first, n;
        double p;
        char *hash = strchr(line, '#');
        lineno++;
        if (hash != NULL)
            *hash = '\0';
        if (strspn(line, " \t\r\n") == strlen(line))
            continue;
        if (sscanf(line, "%31s %31s %llu %llu %lf %1024s", seed_text, stream_text, &first, &n,
                   &p, hex) != 6) {
            VECTOR_FAIL("%s line %d: expected 'seed stream first n p mask'", path, lineno);
            continue;
        }
        if (vectors_add_case(set, &capacity, strtoull(seed_text, NULL, 0),
                             strtoull(stream_text, NULL, 0), first, n, p, hex) != 0)
            VECTOR_FAIL("%s line %d: bad case", path, lineno);
    }
    fclose(f);
    return 0;
}

/* argv[1]: the Philox KAT file; argv[2] (optional): the mask KAT file. */
static int vectors_load(vector_set *set, int argc, char **argv)
{
    memset(set, 0, sizeof *set);
    if (argc < 2) {
        VECTOR_FAIL("usage: %s philox4x32_10_kat.txt [mask_v1_kat.txt]", argv[0]);
        return -1;
    }
    if (vectors_read_kat(set, argv[1]) != 0)
        return -1;
    return vectors_read_masks(set, argc > 2 ? argv[2] : NULL);
}

static void vectors_free(vector_set *set)
{
    free(set->kat);
    free(set->cases);
}

static void vectors_hex(const uint8_t *bytes, size_t count, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    size_t k;
    for (k = 0; k < count; k++) {
        hex[2 * k] = digits[bytes[k] >> 4];
        hex[2 * k + 1] = digits[bytes[k] & 15];
    }
    hex[2 * count] = '\0';
}

/* One dialect's Philox output for KAT line k. */
static void vectors_check_kat(const vector_set *set, int k, const uint32_t out[4],
                              const char *dialect)
{
    const kat_line *l = &set->kat[k];
    if (memcmp(out, l->out, sizeof l->out) != 0)
        VECTOR_FAIL("%s: philox ctr %08" PRIx32 " %08" PRIx32 " %08" PRIx32 " %08" PRIx32
                    " key %08" PRIx32 " %08" PRIx32 ": got %08" PRIx32 " %08" PRIx32
                    " %08" PRIx32 " %08" PRIx32 ", expected %08" PRIx32 " %08" PRIx32
                    " %08" PRIx32 " %08" PRIx32,
                    dialect, l->ctr[0], l->ctr[1], l->ctr[2], l->ctr[3], l->key[0], l->key[1],
                    out[0], out[1], out[2], out[3], l->out[0], l->out[1], l->out[2], l->out[3]);
}

/* One dialect's packed mask of case k, computed by `how`. */
static void vectors_check_mask(const vector_set *set, int k, const uint8_t *mask,
                               const char *dialect, const char *how)
{
    const mask_case *c = &set->cases[k];
    char hex[2 * (MASK_CASE_MAX_N / 8) + 1];
    vectors_hex(mask, (c->n + 7) / 8, hex);
    if (strcmp(hex, c->hex) != 0)
        VECTOR_FAIL("%s, %s: seed %#" PRIx64 " stream %#" PRIx64 " first %" PRIu64
                    " n %" PRIu32 " p %.17g: got %s, expected %s",
                    dialect, how, c->seed, c->stream, c->first, c->n, c->p, hex, c->hex);
}

static int vectors_report(const vector_set *set, const char *dialect)
{
    printf("%s: %d Philox4x32-10 known answers, %d mask cases (%d SPEC section 4 rows, %d "
           "from the mask KAT file): %s\n",
           dialect, set->kat_count, set->case_count, set->spec_rows,
           set->case_count - set->spec_rows, vector_failures ? "FAILED" : "all match");
    return vector_failures != 0 || set->kat_count < KAT_LINES_EXPECTED ||
           set->case_count < SPEC_ROWS;
}

#endif /* DROPOUT_TESTS_MASK_V1_VECTORS_H */
