/*
 * bench_limits.h — the yardsticks of `dropout bench` (bench_limits.c): the
 * memory roofline y = s * x (plain and streaming stores) and the compute
 * limit, a loop that only generates mask stream v1's random bytes.
 */
#ifndef DROPOUT_CLI_BENCH_LIMITS_H
#define DROPOUT_CLI_BENCH_LIMITS_H

#include <stddef.h>
#include <stdint.h>

/* y[i] = s * x[i], plain stores (the compiler's loop), in the vectors of
 * `level` (bench_philox_level). */
void bench_scale(int level, int f64, size_t n, double s, const void *x, void *y);
/* The same with streaming stores where the machine has them (x86-64);
 * elsewhere plain, and bench_scale_streaming_available() says 0. */
void bench_scale_streaming(int level, int f64, size_t n, double s, const void *x, void *y);
int bench_scale_streaming_available(void);

typedef struct bench_philox_args {
    uint64_t seed, stream;
    uint32_t t0;  /* bytes below it count (the keep test of SPEC section 2) */
    int level;    /* 0: plain C, 1: AVX2, 2: AVX-512 (what the CPU runs; also the
                   * memory loops' vectors) */
} bench_philox_args;

/* The level that matches an ISA name of dropout_isa(): 0 plain C, 1 AVX2,
 * 2 AVX-512. */
int bench_philox_level(const char *isa);

/* Philox4x32-10 of the blocks of elements [first, first + n), their bytes
 * compared with t0; returns how many are below (so nothing is optimized
 * away). */
uint64_t bench_philox(const bench_philox_args *a, uint64_t first, size_t n);

/* The floor of a fused f32 forward with AVX-512 (level 2): the Philox loop
 * of bench_philox over elements [0, n) with, between its rounds, the least
 * element work a forward needs (y = keep ? x * s : +0.0, the keep data
 * loaded as the kernels load it) on the elements of the step before, keep
 * from that step's compares in the Philox's own word order (no transpose,
 * no ties: not the mask's bits, only its cost).  For bench/kernel_ab.c:
 * how close any forward can come to the Philox loop on this core.  n a
 * multiple of 1024; otherwise, and on other levels, returns UINT64_MAX and
 * writes nothing.  (No AVX2 floor: written the same way, with AVX2's 16
 * registers, it spilled and ran slower than the AVX2 kernel itself.) */
uint64_t bench_fused_floor(const bench_philox_args *a, size_t n, float s, const float *x,
                           float *y);

/* The clock every timing of the tool uses (CLOCK_MONOTONIC), in ns, and
 * the order of doubles for qsort (medians of samples). */
double bench_now_ns(void);
int bench_compare_doubles(const void *a, const void *b);

#endif /* DROPOUT_CLI_BENCH_LIMITS_H */
