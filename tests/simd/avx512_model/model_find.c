/*
 * model_find.c — the kernel tables test_simd_kernels sees in the AVX-512
 * model build: avx512.c compiled against the model immintrin.h (beside this
 * file), completed from the scalar reference as dispatch.c completes the
 * real one (kernels_complete), and the scalar table.  Any CPU runs them.
 */
#include <string.h>

#include "kernels/kernels.h"

const dropout_kernels *model_kernels_find(const char *isa);

const dropout_kernels *model_kernels_find(const char *isa)
{
    static dropout_kernels avx512;
    if (strcmp(isa, "avx512") == 0) {
        avx512 = dropout_kernels_avx512;
        kernels_complete(&avx512, &dropout_kernels_scalar);
        return &avx512;
    }
    if (strcmp(isa, "scalar") == 0)
        return &dropout_kernels_scalar;
    return NULL;
}
