/*
 * bench_limits.c — the two limits `dropout bench` measures every operation
 * against, written here from docs/SPEC.md and the instruction set, without
 * the library's kernels (a yardstick must not share the code it measures):
 *
 *   memory:  y = s * x with plain stores, and with streaming (non-temporal)
 *            stores, which skip reading y's cache lines before writing them;
 *            the faster of the two is the roofline.
 *   compute: a loop that only generates mask stream v1's random bytes
 *            (Philox4x32-10 of every 16-element block) and counts the bytes
 *            below t0, the least any dropout of those elements has to
 *            compute.  On x86-64 it runs Philox in the dense layout (one
 *            block per 32-bit lane: 8 blocks per AVX2 vector, 16 per
 *            AVX-512 vector, SETS sets interleaved: the fastest count
 *            measured on Zen 4, see below), in the variant that matches
 *            the library's ISA; elsewhere plain C.
 *   floor:   (AVX-512, for bench/kernel_ab.c) the same Philox loop with the
 *            least element work of an f32 forward between its rounds.
 *
 * Every loop comes in the widest vectors of the library's ISA (level: 0
 * plain C, 1 AVX2, 2 AVX-512), so a narrow yardstick cannot flatter the
 * ratio.  The SIMD variants use function target attributes, so this file
 * needs no ISA flags; they run only where dropout_isa() says the CPU has
 * the ISA.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "bench_limits.h"

#include <string.h>
#include <time.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define BENCH_X86 1
#include <immintrin.h>
#endif

#define M0 0xD2511F53u
#define M1 0xCD9E8D57u
#define W0 0x9E3779B9u
#define W1 0xBB67AE85u

/* ---- memory --------------------------------------------------------------- */

/* y = s * x in plain C; the compiler vectorizes it for the target of the
 * function it is inlined into (restrict: the buffers are distinct, so
 * without a runtime overlap check). */
static inline __attribute__((always_inline)) void scale_loop(int f64, size_t n, double s,
                                                              const void *x, void *y)
{
    if (f64) {
        const double *restrict in = x;
        double *restrict out = y;
        for (size_t i = 0; i < n; i++)
            out[i] = s * in[i];
    } else {
        const float *restrict in = x;
        float *restrict out = y;
        const float s32 = (float)s;
        for (size_t i = 0; i < n; i++)
            out[i] = s32 * in[i];
    }
}

#ifdef BENCH_X86
__attribute__((target("avx2"))) static void scale_avx2(int f64, size_t n, double s,
                                                       const void *x, void *y)
{
    scale_loop(f64, n, s, x, y);
}

__attribute__((target("avx512f"))) static void scale_avx512(int f64, size_t n, double s,
                                                            const void *x, void *y)
{
    scale_loop(f64, n, s, x, y);
}

/* Streaming stores need aligned y: the elements before the first vector
 * boundary go one by one (y is element-aligned).  One definition for every
 * width: VEC is the intrinsics' prefix (_mm, _mm256, _mm512) and type
 * (__m128, ...), BYTES the vector size. */
#define STREAM_FUNCTION(name, isa, VEC, TYPE, BYTES)                                       \
    __attribute__((target(isa))) static void name(int f64, size_t n, double s,             \
                                                     const void *x, void *y)               \
    {                                                                                      \
        size_t i = 0;                                                                      \
        if (f64) {                                                                         \
            const double *in = x;                                                          \
            double *out = y;                                                               \
            for (; i < n && ((uintptr_t)(out + i) & (BYTES - 1)); i++)                     \
                out[i] = s * in[i];                                                        \
            const TYPE##d sv = VEC##_set1_pd(s);                                           \
            for (; i + BYTES / 8 <= n; i += BYTES / 8)                                     \
                VEC##_stream_pd(out + i, VEC##_mul_pd(sv, VEC##_loadu_pd(in + i)));        \
            for (; i < n; i++)                                                             \
                out[i] = s * in[i];                                                        \
        } else {                                                                           \
            const float *in = x;                                                           \
            float *out = y;                                                                \
            const float s32 = (float)s;                                                    \
            for (; i < n && ((uintptr_t)(out + i) & (BYTES - 1)); i++)                     \
                out[i] = s32 * in[i];                                                      \
            const TYPE sv = VEC##_set1_ps(s32);                                            \
            for (; i + BYTES / 4 <= n; i += BYTES / 4)                                     \
                VEC##_stream_ps(out + i, VEC##_mul_ps(sv, VEC##_loadu_ps(in + i)));        \
            for (; i < n; i++)                                                             \
                out[i] = s32 * in[i];                                                      \
        }                                                                                  \
        _mm_sfence();                                                                      \
    }

STREAM_FUNCTION(stream_avx2, "avx2", _mm256, __m256, 32)
STREAM_FUNCTION(stream_avx512, "avx512f", _mm512, __m512, 64)
STREAM_FUNCTION(stream_sse2, "sse2", _mm, __m128, 16) /* every x86-64 */
#undef STREAM_FUNCTION
#endif

void bench_scale(int level, int f64, size_t n, double s, const void *x, void *y)
{
#ifdef BENCH_X86
    if (level == 2) {
        scale_avx512(f64, n, s, x, y);
        return;
    }
    if (level == 1) {
        scale_avx2(f64, n, s, x, y);
        return;
    }
#endif
    (void)level;
    scale_loop(f64, n, s, x, y);
}

int bench_scale_streaming_available(void)
{
#ifdef BENCH_X86
    return 1;
#else
    return 0;
#endif
}

void bench_scale_streaming(int level, int f64, size_t n, double s, const void *x, void *y)
{
#ifdef BENCH_X86
    if (level == 2)
        stream_avx512(f64, n, s, x, y);
    else if (level == 1)
        stream_avx2(f64, n, s, x, y);
    else
        stream_sse2(f64, n, s, x, y);
#else
    bench_scale(level, f64, n, s, x, y);
#endif
}

/* ---- compute: Philox only -------------------------------------------------- */

/* Bytes of block j below t0, for the bytes of elements [lo, hi) of it
 * (0 <= lo < hi <= 16), in plain C. */
static uint64_t philox_block_scalar(const bench_philox_args *a, uint64_t j, unsigned lo,
                                    unsigned hi)
{
    uint32_t c0 = (uint32_t)j, c1 = (uint32_t)(j >> 32);
    uint32_t c2 = (uint32_t)a->stream, c3 = (uint32_t)(a->stream >> 32);
    uint32_t k0 = (uint32_t)a->seed, k1 = (uint32_t)(a->seed >> 32);
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)M0 * c0, p1 = (uint64_t)M1 * c2;
        c0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        c1 = (uint32_t)p1;
        c2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c3 = (uint32_t)p0;
        k0 += W0;
        k1 += W1;
    }
    const uint32_t w[4] = {c0, c1, c2, c3};
    uint64_t count = 0;
    for (unsigned b = lo; b < hi; b++)
        count += ((w[b / 4] >> (8 * (b % 4))) & 0xFFu) < a->t0;
    return count;
}

#ifdef BENCH_X86
/* Independent sets of blocks per step, interleaved so that one set's
 * multiply latency hides behind the others'.  Measured on Zen 4 at
 * n = 2^16, ns per element for 1, 2, 3, 4 sets: AVX2 0.153, 0.125, 0.112,
 * 0.108 (four spill registers and still win); AVX-512 0.094, 0.085, 0.082,
 * 0.076. */
#define SETS 4

/* 8 blocks per vector, one per 32-bit lane; the full 64-bit product of
 * every lane from two vpmuludq (even lanes, odd lanes) and vpmulld. */
__attribute__((target("avx2"))) static inline void mulhilo8(__m256i a, __m256i m, __m256i *hi,
                                                            __m256i *lo)
{
    __m256i even = _mm256_mul_epu32(a, m), odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
    *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
    *lo = _mm256_mullo_epi32(a, m);
}

/* Blocks [j, j + blocks), blocks a multiple of 8 SETS: SETS sets of 8 per step. */
__attribute__((target("avx2"))) static uint64_t philox_avx2(const bench_philox_args *a,
                                                            uint64_t j, uint64_t blocks)
{
    const __m256i m0 = _mm256_set1_epi32((int)M0), m1 = _mm256_set1_epi32((int)M1);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    const __m256i t0 = _mm256_set1_epi8((char)(a->t0 ^ 0x80u));
    uint64_t count = 0;
    for (uint64_t b = 0; b + 8 * SETS <= blocks; b += 8 * SETS) {
        __m256i c[SETS][4];
        for (int h = 0; h < SETS; h++) {
            uint64_t base = j + b + 8 * (uint64_t)h;
            /* lo(base + lane) by a 32-bit add: the carry into hi is left
             * out (the bench's blocks stay far below 2^32) */
            c[h][0] = _mm256_add_epi32(_mm256_set1_epi32((int)(uint32_t)base), lane);
            c[h][1] = _mm256_set1_epi32((int)(uint32_t)(base >> 32));
            c[h][2] = _mm256_set1_epi32((int)(uint32_t)a->stream);
            c[h][3] = _mm256_set1_epi32((int)(uint32_t)(a->stream >> 32));
        }
        __m256i k0 = _mm256_set1_epi32((int)(uint32_t)a->seed);
        __m256i k1 = _mm256_set1_epi32((int)(uint32_t)(a->seed >> 32));
        for (int r = 0; r < 10; r++) {
            for (int h = 0; h < SETS; h++) {
                __m256i hi0, lo0, hi1, lo1;
                mulhilo8(c[h][0], m0, &hi0, &lo0);
                mulhilo8(c[h][2], m1, &hi1, &lo1);
                c[h][0] = _mm256_xor_si256(_mm256_xor_si256(hi1, c[h][1]), k0);
                c[h][1] = lo1;
                c[h][2] = _mm256_xor_si256(_mm256_xor_si256(hi0, c[h][3]), k1);
                c[h][3] = lo0;
            }
            k0 = _mm256_add_epi32(k0, _mm256_set1_epi32((int)W0));
            k1 = _mm256_add_epi32(k1, _mm256_set1_epi32((int)W1));
        }
        /* bytes below t0 (unsigned: flip the sign bits, compare signed) */
        for (int h = 0; h < SETS; h++)
            for (int w = 0; w < 4; w++)
                count += (unsigned)__builtin_popcount((unsigned)_mm256_movemask_epi8(
                    _mm256_cmpgt_epi8(t0, _mm256_xor_si256(c[h][w], flip))));
    }
    return count;
}

/* 16 blocks per vector; hi and lo merged with masked dword swaps. */
__attribute__((target("avx512f,avx512bw"))) static inline void mulhilo16(__m512i a, __m512i m,
                                                                         __m512i *hi, __m512i *lo)
{
    __m512i even = _mm512_mul_epu32(a, m), odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), m);
    *hi = _mm512_mask_shuffle_epi32(odd, 0x5555, even, _MM_PERM_CDAB);
    *lo = _mm512_mask_shuffle_epi32(even, 0xAAAA, odd, _MM_PERM_CDAB);
}

/* The least element work of a fused f32 forward, for the floor: y =
 * maskz_mul(keep, x, s) over 16 floats, the keep bits loaded from memory
 * straight into a mask register (as the kernels do). */
typedef uint16_t bench_u16_alias __attribute__((may_alias));
__attribute__((target("avx512f,avx512bw"))) static inline void
floor_elems16(const float *x, float *y, const uint64_t *keep, __m512 s, size_t count)
{
    for (size_t i = 0; i < count; i += 16) {
        __mmask16 m;
        __asm__("kmovw %1, %0" : "=k"(m) : "m"(((const bench_u16_alias *)keep)[i / 16]));
        _mm512_storeu_ps(y + i, _mm512_maskz_mul_ps(m, _mm512_loadu_ps(x + i), s));
    }
}

/* With x (the floor): after rounds 3, 5, 7, 9 a quarter of the elements of
 * the step before, their keep bits that step's compares (in the Philox's
 * word order: no transpose). */
__attribute__((target("avx512f,avx512bw"))) static inline __attribute__((always_inline)) uint64_t
philox_avx512_with(const bench_philox_args *a, uint64_t j, uint64_t blocks, const float *x,
                   float *y, float s)
{
    enum { STEP = 16 * SETS * 16 }; /* elements per step */
    uint64_t keep[STEP / 64];
    const __m512 sv = _mm512_set1_ps(s);
    const __m512i m0 = _mm512_set1_epi32((int)M0), m1 = _mm512_set1_epi32((int)M1);
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i t0 = _mm512_set1_epi8((char)a->t0);
    uint64_t count = 0;
    for (uint64_t b = 0; b + 16 * SETS <= blocks; b += 16 * SETS) {
        __m512i c[SETS][4];
        for (int h = 0; h < SETS; h++) {
            uint64_t base = j + b + 16 * (uint64_t)h;
            c[h][0] = _mm512_add_epi32(_mm512_set1_epi32((int)(uint32_t)base), lane);
            c[h][1] = _mm512_set1_epi32((int)(uint32_t)(base >> 32));
            c[h][2] = _mm512_set1_epi32((int)(uint32_t)a->stream);
            c[h][3] = _mm512_set1_epi32((int)(uint32_t)(a->stream >> 32));
        }
        __m512i k0 = _mm512_set1_epi32((int)(uint32_t)a->seed);
        __m512i k1 = _mm512_set1_epi32((int)(uint32_t)(a->seed >> 32));
        for (int r = 0; r < 10; r++) {
            if (x != NULL && b > 0 && r % 2 == 0 && r > 0) {
                const size_t e = (size_t)(b - 16 * SETS) * 16 + (size_t)(r / 2 - 1) * (STEP / 4);
                floor_elems16(x + e, y + e, keep + (r / 2 - 1) * (STEP / 256), sv, STEP / 4);
            }
            for (int h = 0; h < SETS; h++) {
                __m512i hi0, lo0, hi1, lo1;
                mulhilo16(c[h][0], m0, &hi0, &lo0);
                mulhilo16(c[h][2], m1, &hi1, &lo1);
                c[h][0] = _mm512_ternarylogic_epi32(hi1, c[h][1], k0, 0x96); /* a ^ b ^ c */
                c[h][1] = lo1;
                c[h][2] = _mm512_ternarylogic_epi32(hi0, c[h][3], k1, 0x96);
                c[h][3] = lo0;
            }
            k0 = _mm512_add_epi32(k0, _mm512_set1_epi32((int)W0));
            k1 = _mm512_add_epi32(k1, _mm512_set1_epi32((int)W1));
        }
        if (x != NULL) {
            for (int h = 0; h < SETS; h++)
                for (int w = 0; w < 4; w++)
                    keep[4 * h + w] = _mm512_cmplt_epu8_mask(c[h][w], t0);
            count += keep[0];
            continue;
        }
        for (int h = 0; h < SETS; h++)
            for (int w = 0; w < 4; w++)
                count += (uint64_t)__builtin_popcountll(_mm512_cmplt_epu8_mask(c[h][w], t0));
    }
    if (x != NULL && blocks > 0) {
        const size_t e = (size_t)(blocks - 16 * SETS) * 16;
        floor_elems16(x + e, y + e, keep, sv, STEP);
    }
    return count;
}

__attribute__((target("avx512f,avx512bw"))) static uint64_t philox_avx512(
    const bench_philox_args *a, uint64_t j, uint64_t blocks)
{
    return philox_avx512_with(a, j, blocks, NULL, NULL, 0.0f);
}

__attribute__((target("avx512f,avx512bw"))) static uint64_t floor_avx512(
    const bench_philox_args *a, uint64_t blocks, const float *x, float *y, float s)
{
    return philox_avx512_with(a, 0, blocks, x, y, s);
}
#endif

double bench_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int bench_compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

uint64_t bench_philox(const bench_philox_args *a, uint64_t first, size_t n)
{
    if (n == 0)
        return 0;
    /* whole blocks [j0, j1) of the elements; the partial ones at the ends in C */
    const uint64_t last = first + n - 1, j_first = first / 16, j_last = last / 16;
    uint64_t count = 0, j = j_first;
    if (first % 16 || j_first == j_last) {
        unsigned hi = j_first == j_last ? (unsigned)(last % 16) + 1 : 16;
        count += philox_block_scalar(a, j_first, (unsigned)(first % 16), hi);
        j++;
    }
    uint64_t end = j_last; /* the last block: whole if last % 16 == 15 */
    if (j <= j_last && last % 16 == 15)
        end = j_last + 1;
    uint64_t done = j;
#ifdef BENCH_X86
    if (end > j && a->level == 2) {
        const uint64_t whole = (end - j) / (16 * SETS) * (16 * SETS);
        count += philox_avx512(a, j, whole);
        done = j + whole;
    } else if (end > j && a->level == 1) {
        const uint64_t whole = (end - j) / (8 * SETS) * (8 * SETS);
        count += philox_avx2(a, j, whole);
        done = j + whole;
    }
#endif
    for (; done < end; done++)
        count += philox_block_scalar(a, done, 0, 16);
    if (j_last >= j && end == j_last)
        count += philox_block_scalar(a, j_last, 0, (unsigned)(last % 16) + 1);
    return count;
}

uint64_t bench_fused_floor(const bench_philox_args *a, size_t n, float s, const float *x, float *y)
{
#ifdef BENCH_X86
    if (a->level == 2 && n % (16 * SETS * 16) == 0)
        return floor_avx512(a, n / 16, x, y, s);
#endif
    (void)a, (void)n, (void)s, (void)x, (void)y;
    return UINT64_MAX;
}

int bench_philox_level(const char *isa)
{
#ifdef BENCH_X86
    if (strcmp(isa, "avx512") == 0)
        return 2;
    if (strcmp(isa, "avx2") == 0)
        return 1;
#endif
    (void)isa;
    return 0;
}
