/*
 * test_mask_v1_header.c — include/dropout_mask_v1.h on the host, in the
 * dialect this file is compiled as: C11 (this file), C++ (.cpp, which
 * includes it) or CUDA through nvcc's host pass (.cu, likewise; every
 * function is then __host__ __device__).  It links nothing but the header.
 *
 * Checked: Philox4x32-10 against Random123's known answers, every mask case
 * (SPEC section 4 and the mask KAT file) computed two ways — per 16-element
 * block with dropout_mask_v1_keep_bits16, as a device kernel would, and per
 * element with dropout_mask_v1_keep — and the table's tie notes.
 *
 *   test_mask_v1_header philox4x32_10_kat.txt [mask_v1_kat.txt]
 */
#include "dropout_mask_v1.h"
#include "dropout_mask_v1.h" /* the include guard works */

#include "mask_v1_vectors.h"

#if defined(__CUDACC__)
#define DIALECT "CUDA (nvcc host pass)"
#elif defined(__cplusplus)
#define DIALECT "C++"
#else
#define DIALECT "C"
#endif

/* Packed mask of a case from the keep bits of each 16-element block. */
static void mask_by_blocks(const mask_case *c, uint8_t *mask)
{
    dropout_mask_v1_stream ms = dropout_mask_v1_stream_make(
        c->seed, c->stream, dropout_mask_v1_threshold(c->p));
    uint32_t k;
    memset(mask, 0, (c->n + 7) / 8);
    for (k = 0; k < c->n; k++) {
        uint64_t i = c->first + k;
        uint32_t bits = dropout_mask_v1_keep_bits16(ms, i / DROPOUT_MASK_V1_BLOCK_ELEMENTS);
        if ((bits >> (i % DROPOUT_MASK_V1_BLOCK_ELEMENTS)) & 1u)
            mask[k / 8] = (uint8_t)(mask[k / 8] | (1u << (k % 8)));
    }
}

static void mask_by_elements(const mask_case *c, uint8_t *mask)
{
    dropout_mask_v1_stream ms = dropout_mask_v1_stream_make(
        c->seed, c->stream, dropout_mask_v1_threshold(c->p));
    uint32_t k;
    memset(mask, 0, (c->n + 7) / 8);
    for (k = 0; k < c->n; k++)
        if (dropout_mask_v1_keep(ms, c->first + k))
            mask[k / 8] = (uint8_t)(mask[k / 8] | (1u << (k % 8)));
}

/* SPEC section 4's notes: elements 290 and 924 of (0x2a, 7, p 0.1) are ties
 * (their byte equals t0), the first dropped by its tie draw, the second kept. */
static void check_tie_notes(void)
{
    dropout_mask_v1_stream ms =
        dropout_mask_v1_stream_make(0x2a, 7, dropout_mask_v1_threshold(0.1));
    uint32_t r290 = dropout_mask_v1_byte(dropout_mask_v1_block(ms, 290 / 16), 290 % 16);
    uint32_t r924 = dropout_mask_v1_byte(dropout_mask_v1_block(ms, 924 / 16), 924 % 16);
    if (r290 != ms.t0 || r924 != ms.t0)
        VECTOR_FAIL(DIALECT ": elements 290/924 have bytes %u/%u, t0 is %u", (unsigned)r290,
                    (unsigned)r924, (unsigned)ms.t0);
    if (dropout_mask_v1_tie_keep(ms, 290) != 0 || dropout_mask_v1_tie_keep(ms, 924) != 1)
        VECTOR_FAIL(DIALECT ": tie draws of 290/924 should be drop/keep");
    if (dropout_mask_v1_byte_keep(ms, ms.t0 - 1, 290) != 1 ||
        dropout_mask_v1_byte_keep(ms, ms.t0 + 1, 924) != 0)
        VECTOR_FAIL(DIALECT ": bytes below t0 keep, above drop");
}

/* T and its parts at the edges: exactly SPEC section 2's expression. */
static void check_thresholds(void)
{
    static const double ps[] = {0.0, 1e-12, 1e-6, 0.1, 0.123456789, 0.3, 0.5, 0.999, 1.0};
    size_t k;
    for (k = 0; k < sizeof ps / sizeof ps[0]; k++) {
        uint64_t want = (uint64_t)((1.0 - ps[k]) * 4294967296.0 + 0.5);
        dropout_mask_v1_stream ms =
            dropout_mask_v1_stream_make(1, 2, dropout_mask_v1_threshold(ps[k]));
        if (ms.threshold != want || ms.t0 != (uint32_t)(want >> 24) ||
            ms.tlow != (uint32_t)(want & 0xFFFFFF))
            VECTOR_FAIL(DIALECT ": threshold of p %.17g", ps[k]);
    }
    if (dropout_mask_v1_threshold(0.0) != DROPOUT_MASK_V1_THRESHOLD_ALL ||
        dropout_mask_v1_threshold(1.0) != 0)
        VECTOR_FAIL(DIALECT ": T(0) must be 2^32 and T(1) must be 0");
}

int main(int argc, char **argv)
{
    vector_set set;
    uint8_t mask[MASK_CASE_MAX_N / 8];
    int k, failed;
    if (vectors_load(&set, argc, argv) != 0)
        return 1;
    for (k = 0; k < set.kat_count; k++) {
        const kat_line *l = &set.kat[k];
        dropout_mask_v1_words w = dropout_mask_v1_philox4x32_10(
            l->ctr[0], l->ctr[1], l->ctr[2], l->ctr[3], l->key[0], l->key[1]);
        vectors_check_kat(&set, k, w.w, DIALECT);
    }
    for (k = 0; k < set.case_count; k++) {
        mask_by_blocks(&set.cases[k], mask);
        vectors_check_mask(&set, k, mask, DIALECT, "keep_bits16 per block");
        mask_by_elements(&set.cases[k], mask);
        vectors_check_mask(&set, k, mask, DIALECT, "keep per element");
    }
    check_tie_notes();
    check_thresholds();
    failed = vectors_report(&set, DIALECT);
    vectors_free(&set);
    return failed;
}
