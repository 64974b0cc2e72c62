/*
 * test_simd_kernels.c — one ISA's kernel table against the scalar reference,
 * bit for bit, for every slot of kernels.h and every dtype.
 *
 *     test_simd_kernels avx2
 *
 * Every slot (KERNELS_SLOTS) of the complete table is run: the ones the ISA
 * file sets and the ones dispatch.c filled from scalar (the test prints
 * which).  Cases: every n from 1 to 300 and a few large ones; `first` at 0,
 * at random offsets inside a block, beyond 2^32 and near 2^64; inputs,
 * outputs and masks at every misalignment, including 1 byte off the element
 * size; out-of-place and in-place; inputs with NaN, +-Inf, +-0 and
 * subnormals; packed bits with garbage in their unused high bits; plain
 * and streaming stores; p with thresholds that make ties keep, ties drop
 * (tlow == 0) and t0 at both ends.  Every output buffer has guard bytes on
 * both sides.  Fails (does not skip) if this CPU cannot run the ISA: CMake
 * registers the test only for ISAs the build machine runs.
 */
#include "simd_test.h"

#include "half.h"
#include "kernels/kernels.h"

/* Where the tables come from: the library's dispatcher, or (the AVX-512
 * model build, tests/simd.cmake) the model's own lookup. */
#ifndef SIMD_TEST_FIND
#define SIMD_TEST_FIND dropout_kernels_find
#else
const dropout_kernels *SIMD_TEST_FIND(const char *isa);
#endif

/* The kernels need 0 < T < 2^32; p == 0, p == 1 and thresholds that keep or
 * drop everything are the pipeline's job (test_simd_api.c checks those). */
static const double test_p[] = {
    3e-10,        /* T = 2^32 - 1: t0 = 255, ties almost always keep           */
    0.1, 0.3,     /* ordinary thresholds                                     */
    0.5, 0.25,    /* tlow == 0: every tie drops                              */
    0.9,
    1.0 - 3e-10,  /* T = 1: t0 = 0, every kept element is a tie              */
    0.50000001,   /* tlow != 0 next to a power of two                        */
};
#define P_COUNT (sizeof test_p / sizeof test_p[0])

static const char *const dtype_name[KERNEL_DTYPES] = {"f32", "f64", "bf16", "f16"};
static const size_t dtype_size[KERNEL_DTYPES] = {4, 8, 2, 2};

static const dropout_kernels *ref;
static const dropout_kernels *isa;

/* n random elements of the dtype: special values mixed in; bf16/f16 any
 * bit pattern a third of the time. */
static void fill_values(int dt, void *p, size_t n, uint64_t *rng)
{
    for (size_t i = 0; i < n; i++) {
        if (dt == DROPOUT_DTYPE_F64) {
            double v = test_value_f64(rng);
            memcpy((char *)p + 8 * i, &v, 8);
        } else if (dt == DROPOUT_DTYPE_F32) {
            float v = test_value_f32(rng);
            memcpy((char *)p + 4 * i, &v, 4);
        } else {
            float f = test_value_f32(rng);
            uint16_t h = i % 3 == 0 ? (uint16_t)rng_next(rng)
                         : dt == DROPOUT_DTYPE_BF16 ? half_bf16_from_f32(f)
                                                    : half_f16_from_f32(f);
            memcpy((char *)p + 2 * i, &h, 2);
        }
    }
}

typedef struct buffers {
    guarded x, bias, residual, y, yr, m, mr, bits;
    guarded noise, sum, sum_ref;
} buffers;

static void check_guards(guarded *g, const char *what, size_t n)
{
    CHECK(guarded_intact(g), "%s: n=%zu: %s written outside its bounds", isa->isa, n, what);
    guarded_free(g);
}

#define COMPARE(label, a, b, bytes)                                                            \
    do {                                                                                       \
        long diff_ = first_difference((a), (b), (bytes));                                      \
        CHECK(diff_ < 0, "%s %s %s%s%s: p=%.17g first=%" PRIu64 " n=%zu misalign=%zu: first "  \
              "difference at byte %ld", isa->isa, (label), dtype_name[dt],                     \
              nt ? " nontemporal" : "", inplace ? " in-place" : "", p, first, n, misalign,     \
              diff_);                                                                          \
    } while (0)

/* Every slot of one dtype on n elements from `first`.  `small`: also the
 * slots whose loops have no tiles (affine, noise, residual, column sums). */
static void check_dtype(int dt, const mask_stream *ms, double p, uint64_t first, size_t n,
                        size_t misalign, int small, uint64_t *rng)
{
    const size_t es = dtype_size[dt], bytes = n * es, mask_bytes = (n + 7) / 8;
    /* element-aligned, vector-misaligned; every 7th case 1 byte off (NumPy
     * views need not be element-aligned; C pointers are, but the kernels
     * take void *) */
    const size_t off = misalign % 7 == 3 ? 1 : 0;
    buffers b;
    b.x = guarded_alloc(bytes, (es * misalign + off) % 64);
    b.bias = guarded_alloc(bytes, (es * (misalign + 1)) % 64);
    b.residual = guarded_alloc(bytes, (es * (misalign + 2)) % 64);
    b.y = guarded_alloc(bytes, (es * (misalign + 3) + off) % 64);
    b.yr = guarded_alloc(bytes, 0);
    b.m = guarded_alloc(mask_bytes, misalign % 64);
    b.mr = guarded_alloc(mask_bytes, 0);
    b.bits = guarded_alloc(mask_bytes, (misalign + 5) % 64);
    b.noise = guarded_alloc(n * 8, 0);
    fill_values(dt, b.x.data, n, rng);
    fill_values(dt, b.bias.data, n, rng);
    fill_values(dt, b.residual.data, n, rng);
    for (size_t i = 0; i < mask_bytes; i++)
        b.bits.data[i] = (uint8_t)rng_next(rng); /* garbage in the unused high bits too */
    double *noise = (double *)b.noise.data;
    for (size_t i = 0; i < n; i++)
        noise[i] = i % 5 == 0 ? test_value_f64(rng) : 1.0 + (double)(int32_t)rng_next(rng) / 4e9;
    /* alpha's constants at p (any finite ones would do) */
    const kernel_consts c = kernels_consts(dt, 1.0 / (1.0 - p), 0.3 * p, -1.7 * p);
    void *x = b.x.data, *y = b.y.data, *yr = b.yr.data;
    int nt = 0, inplace = 0;

    /* forward: with and without the mask, out-of-place and in place */
    ref->forward[dt](ms, first, n, &c, x, yr, b.mr.data, 0);
    for (nt = 0; nt <= 1; nt++) {
        for (inplace = 0; inplace <= 1; inplace++) {
            for (int with_mask = 0; with_mask <= 1; with_mask++) {
                memset(b.m.data, 0x5A, mask_bytes);
                if (inplace)
                    memcpy(y, x, bytes);
                else
                    memset(y, 0x77, bytes);
                isa->forward[dt](ms, first, n, &c, inplace ? y : x, y,
                                 with_mask ? b.m.data : NULL, nt);
                COMPARE("forward", y, yr, bytes);
                if (with_mask)
                    COMPARE("forward mask", b.m.data, b.mr.data, mask_bytes);
            }
        }
    }
    /* apply from bits */
    ref->apply[dt](n, &c, b.bits.data, x, yr, 0);
    for (nt = 0; nt <= 1; nt++) {
        for (inplace = 0; inplace <= 1; inplace++) {
            if (inplace)
                memcpy(y, x, bytes);
            else
                memset(y, 0x77, bytes);
            isa->apply[dt](n, &c, b.bits.data, inplace ? y : x, y, nt);
            COMPARE("apply", y, yr, bytes);
        }
    }
    nt = 0;
    if (small) {
        ref->affine[dt](n, &c, b.bits.data, x, yr);
        for (inplace = 0; inplace <= 1; inplace++) {
            if (inplace)
                memcpy(y, x, bytes);
            isa->affine[dt](n, &c, b.bits.data, inplace ? y : x, y);
            COMPARE("affine", y, yr, bytes);
        }
        ref->noise[dt](n, noise, x, yr);
        for (inplace = 0; inplace <= 1; inplace++) {
            if (inplace)
                memcpy(y, x, bytes);
            isa->noise[dt](n, noise, inplace ? y : x, y);
            COMPARE("noise", y, yr, bytes);
        }
        inplace = 0;
        ref->bias_residual[dt](n, &c, b.bits.data, x, b.bias.data, b.residual.data, yr, 0);
        for (nt = 0; nt <= 1; nt++) {
            memset(y, 0x77, bytes);
            isa->bias_residual[dt](n, &c, b.bits.data, x, b.bias.data, b.residual.data, y, nt);
            COMPARE("bias_residual", y, yr, bytes);
        }
        nt = 0;
        /* column sums of a (rows x width) block with row stride >= width */
        const size_t width = n % 37 + 1, stride = width + n % 3;
        const size_t rows = n >= width ? (n - width) / stride + 1 : 0;
        b.sum = guarded_alloc(width * 8, 0);
        b.sum_ref = guarded_alloc(width * 8, 0);
        double *sum = (double *)b.sum.data, *sum_ref = (double *)b.sum_ref.data;
        for (size_t j = 0; j < width; j++)
            sum[j] = sum_ref[j] = (double)(int32_t)rng_next(rng) / 1024.0;
        ref->column_sums[dt](width, rows, stride, x, sum_ref);
        isa->column_sums[dt](width, rows, stride, x, sum);
        /* which NaN a sum of NaNs keeps depends on the operand order of
         * each add, which compilers commute: the library stores any NaN
         * sum as the canonical NaN (SPEC section 7), so compare that */
        for (size_t j = 0; j < width; j++) {
            sum[j] = kernels_nan_canonical_f64(sum[j]);
            sum_ref[j] = kernels_nan_canonical_f64(sum_ref[j]);
        }
        COMPARE("column_sums", sum, sum_ref, width * 8);
        check_guards(&b.sum, "column sums", n);
        check_guards(&b.sum_ref, "column sums (reference)", n);
    }
    guarded *all[] = {&b.x, &b.bias, &b.residual, &b.y, &b.yr, &b.m, &b.mr, &b.bits, &b.noise};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        check_guards(all[i], "a buffer", n);
}

/* One case: the mask, then every dtype. */
static void check_case(double p, uint64_t seed, uint64_t stream, uint64_t first, size_t n,
                       size_t misalign, int small, uint64_t *rng)
{
    mask_stream ms = mask_stream_make(seed, stream, p);
    const size_t mask_bytes = (n + 7) / 8;
    guarded m = guarded_alloc(mask_bytes, misalign % 64);
    guarded rm = guarded_alloc(mask_bytes, 0);
    ref->mask(&ms, first, n, rm.data);
    isa->mask(&ms, first, n, m.data);
    long diff = first_difference(m.data, rm.data, mask_bytes);
    CHECK(diff < 0, "%s mask: p=%.17g first=%" PRIu64 " n=%zu: first difference at byte %ld",
          isa->isa, p, first, n, diff);
    check_guards(&m, "mask", n);
    check_guards(&rm, "mask (reference)", n);
    for (int dt = 0; dt < KERNEL_DTYPES; dt++)
        check_dtype(dt, &ms, p, first, n, misalign, small, rng);
}

/* Which slots the ISA file sets itself (the rest are scalar's). */
static void print_slots(void)
{
    printf("test_simd_kernels: %s against scalar; its own slots:", isa->isa);
#define PRINT_ONE(name) printf(" %s%s", #name, isa->name != ref->name ? "" : "(scalar)");
#define PRINT_DTYPES(name)                                                                  \
    for (int d = 0; d < KERNEL_DTYPES; d++)                                                 \
        if (isa->name[d] != ref->name[d])                                                   \
            printf(" %s_%s", #name, dtype_name[d]);
    KERNELS_SLOTS(PRINT_ONE, PRINT_DTYPES)
#undef PRINT_ONE
#undef PRINT_DTYPES
    printf("\n");
}

/* No slot of a complete table is NULL. */
static void check_complete(const dropout_kernels *t)
{
#define CHECK_ONE(name) CHECK(t->name != NULL, "%s: slot %s is NULL", t->isa, #name);
#define CHECK_DTYPES(name)                                                                  \
    for (int d = 0; d < KERNEL_DTYPES; d++)                                                 \
        CHECK(t->name[d] != NULL, "%s: slot %s[%s] is NULL", t->isa, #name, dtype_name[d]);
    KERNELS_SLOTS(CHECK_ONE, CHECK_DTYPES)
#undef CHECK_ONE
#undef CHECK_DTYPES
}

int main(int argc, char **argv)
{
    REQUIRE(argc == 2, "usage: test_simd_kernels ISA (scalar, avx2, avx512 or neon)");
    ref = SIMD_TEST_FIND("scalar");
    isa = SIMD_TEST_FIND(argv[1]);
    if (isa == NULL || ref == NULL) {
        fprintf(stderr, "test_simd_kernels: ISA \"%s\" is not built or this CPU/OS cannot "
                "run it: nothing tested, so this test fails\n", argv[1]);
        return 1;
    }
    check_complete(ref);
    check_complete(isa);
    print_slots();
    uint64_t rng = 0x5EED0000u + (uint64_t)argv[1][0];

    /* every n from 1 to 300, each with its own first, seed and alignment */
    for (size_t pi = 0; pi < P_COUNT; pi++) {
        for (size_t n = 1; n <= 300; n++) {
            uint64_t first;
            switch (n % 4) {
            case 0: first = 0; break;
            case 1: first = rng_next(&rng) % 1000; break;
            case 2: /* the elements cross block 2^32 (hi(j) differs inside a vector) */
                first = ((uint64_t)1 << 36) - n / 2 - 1;
                break;
            default: first = rng_next(&rng) >> 1; break;
            }
            check_case(test_p[pi], rng_next(&rng), rng_next(&rng), first, n, n % 67, 1, &rng);
        }
    }
    /* near the end of the index space: first + n - 1 == 2^64 - 1 */
    for (size_t pi = 0; pi < P_COUNT; pi++)
        check_case(test_p[pi], 1, 2, UINT64_MAX - 999, 1000, 3, 1, &rng);

    /* large ones: many tiles, ties in every tile, and lengths where the
     * last two tiles split what is left (tile_loop.h, tile_next_len) */
    const size_t large[] = {4096, 2048 + 100, 8192 + 2048 + 1, 65536 + 77, (size_t)1 << 20 | 13};
    for (size_t li = 0; li < sizeof large / sizeof large[0]; li++) {
        for (size_t pi = 0; pi < P_COUNT; pi += 2) {
            size_t n = large[li] / SIMD_LARGE_SCALE;
            check_case(test_p[pi], rng_next(&rng), rng_next(&rng), rng_next(&rng) >> 8, n, li,
                       li == 0, &rng);
        }
    }
    /* many tiles across block 2^32: the Philox groups whose blocks share
     * hi(j) and the one whose blocks do not (avx2.c, avx512.c) */
    const size_t across = (8192 + 2048 + 1) / SIMD_LARGE_SCALE;
    for (size_t pi = 0; pi < P_COUNT; pi++)
        check_case(test_p[pi], rng_next(&rng), rng_next(&rng),
                   ((uint64_t)1 << 36) - across / 2 - 3, across, 5, 0, &rng);
    /* a long call: many tiles, misaligned y, odd n */
    const size_t huge = (((size_t)1 << 22) + 77) / SIMD_LARGE_SCALE;
    check_case(0.1, 7, 8, ((uint64_t)1 << 33) + 3, huge, 6, 0, &rng);
    return test_exit_code("test_simd_kernels");
}
