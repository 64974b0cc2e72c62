/*
 * model_find.c — the kernel tables test_simd_kernels sees in the AVX-512
 * model build: avx512.c compiled against the model immintrin.h (beside this
 * file), and the scalar reference.  Any CPU runs them.
 */
#include <string.h>

#include "kernels/kernels.h"

const dropout_kernels *model_kernels_find(const char *isa);

const dropout_kernels *model_kernels_find(const char *isa)
{
    if (strcmp(isa, "avx512") == 0)
        return &dropout_kernels_avx512;
    if (strcmp(isa, "scalar") == 0)
        return &dropout_kernels_scalar;
    return NULL;
}
