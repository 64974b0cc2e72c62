/*
 * philox.h — Random123's Philox4x32 with 10 rounds, as a pure function.
 *
 * Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as 1, 2, 3"
 * (SC 2011).  Each round multiplies two words by fixed constants, swaps and
 * xors the halves with the key; the key is bumped by the Weyl constants
 * between rounds.  No state: the same (counter, key) gives the same 4 words
 * on every machine, which is what makes the mask reproducible.
 */
#ifndef DROPOUT_PHILOX_H
#define DROPOUT_PHILOX_H

#include <stdint.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u /* golden ratio */
#define PHILOX_W1 0xBB67AE85u /* sqrt(3) - 1  */
#define PHILOX_ROUNDS 10

static inline void philox4x32_10(const uint32_t counter[4], const uint32_t key[2],
                                 uint32_t out[4])
{
    uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < PHILOX_ROUNDS; round++) {
        uint64_t product0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t product1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t hi0 = (uint32_t)(product0 >> 32), lo0 = (uint32_t)product0;
        uint32_t hi1 = (uint32_t)(product1 >> 32), lo1 = (uint32_t)product1;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

#endif /* DROPOUT_PHILOX_H */
