/*
 * dispatch.c — the one selector: completes the ISA tables and picks one,
 * once, thread-safely.
 *
 * Each ISA file (src/kernels/) sets only the slots it speeds up; here every
 * table is completed once from the scalar one (kernels_complete), so every
 * caller gets a table with every slot set and never tests one for NULL.
 *
 * The first call of any operation runs choose_initial() under pthread_once:
 * DROPOUT_ISA if set (scalar, avx2, avx512, neon or auto), else the best
 * variant that both the CPU (cpuid) and the OS (xgetbv: the kernel saves the
 * YMM/ZMM registers on context switches) support.  The chosen table is an
 * atomic pointer, so dropout_set_isa() may switch it while other threads
 * run: each call reads it once and uses one table throughout.
 *
 * The library never prints: a DROPOUT_ISA that names an unknown variant, or
 * one this machine lacks, leaves the best available one in use and is
 * reported by dropout_isa_status(), which the CLI turns into an error line.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "dropout.h"
#include "kernels/kernels.h"

#ifdef DROPOUT_KERNELS_X86
#include <cpuid.h>

/* XCR0, the register-state components the OS saves (needs OSXSAVE). */
static uint64_t read_xcr0(void)
{
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

/* 0: neither, 1: AVX2 (+ F16C) usable, 2: that and AVX-512 F+BW+VL usable,
 * 3: that and AVX-512 DQ + BF16. */
static int x86_level(void)
{
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx))
        return 0;
    const unsigned osxsave = 1u << 27, avx = 1u << 28, f16c = 1u << 29;
    if ((ecx & (osxsave | avx | f16c)) != (osxsave | avx | f16c)) /* every AVX2 CPU has F16C */
        return 0;
    const uint64_t xcr0 = read_xcr0();
    if ((xcr0 & 0x6) != 0x6) /* XMM and YMM state */
        return 0;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx))
        return 0;
    if (!(ebx & (1u << 5))) /* AVX2 */
        return 0;
    const unsigned avx512 = (1u << 16) | (1u << 30) | (1u << 31); /* F, BW, VL */
    if ((ebx & avx512) != avx512 || (xcr0 & 0xE6) != 0xE6) /* + opmask, ZMM state */
        return 1;
    const int dq = (ebx >> 17) & 1;
    if (!dq || !__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) || !(eax & (1u << 5))) /* BF16 */
        return 2;
    return 3;
}
#endif

/* The complete tables: each ISA's own slots, the rest from scalar. */
typedef enum isa_id { ISA_SCALAR, ISA_AVX2, ISA_AVX512, ISA_AVX512_BF16, ISA_NEON, ISA_COUNT } isa_id;
static dropout_kernels complete[ISA_COUNT];
static pthread_once_t complete_once = PTHREAD_ONCE_INIT;

static void complete_tables(void)
{
    const dropout_kernels *own[ISA_COUNT] = {&dropout_kernels_scalar, NULL, NULL, NULL, NULL};
#ifdef DROPOUT_KERNELS_X86
    own[ISA_AVX2] = &dropout_kernels_avx2;
    own[ISA_AVX512] = &dropout_kernels_avx512;
    own[ISA_AVX512_BF16] = &dropout_kernels_avx512_bf16;
#endif
#ifdef DROPOUT_KERNELS_NEON
    own[ISA_NEON] = &dropout_kernels_neon;
#endif
    for (int i = 0; i < ISA_COUNT; i++) {
        if (own[i] == NULL)
            continue;
        complete[i] = *own[i];
        kernels_complete(&complete[i], &dropout_kernels_scalar);
    }
}

static const dropout_kernels *table(isa_id id)
{
    pthread_once(&complete_once, complete_tables);
    return &complete[id];
}

const dropout_kernels *dropout_kernels_find(const char *isa)
{
    if (isa == NULL)
        return NULL;
    if (strcmp(isa, "scalar") == 0)
        return table(ISA_SCALAR);
#ifdef DROPOUT_KERNELS_X86
    if (strcmp(isa, "avx2") == 0)
        return x86_level() >= 1 ? table(ISA_AVX2) : NULL;
    if (strcmp(isa, "avx512") == 0) { /* the bf16 build where the CPU runs it: same bits */
        const int level = x86_level();
        return level >= 3 ? table(ISA_AVX512_BF16) : level >= 2 ? table(ISA_AVX512) : NULL;
    }
#endif
#ifdef DROPOUT_KERNELS_NEON
    if (strcmp(isa, "neon") == 0)
        return table(ISA_NEON); /* part of the AArch64 base ISA */
#endif
    return NULL;
}

/* The fastest table this machine runs. */
static const dropout_kernels *best_kernels(void)
{
    static const char *const order[] = {"avx512", "avx2", "neon"};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const dropout_kernels *k = dropout_kernels_find(order[i]);
        if (k != NULL)
            return k;
    }
    return table(ISA_SCALAR);
}

static _Atomic(const dropout_kernels *) active_kernels;
static atomic_int env_status; /* what became of DROPOUT_ISA */
static pthread_once_t choose_once = PTHREAD_ONCE_INIT;

static void choose_initial(void)
{
    const char *name = getenv("DROPOUT_ISA");
    const dropout_kernels *k = NULL;
    int status = DROPOUT_OK;
    if (name != NULL && name[0] != '\0' && strcmp(name, "auto") != 0) {
        k = dropout_kernels_find(name);
        if (k == NULL)
            status = DROPOUT_ERROR_UNSUPPORTED_ISA;
    }
    atomic_store(&env_status, status);
    atomic_store(&active_kernels, k != NULL ? k : best_kernels());
}

const dropout_kernels *dropout_kernels_active(void)
{
    pthread_once(&choose_once, choose_initial);
    return atomic_load_explicit(&active_kernels, memory_order_acquire);
}

const char *dropout_isa(void)
{
    return dropout_kernels_active()->isa;
}

int dropout_isa_status(void)
{
    pthread_once(&choose_once, choose_initial);
    return atomic_load(&env_status);
}

int dropout_set_isa(const char *name)
{
    pthread_once(&choose_once, choose_initial); /* DROPOUT_ISA never overrides later */
    const dropout_kernels *k;
    if (name == NULL || strcmp(name, "auto") == 0)
        k = best_kernels();
    else
        k = dropout_kernels_find(name);
    if (k == NULL)
        return DROPOUT_ERROR_UNSUPPORTED_ISA;
    atomic_store_explicit(&active_kernels, k, memory_order_release);
    return DROPOUT_OK;
}
