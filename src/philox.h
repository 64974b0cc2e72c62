/*
 * philox.h — Random123's Philox4x32 with 10 rounds, as a pure function.
 *
 * The definition is include/dropout_mask_v1.h's (the one portable copy of the
 * spec, shared with the device backends); this is the CPU library's array
 * form of it, and the round constants the SIMD kernels spell out in vectors.
 */
#ifndef DROPOUT_PHILOX_H
#define DROPOUT_PHILOX_H

#include <stdint.h>

#include "../include/dropout_mask_v1.h"

#define PHILOX_M0 DROPOUT_MASK_V1_PHILOX_M0
#define PHILOX_M1 DROPOUT_MASK_V1_PHILOX_M1
#define PHILOX_W0 DROPOUT_MASK_V1_PHILOX_W0
#define PHILOX_W1 DROPOUT_MASK_V1_PHILOX_W1
#define PHILOX_ROUNDS DROPOUT_MASK_V1_PHILOX_ROUNDS

static inline void philox4x32_10(const uint32_t counter[4], const uint32_t key[2],
                                 uint32_t out[4])
{
    dropout_mask_v1_words words = dropout_mask_v1_philox4x32_10(
        counter[0], counter[1], counter[2], counter[3], key[0], key[1]);
    for (int k = 0; k < 4; k++)
        out[k] = words.w[k];
}

#endif /* DROPOUT_PHILOX_H */
