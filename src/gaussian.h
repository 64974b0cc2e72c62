/*
 * gaussian.h — the standard-normal draws of gaussian dropout
 * (docs/SPEC.md section 5): Box-Muller on Philox words of a counter space of
 * their own, computed with +, -, *, /, sqrt only, so every machine with IEEE
 * double arithmetic gets the same bits.
 */
#ifndef DROPOUT_GAUSSIAN_H
#define DROPOUT_GAUSSIAN_H

#include <stddef.h>
#include <stdint.h>

/* Key word 0 is lo(seed) ^ this (pi's second word; the tie draw uses the first). */
#define GAUSSIAN_KEY_XOR 0x85A308D3u
#define GAUSSIAN_BLOCK_ELEMENTS 4 /* one Philox call gives 4 normals */

typedef struct gaussian_stream {
    uint32_t key[2];
    uint32_t stream_lo;
    uint32_t stream_hi;
} gaussian_stream;

gaussian_stream gaussian_stream_make(uint64_t seed, uint64_t stream);

/* The 4 standard normals of block j (elements 4j ... 4j + 3). */
void gaussian_block(const gaussian_stream *gs, uint64_t block_index, double z[4]);

/* noise[k] = 1 + sigma * z(first + k), k < n. */
void gaussian_noise(const gaussian_stream *gs, uint64_t first, size_t n, double sigma,
                    double *noise);

#endif /* DROPOUT_GAUSSIAN_H */
