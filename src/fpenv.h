/*
 * fpenv.h — every call computes in the IEEE default floating-point mode.
 *
 * SPEC section 1 defines the bits in IEEE arithmetic: round to nearest even,
 * subnormals as they are.  A caller may have changed its thread's mode
 * (torch.set_flush_denormal, _mm_setcsr with FTZ/DAZ, fesetround, FPCR.FZ on
 * AArch64), and the pool's workers have a mode of their own; so every public
 * entry point that computes with floats (the threshold T and the scale are
 * computed in double too) runs its work between fpenv_enter() and
 * fpenv_leave(), and every pool worker sets the default mode before each job
 * (parallel.c).  The caller's mode is restored on return; which exception
 * flags a call leaves raised is unspecified.
 *
 * Cost: one read of the control register per call when the caller is in the
 * default mode already (the common case), plus two writes when it is not.
 *
 * The work must be an out-of-line call (FPENV_RETURN calls a function marked
 * FPENV_WORK): the compiler knows nothing of the mode register and could move
 * arithmetic that it can see across the switch.
 */
#ifndef DROPOUT_FPENV_H
#define DROPOUT_FPENV_H

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
/* MXCSR: all exceptions masked, round to nearest, no FTZ/DAZ; the low 6
 * bits are the sticky exception flags. */
#define FPENV_DEFAULT 0x1F80u
#define FPENV_FLAGS 0x3Fu
typedef unsigned fpenv_saved;
static inline unsigned fpenv_get(void) { return _mm_getcsr(); }
static inline void fpenv_set(unsigned csr) { _mm_setcsr(csr); }
#elif defined(__aarch64__)
#include <stdint.h>
/* FPCR: AHP, DN, FZ, RMode, FZ16, the trap enables (IDE, IXE ... IOE) and
 * FEAT_AFP's NEP, AH, FIZ are all 0 by default; other bits are kept. */
#define FPENV_MODE_BITS ((uint64_t)0x07C89F07u)
typedef uint64_t fpenv_saved;
static inline uint64_t fpenv_get(void)
{
    uint64_t fpcr;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(fpcr));
    return fpcr;
}
static inline void fpenv_set(uint64_t fpcr) { __asm__ __volatile__("msr fpcr, %0" : : "r"(fpcr)); }
#else
#include <fenv.h>
#define FPENV_GENERIC 1
typedef fenv_t fpenv_saved;
#endif

#if defined(__GNUC__)
#define FPENV_WORK __attribute__((noinline))
#else
#define FPENV_WORK
#endif

/* Switches the calling thread to the default mode; returns what to restore. */
static inline fpenv_saved fpenv_enter(void)
{
#if defined(FPENV_GENERIC)
    fenv_t caller;
    feholdexcept(&caller);
    fesetenv(FE_DFL_ENV);
    return caller;
#elif defined(__aarch64__)
    uint64_t caller = fpenv_get();
    if (caller & FPENV_MODE_BITS)
        fpenv_set(caller & ~FPENV_MODE_BITS);
    return caller;
#else
    unsigned caller = fpenv_get();
    if ((caller & ~FPENV_FLAGS) != FPENV_DEFAULT)
        fpenv_set(FPENV_DEFAULT);
    return caller;
#endif
}

static inline void fpenv_leave(fpenv_saved caller)
{
#if defined(FPENV_GENERIC)
    fesetenv(&caller);
#elif defined(__aarch64__)
    if (caller & FPENV_MODE_BITS)
        fpenv_set(caller);
#else
    if ((caller & ~FPENV_FLAGS) != FPENV_DEFAULT)
        fpenv_set(caller);
#endif
}

/* A pool worker, before a job: the default mode, whatever it had. */
static inline void fpenv_default(void)
{
    (void)fpenv_enter();
}

/* return work; — with `work` (an FPENV_WORK function's call, of type `type`)
 * run in the default mode. */
#define FPENV_RETURN(type, work)                                                                 \
    do {                                                                                         \
        fpenv_saved fpenv_caller_ = fpenv_enter();                                               \
        type fpenv_result_ = (work);                                                             \
        fpenv_leave(fpenv_caller_);                                                              \
        return fpenv_result_;                                                                    \
    } while (0)

#endif /* DROPOUT_FPENV_H */
