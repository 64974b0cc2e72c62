/*
 * apply_scalar.c — the reference apply loops (see apply.h): SPEC section 1
 * for bf16/f16, and the fused bias + dropout + residual, one element at a time.
 */
#include <string.h>

#include "apply.h"
#include "dropout.h"
#include "half.h"

static int bit_at(const uint8_t *bits, size_t k)
{
    return (bits[k / 8] >> (k % 8)) & 1u;
}

static void scale_bf16_scalar(size_t n, float s, const uint8_t *bits, const uint16_t *x,
                              uint16_t *y)
{
    for (size_t k = 0; k < n; k++)
        kernels_store_u16(y, k, half_dropout_one(1, bit_at(bits, k), kernels_load_u16(x, k), s));
}

static void scale_f16_scalar(size_t n, float s, const uint8_t *bits, const uint16_t *x,
                             uint16_t *y)
{
    for (size_t k = 0; k < n; k++)
        kernels_store_u16(y, k, half_dropout_one(0, bit_at(bits, k), kernels_load_u16(x, k), s));
}

static void bias_residual_f32_scalar(size_t n, float s, const uint8_t *bits, const float *x,
                                     const float *bias, const float *residual, float *y,
                                     int stream)
{
    (void)stream; /* plain C: the compiler's stores */
    for (size_t k = 0; k < n; k++)
        family_bias_residual_one(bits, k, s, x, bias, residual, y);
}

static void add_rows_f32_scalar(size_t width, size_t rows, size_t stride, const float *x,
                                double *sum)
{
    family_column_sums(0, width, rows, stride, x, sum);
}

const family_apply family_apply_scalar = {
    .isa = "scalar",
    .scale_bf16 = scale_bf16_scalar,
    .scale_f16 = scale_f16_scalar,
    .bias_residual_f32 = bias_residual_f32_scalar,
    .add_rows_f32 = add_rows_f32_scalar,
};

/* ---- selection --------------------------------------------------------------
 * Follows the kernel table's choice (dropout_isa(), which DROPOUT_ISA and
 * dropout_set_isa() steer), so forcing "scalar" forces these loops too; the
 * CPU check is repeated because a table may need more than the kernels do
 * (F16C). */

#if defined(DROPOUT_FAMILY_X86)
#include <cpuid.h>
#include <stdatomic.h>

static int cpu_has_avx512(void)
{
    return __builtin_cpu_supports("avx512f");
}

/* F16C is CPUID.1:ECX bit 29 (asked directly: not every compiler's
 * __builtin_cpu_supports knows "f16c"); its state is the AVX state that the
 * avx2 check already covers.  Asked once: CPUID traps to the hypervisor on
 * a virtual machine, microseconds per family call otherwise. */
static int cpu_has_avx2(void)
{
    static atomic_int known = -1; /* -1: not asked yet; any thread may ask */
    int answer = atomic_load_explicit(&known, memory_order_relaxed);
    if (answer < 0) {
        unsigned eax, ebx, ecx, edx;
        answer = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && __builtin_cpu_supports("avx2") &&
                 ((ecx >> 29) & 1u);
        atomic_store_explicit(&known, answer, memory_order_relaxed);
    }
    return answer;
}
#endif

const family_apply *family_apply_active(void)
{
#if defined(DROPOUT_FAMILY_X86)
    const char *isa = dropout_isa();
    if (strcmp(isa, "avx512") == 0 && cpu_has_avx512())
        return &family_apply_avx512;
    if ((strcmp(isa, "avx512") == 0 || strcmp(isa, "avx2") == 0) && cpu_has_avx2())
        return &family_apply_avx2;
#endif
    return &family_apply_scalar;
}

size_t family_apply_available(const family_apply **tables, size_t capacity)
{
    size_t count = 0;
    if (count < capacity)
        tables[count++] = &family_apply_scalar;
#if defined(DROPOUT_FAMILY_X86)
    if (count < capacity && cpu_has_avx2())
        tables[count++] = &family_apply_avx2;
    if (count < capacity && cpu_has_avx512())
        tables[count++] = &family_apply_avx512;
#endif
    return count;
}
