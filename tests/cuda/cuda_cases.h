/*
 * cuda_cases.h — what the CUDA backend's tests share: the operations they
 * compare (one enum, one name each), the CPU library's call for each (the
 * reference), and random element data with NaN payloads, Inf, -0 and
 * subnormals in every dtype.
 */
#ifndef DROPOUT_TESTS_CUDA_CASES_H
#define DROPOUT_TESTS_CUDA_CASES_H

#include "test_util.h"

#include "cuda_plan.h" /* cuda_dtype_size, and half.h's conversions */

enum op_kind { OP_FORWARD, OP_FORWARD_NOMASK, OP_EVAL, OP_BACKWARD_MASK, OP_BACKWARD_REGEN,
               OP_MASK, OP_FORWARD_GRAPH, OP_REGEN_GRAPH, OP_MASK_GRAPH, OP_KINDS };
static const char *op_names[] = {"forward",       "forward (no mask)", "eval",
                                 "backward_mask", "backward_regen",    "mask",
                                 "forward_graph", "regen_graph",       "mask_graph"};
static const char *dtype_names[] = {"f32", "f64", "bf16", "f16"};

/* The CPU library's call for the op. */
static int cpu_call(int op, int dtype, const dropout_params *params, void *y, const void *x,
                    size_t n, uint8_t *mask, size_t mask_size)
{
    switch (op) {
    case OP_FORWARD:
    case OP_FORWARD_NOMASK:
    case OP_EVAL:
    case OP_FORWARD_GRAPH:
        switch (dtype) {
        case DROPOUT_DTYPE_F32: return dropout_forward_f32(params, (float *)y, (const float *)x, n, mask, mask_size);
        case DROPOUT_DTYPE_F64: return dropout_forward_f64(params, (double *)y, (const double *)x, n, mask, mask_size);
        case DROPOUT_DTYPE_BF16: return dropout_forward_bf16(params, (uint16_t *)y, (const uint16_t *)x, n, mask, mask_size);
        default: return dropout_forward_f16(params, (uint16_t *)y, (const uint16_t *)x, n, mask, mask_size);
        }
    case OP_BACKWARD_MASK:
        switch (dtype) {
        case DROPOUT_DTYPE_F32: return dropout_backward_mask_f32(params, (float *)y, (const float *)x, n, mask, mask_size);
        case DROPOUT_DTYPE_F64: return dropout_backward_mask_f64(params, (double *)y, (const double *)x, n, mask, mask_size);
        case DROPOUT_DTYPE_BF16: return dropout_backward_mask_bf16(params, (uint16_t *)y, (const uint16_t *)x, n, mask, mask_size);
        default: return dropout_backward_mask_f16(params, (uint16_t *)y, (const uint16_t *)x, n, mask, mask_size);
        }
    case OP_BACKWARD_REGEN:
    case OP_REGEN_GRAPH:
        switch (dtype) {
        case DROPOUT_DTYPE_F32: return dropout_backward_regen_f32(params, (float *)y, (const float *)x, n);
        case DROPOUT_DTYPE_F64: return dropout_backward_regen_f64(params, (double *)y, (const double *)x, n);
        case DROPOUT_DTYPE_BF16: return dropout_backward_regen_bf16(params, (uint16_t *)y, (const uint16_t *)x, n);
        default: return dropout_backward_regen_f16(params, (uint16_t *)y, (const uint16_t *)x, n);
        }
    default:
        return dropout_mask(params, n, mask, mask_size);
    }
}

/* Random element bits: half arbitrary patterns (NaN payloads of both signs,
 * signalling NaNs, Inf, subnormals), half ordinary values, some specials. */
static void random_elements(test_rng *rng, int dtype, uint8_t *x, size_t n)
{
    const size_t size = cuda_dtype_size(dtype);
    for (size_t k = 0; k < n; k++) {
        uint64_t v = test_rng_next(rng);
        unsigned kind = (unsigned)test_rng_below(rng, 8);
        if (kind < 4) {
            double d = (test_rng_unit(rng) - 0.5) * 8.0;
            if (dtype == DROPOUT_DTYPE_F64)
                v = bits_f64(d);
            else if (dtype == DROPOUT_DTYPE_F32)
                v = bits_f32((float)d);
            else if (dtype == DROPOUT_DTYPE_BF16)
                v = half_bf16_from_f32((float)d);
            else
                v = half_f16_from_f32((float)d);
        } else if (kind == 4) { /* a NaN, maybe signalling, maybe negative */
            if (dtype == DROPOUT_DTYPE_F64)
                v = 0x7FF0000000000001ull | (v & 0x800FFFFFFFFFFFFFull);
            else if (dtype == DROPOUT_DTYPE_F32)
                v = 0x7F800001u | (v & 0x807FFFFFu);
            else if (dtype == DROPOUT_DTYPE_BF16)
                v = 0x7F81u | (v & 0x807Fu);
            else
                v = 0x7C01u | (v & 0x83FFu);
        } else if (kind == 5) { /* +-0, +-Inf, the largest finite, a subnormal */
            static const uint64_t f64s[] = {0, 0x8000000000000000ull, 0x7FF0000000000000ull, 0xFFF0000000000000ull, 0x7FEFFFFFFFFFFFFFull, 1};
            static const uint64_t f32s[] = {0, 0x80000000u, 0x7F800000u, 0xFF800000u, 0x7F7FFFFFu, 1};
            static const uint64_t bf16s[] = {0, 0x8000u, 0x7F80u, 0xFF80u, 0x7F7Fu, 1};
            static const uint64_t f16s[] = {0, 0x8000u, 0x7C00u, 0xFC00u, 0x7BFFu, 1};
            unsigned j = (unsigned)(v % 6);
            v = dtype == DROPOUT_DTYPE_F64 ? f64s[j] : dtype == DROPOUT_DTYPE_F32 ? f32s[j]
                : dtype == DROPOUT_DTYPE_BF16 ? bf16s[j] : f16s[j];
        }
        memcpy(x + k * size, &v, size); /* little-endian: the low bytes */
    }
}

#endif /* DROPOUT_TESTS_CUDA_CASES_H */
