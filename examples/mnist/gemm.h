/*
 * gemm.h — the one matrix product the network needs, row-major:
 *
 *     C[M x N] = alpha * op(A)[M x K] * op(B)[K x N] + beta * C
 *
 * op(X) is X or X^T.  Two back ends behind one call: OpenBLAS cblas_sgemm
 * (when built with it) and a plain C reference that is always built and is
 * the oracle the BLAS path is tested against.
 */
#ifndef MNIST_GEMM_H
#define MNIST_GEMM_H

#include <stddef.h>

typedef enum gemm_backend { GEMM_REFERENCE = 0, GEMM_BLAS = 1 } gemm_backend;

/* 1 if this build has cblas_sgemm. */
int gemm_have_blas(void);
/* Selects the back end; GEMM_BLAS without BLAS returns -1. */
int gemm_set_backend(gemm_backend backend);
gemm_backend gemm_get_backend(void);
const char *gemm_backend_name(void);
/* Thread count of the BLAS (openblas_set_num_threads); no-op for reference. */
void gemm_set_threads(int threads);

void gemm_forward(int trans_a, int trans_b, size_t M, size_t N, size_t K,
                  float alpha, const float *A, size_t lda, const float *B,
                  size_t ldb, float beta, float *C, size_t ldc);

/* The reference, callable directly (tests). */
void gemm_reference(int trans_a, int trans_b, size_t M, size_t N, size_t K,
                    float alpha, const float *A, size_t lda, const float *B,
                    size_t ldb, float beta, float *C, size_t ldc);

#endif
