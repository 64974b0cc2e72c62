/*
 * cpu_features.c — run by CMake at configure time: prints the SIMD variants
 * the build machine can run (checked by the compiler's own cpuid/xgetbv
 * code, independently of src/dispatch.c), so tests/simd.cmake registers a
 * test for each of them and says why it leaves any out.
 */
#include <stdio.h>

int main(void)
{
    printf("scalar");
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2"))
        printf(";avx2");
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl"))
        printf(";avx512");
#endif
#if defined(__aarch64__)
    printf(";neon");
#endif
    return 0;
}
