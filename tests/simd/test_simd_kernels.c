/*
 * test_simd_kernels.c — one ISA's kernel table against the scalar reference,
 * bit for bit, for every operation and dtype.
 *
 *     test_simd_kernels avx2
 *
 * Cases: every n from 1 to 300 and a few large ones; `first` at 0, at
 * random offsets inside a block, beyond 2^32 and near 2^64; x, y and the
 * mask at every misalignment; out-of-place and in-place; inputs with NaN,
 * +-Inf, +-0 and subnormals; p with thresholds that make ties keep, ties
 * drop (tlow == 0) and t0 at both ends.  Every output buffer has guard bytes
 * on both sides.  Fails (does not skip) if this CPU cannot run the ISA:
 * CMake registers the test only for ISAs the build machine runs.
 */
#include "simd_test.h"

#include "family/half.h"
#include "kernels/kernels.h"

/* Where the tables come from: the library's dispatcher, or (the AVX-512
 * model build, tests/simd.cmake) the model's own lookup. */
#ifndef SIMD_TEST_FIND
#define SIMD_TEST_FIND dropout_kernels_find
#else
const dropout_kernels *SIMD_TEST_FIND(const char *isa);
#endif

/* The kernels need 0 < T < 2^32; p == 0, p == 1 and thresholds that keep or
 * drop everything are the API's job (test_simd_api.c checks those). */
static const double test_p[] = {
    3e-10,        /* T = 2^32 - 1: t0 = 255, ties almost always keep           */
    0.1, 0.3,     /* ordinary thresholds                                     */
    0.5, 0.25,    /* tlow == 0: every tie drops                              */
    0.9,
    1.0 - 3e-10,  /* T = 1: t0 = 0, every kept element is a tie              */
    0.50000001,   /* tlow != 0 next to a power of two                        */
};
#define P_COUNT (sizeof test_p / sizeof test_p[0])

static const dropout_kernels *ref = &dropout_kernels_scalar;
static const dropout_kernels *isa;

/* One case: all operations on n elements from `first`, pointers misaligned
 * by `misalign` bytes (x, y, mask each a little differently). */
static void check_case(double p, uint64_t seed, uint64_t stream, uint64_t first, size_t n,
                       size_t misalign, uint64_t *rng)
{
    mask_stream ms = mask_stream_make(seed, stream, p);
    const size_t mask_bytes = (n + 7) / 8;
    const float s32 = (float)(1.0 / (1.0 - p));
    const double s64 = 1.0 / (1.0 - p);

    /* element-aligned (C requires it), vector-misaligned */
    guarded x32 = guarded_alloc(n * 4, 4 * (misalign % 16));
    guarded y32 = guarded_alloc(n * 4, 4 * ((misalign + 3) % 16));
    guarded r32 = guarded_alloc(n * 4, 0);
    guarded x64 = guarded_alloc(n * 8, 8 * (misalign % 8));
    guarded y64 = guarded_alloc(n * 8, 8 * ((misalign + 5) % 8));
    guarded r64 = guarded_alloc(n * 8, 0);
    guarded m = guarded_alloc(mask_bytes, misalign % 64);
    guarded rm = guarded_alloc(mask_bytes, 0);
    float *x = (float *)x32.data, *y = (float *)y32.data, *yr = (float *)r32.data;
    double *xd = (double *)x64.data, *yd = (double *)y64.data, *ydr = (double *)r64.data;
    for (size_t i = 0; i < n; i++) {
        x[i] = test_value_f32(rng);
        xd[i] = test_value_f64(rng);
    }
    const char *what = "";
    long diff;
#define COMPARE(label, a, b, bytes)                                                       \
    do {                                                                                  \
        what = (label);                                                                   \
        diff = first_difference((a), (b), (bytes));                                       \
        CHECK(diff < 0, "%s %s: p=%.17g seed=%" PRIx64 " stream=%" PRIx64 " first=%" PRIu64 \
              " n=%zu misalign=%zu: first difference at byte %ld",                          \
              isa->isa, what, p, seed, stream, first, n, misalign, diff);                   \
    } while (0)

    /* mask */
    ref->mask(&ms, first, n, rm.data);
    isa->mask(&ms, first, n, m.data);
    COMPARE("mask", m.data, rm.data, mask_bytes);

    /* forward f32 and f64, with and without the mask, out-of-place and in
     * place; with plain and with streaming stores (the same bits either way) */
    ref->forward_f32(&ms, first, n, s32, x, yr, NULL, 0);
    ref->forward_f64(&ms, first, n, s64, xd, ydr, NULL, 0);
    for (int streaming = 0; streaming <= 1; streaming++) {
        memset(m.data, 0x5A, mask_bytes);
        memset(y, 0, n * 4);
        isa->forward_f32(&ms, first, n, s32, x, y, m.data, streaming);
        COMPARE(streaming ? "forward_f32 (streaming)" : "forward_f32", y, yr, n * 4);
        COMPARE(streaming ? "forward_f32 mask (streaming)" : "forward_f32 mask", m.data, rm.data,
                mask_bytes);
        memset(y, 0, n * 4);
        isa->forward_f32(&ms, first, n, s32, x, y, NULL, streaming);
        COMPARE(streaming ? "forward_f32 no mask (streaming)" : "forward_f32 no mask", y, yr,
                n * 4);
        memcpy(y, x, n * 4);
        isa->forward_f32(&ms, first, n, s32, y, y, NULL, streaming);
        COMPARE(streaming ? "forward_f32 in-place (streaming)" : "forward_f32 in-place", y, yr,
                n * 4);

        memset(m.data, 0x5A, mask_bytes);
        memset(yd, 0, n * 8);
        isa->forward_f64(&ms, first, n, s64, xd, yd, m.data, streaming);
        COMPARE(streaming ? "forward_f64 (streaming)" : "forward_f64", yd, ydr, n * 8);
        COMPARE(streaming ? "forward_f64 mask (streaming)" : "forward_f64 mask", m.data, rm.data,
                mask_bytes);
        memcpy(yd, xd, n * 8);
        isa->forward_f64(&ms, first, n, s64, yd, yd, NULL, streaming);
        COMPARE(streaming ? "forward_f64 in-place (streaming)" : "forward_f64 in-place", yd, ydr,
                n * 8);
    }

    /* forward_half (tables that have it): bf16 and f16 from the scalar mask
     * and half.h's rounding, y = keep ? round((float)x * s) : +0 */
    if (isa->forward_half != NULL) {
        guarded h_in = guarded_alloc(n * 2, 2 * (misalign % 16));
        guarded h_out = guarded_alloc(n * 2, 2 * ((misalign + 7) % 16));
        guarded h_ref = guarded_alloc(n * 2, 0);
        uint16_t *hx = (uint16_t *)h_in.data, *hy = (uint16_t *)h_out.data;
        uint16_t *hr = (uint16_t *)h_ref.data;
        for (int bf16 = 0; bf16 <= 1; bf16++) {
            for (size_t i = 0; i < n; i++) {
                uint16_t bits = (uint16_t)rng_next(rng); /* any pattern: NaN, Inf, subnormal */
                hx[i] = i % 3 ? bits : (bf16 ? half_bf16_from_f32(x[i]) : half_f16_from_f32(x[i]));
                float v = bf16 ? half_f32_from_bf16(hx[i]) : half_f32_from_f16(hx[i]);
                int keep = (rm.data[i / 8] >> (i % 8)) & 1;
                hr[i] = !keep ? 0 : bf16 ? half_bf16_from_f32(v * s32) : half_f16_from_f32(v * s32);
            }
            for (int streaming = 0; streaming <= 1; streaming++) {
                memset(m.data, 0x5A, mask_bytes);
                memset(hy, 0x77, n * 2);
                isa->forward_half(&ms, first, n, s32, bf16, hx, hy, m.data, streaming);
                COMPARE(bf16 ? "forward_half bf16" : "forward_half f16", hy, hr, n * 2);
                COMPARE(bf16 ? "forward_half bf16 mask" : "forward_half f16 mask", m.data, rm.data,
                        mask_bytes);
                memcpy(hy, hx, n * 2);
                isa->forward_half(&ms, first, n, s32, bf16, hy, hy, NULL, streaming);
                COMPARE(bf16 ? "forward_half bf16 in-place" : "forward_half f16 in-place", hy, hr,
                        n * 2);
            }
        }
        guarded *half_buffers[] = {&h_in, &h_out, &h_ref};
        for (size_t i = 0; i < 3; i++) {
            CHECK(guarded_intact(half_buffers[i]), "%s: n=%zu: forward_half wrote outside buffer %zu",
                  isa->isa, n, i);
            guarded_free(half_buffers[i]);
        }
    }

    /* apply_mask on a random mask, garbage in the unused high bits too; with
     * plain and with streaming stores (the same bits either way) */
    for (size_t i = 0; i < mask_bytes; i++)
        m.data[i] = (uint8_t)rng_next(rng);
    ref->apply_mask_f32(n, s32, m.data, x, yr, 0);
    ref->apply_mask_f64(n, s64, m.data, xd, ydr, 0);
    for (int streaming = 0; streaming <= 1; streaming++) {
        memset(y, 0, n * 4);
        isa->apply_mask_f32(n, s32, m.data, x, y, streaming);
        COMPARE(streaming ? "apply_mask_f32 (streaming)" : "apply_mask_f32", y, yr, n * 4);
        memcpy(y, x, n * 4);
        isa->apply_mask_f32(n, s32, m.data, y, y, streaming);
        COMPARE(streaming ? "apply_mask_f32 in-place (streaming)" : "apply_mask_f32 in-place", y,
                yr, n * 4);
        memset(yd, 0, n * 8);
        isa->apply_mask_f64(n, s64, m.data, xd, yd, streaming);
        COMPARE(streaming ? "apply_mask_f64 (streaming)" : "apply_mask_f64", yd, ydr, n * 8);
        memcpy(yd, xd, n * 8);
        isa->apply_mask_f64(n, s64, m.data, yd, yd, streaming);
        COMPARE(streaming ? "apply_mask_f64 in-place (streaming)" : "apply_mask_f64 in-place", yd,
                ydr, n * 8);
    }
#undef COMPARE

    guarded *all[] = {&x32, &y32, &r32, &x64, &y64, &r64, &m, &rm};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        CHECK(guarded_intact(all[i]), "%s: p=%.17g first=%" PRIu64 " n=%zu: buffer %zu written "
              "outside its bounds (last operation: %s)", isa->isa, p, first, n, i, what);
        guarded_free(all[i]);
    }
}

int main(int argc, char **argv)
{
    REQUIRE(argc == 2, "usage: test_simd_kernels ISA (scalar, avx2, avx512 or neon)");
    isa = SIMD_TEST_FIND(argv[1]);
    if (isa == NULL) {
        fprintf(stderr, "test_simd_kernels: ISA \"%s\" is not built or this CPU/OS cannot "
                "run it: nothing tested, so this test fails\n", argv[1]);
        return 1;
    }
    printf("test_simd_kernels: %s against scalar\n", isa->isa);
    uint64_t rng = 0x5EED0000u + (uint64_t)argv[1][0];

    /* every n from 1 to 300, each with its own first, seed and alignment */
    for (size_t pi = 0; pi < P_COUNT; pi++) {
        for (size_t n = 1; n <= 300; n++) {
            uint64_t first;
            switch (n % 4) {
            case 0: first = 0; break;
            case 1: first = rng_next(&rng) % 1000; break;
            case 2: first = ((uint64_t)1 << 32) * 16 - 7 * n; break; /* block index crosses 2^32 */
            default: first = rng_next(&rng) >> 1; break;
            }
            check_case(test_p[pi], rng_next(&rng), rng_next(&rng), first, n, n % 67, &rng);
        }
    }
    /* near the end of the index space: first + n - 1 == 2^64 - 1 */
    for (size_t pi = 0; pi < P_COUNT; pi++)
        check_case(test_p[pi], 1, 2, UINT64_MAX - 999, 1000, 3, &rng);

    /* large ones: many tiles, ties in every tile */
    const size_t large[] = {4096, 65536 + 77, (size_t)1 << 20 | 13};
    for (size_t li = 0; li < sizeof large / sizeof large[0]; li++) {
        for (size_t pi = 0; pi < P_COUNT; pi += 2) {
            size_t n = large[li] / SIMD_LARGE_SCALE;
            check_case(test_p[pi], rng_next(&rng), rng_next(&rng), rng_next(&rng) >> 8, n, li, &rng);
        }
    }
    /* past 16 MiB of output (where ops.c asks for streaming stores): many
     * prefetched tiles, misaligned y, odd n */
    const size_t huge = (((size_t)1 << 22) + 77) / SIMD_LARGE_SCALE;
    check_case(0.1, 7, 8, ((uint64_t)1 << 33) + 3, huge, 6, &rng);
    return test_exit_code("test_simd_kernels");
}
