/*
 * test_cuda_header.cu — the CUDA backend's keep bits through nvcc's host
 * pass: cuda_keep_bits16 (src/cuda/thread.cuh, the header's keep_bits16 in
 * two passes with the tie draws in a loop) against
 *   1. every mask known answer of tests/header/mask_v1_vectors.h (every
 *      SPEC section 4 row, and tests/data/mask_v1_kat.txt when the build has
 *      it), and the Random123 KATs through the header it includes;
 *   2. the header's dropout_mask_v1_keep_bits16 on random blocks of random
 *      (seed, stream), tie-heavy p and the thresholds that draw nothing.
 * (The header itself through nvcc's host pass is test_mask_v1_nvcc, which
 * carries the `cuda` label too.)
 *
 *   test_cuda_header philox4x32_10_kat.txt [mask_v1_kat.txt]
 */
#include "test_util.h"

#include "mask_v1_vectors.h"
#include "thread.cuh"

int main(int argc, char **argv)
{
    vector_set set;
    if (vectors_load(&set, argc, argv) != 0)
        return 1;
    for (int k = 0; k < set.kat_count; k++) {
        const kat_line *l = &set.kat[k];
        dropout_mask_v1_words w = dropout_mask_v1_philox4x32_10(l->ctr[0], l->ctr[1], l->ctr[2],
                                                                l->ctr[3], l->key[0], l->key[1]);
        vectors_check_kat(&set, k, w.w, "CUDA backend (host pass)");
    }
    uint8_t mask[MASK_CASE_MAX_N / 8];
    for (int k = 0; k < set.case_count; k++) {
        const mask_case *c = &set.cases[k];
        dropout_mask_v1_stream ms =
            dropout_mask_v1_stream_make(c->seed, c->stream, dropout_mask_v1_threshold(c->p));
        memset(mask, 0, (c->n + 7) / 8);
        for (uint32_t e = 0; e < c->n; e++) {
            uint64_t i = c->first + e;
            if ((cuda_keep_bits16(ms, i / 16) >> (i % 16)) & 1u)
                mask[e / 8] = (uint8_t)(mask[e / 8] | (1u << (e % 8)));
        }
        vectors_check_mask(&set, k, mask, "CUDA backend (host pass)", "cuda_keep_bits16");
    }
    int vector_status = vectors_report(&set, "CUDA backend, cuda_keep_bits16");
    CHECK(vector_status == 0, "the known answers do not match");

    static const double ps[] = {0.0, 1e-12, 0.1, 0.123456789, 0.3, 0.5, 0.9, 1.0 - 1e-12, 1.0};
    test_rng rng = {0x5EED};
    long blocks = 0, ties = 0;
    for (int k = 0; k < 200000; k++) {
        dropout_mask_v1_stream ms = dropout_mask_v1_stream_make(
            test_rng_next(&rng), test_rng_next(&rng), dropout_mask_v1_threshold(ps[k % 9]));
        uint64_t j = test_rng_next(&rng) >> (k % 2 ? 4 : 36);
        uint32_t want = dropout_mask_v1_keep_bits16(ms, j), got = cuda_keep_bits16(ms, j);
        dropout_mask_v1_words w = dropout_mask_v1_block(ms, j);
        for (unsigned b = 0; b < 16; b++)
            ties += ms.threshold != 0 && ms.threshold < DROPOUT_MASK_V1_THRESHOLD_ALL &&
                    dropout_mask_v1_byte(w, b) == ms.t0;
        CHECK(got == want, "block %" PRIu64 " p %g: cuda_keep_bits16 %04x, keep_bits16 %04x", j,
              ps[k % 9], got, want);
        blocks++;
    }
    printf("  cuda_keep_bits16 = dropout_mask_v1_keep_bits16 on %ld random blocks (%ld ties)\n",
           blocks, ties);
    vectors_free(&set);
    return test_exit_code("test_cuda_header");
}
