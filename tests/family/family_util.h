/*
 * family_util.h — what the family tests share, on top of ../test_util.h:
 * independent references for bf16/f16 rounding (by search over the format's
 * values in double, not by bit tricks), for the shaped mask index (by
 * multi-index arithmetic) and for the gaussian transform (docs/SPEC.md
 * section 5, written from the text).
 */
#ifndef DROPOUT_FAMILY_TEST_UTIL_H
#define DROPOUT_FAMILY_TEST_UTIL_H

#include "../test_util.h"

/* Large sample sizes shrink under the sanitizers (the bounds are computed
 * from the sample, so they shrink with it). */
#ifdef DROPOUT_TEST_SANITIZE
#define FAMILY_BIG(n) ((n) / 10)
#else
#define FAMILY_BIG(n) (n)
#endif

/* ---- bf16 / f16 by value ------------------------------------------------- */

/* The value of a positive finite half pattern, from the format's definition. */
static inline double ref_f16_value(unsigned bits)
{
    unsigned e = (bits >> 10) & 0x1F, m = bits & 0x3FF;
    return e == 0 ? ldexp((double)m, -24) : ldexp(1024.0 + m, (int)e - 25);
}

static inline double ref_bf16_value(unsigned bits)
{
    unsigned e = (bits >> 7) & 0xFF, m = bits & 0x7F;
    return e == 0 ? ldexp((double)m, -133) : ldexp(128.0 + m, (int)e - 134);
}

/* Round a finite or infinite float to the nearest value of the format whose
 * largest finite pattern is `max_bits` (positive patterns are monotonic in
 * value), ties to the even pattern; beyond max + half an ulp: Inf.
 * NaN is the caller's business. */
static inline unsigned ref_round_half(float v, int bf16)
{
    unsigned sign = signbit(v) ? 0x8000u : 0;
    double a = fabs((double)v);
    const unsigned max_bits = bf16 ? 0x7F7F : 0x7BFF, inf_bits = bf16 ? 0x7F80 : 0x7C00;
    double (*value)(unsigned) = bf16 ? ref_bf16_value : ref_f16_value;
    double max = value(max_bits);
    double ulp_top = max - value(max_bits - 1);
    if (a >= max + ulp_top / 2) {
        if (a == max + ulp_top / 2 && (max_bits & 1) == 0)
            return sign | max_bits;
        return sign | inf_bits;
    }
    unsigned lo = 0, hi = max_bits; /* value(lo) <= a < value(hi) or a == max */
    if (a >= max)
        return sign | max_bits;
    while (hi - lo > 1) {
        unsigned mid = (lo + hi) / 2;
        if (value(mid) <= a)
            lo = mid;
        else
            hi = mid;
    }
    double dlo = a - value(lo), dhi = value(hi) - a;
    unsigned pick = dlo < dhi ? lo : dhi < dlo ? hi : ((lo & 1) ? hi : lo);
    return sign | pick;
}

static inline int half_is_nan(uint16_t h, int bf16)
{
    return bf16 ? (h & 0x7FFF) > 0x7F80 : (h & 0x7FFF) > 0x7C00;
}

/* ---- shapes ---------------------------------------------------------------- */

/* Mask index (without first) of flat element e: drop the broadcast digits
 * of e's multi-index and re-flatten over the mask shape. */
static inline uint64_t ref_mask_index(const dropout_shape *shape, size_t e)
{
    size_t digit[DROPOUT_MAX_DIMS];
    for (size_t d = shape->ndim; d-- > 0;) {
        digit[d] = e % shape->dims[d];
        e /= shape->dims[d];
    }
    uint64_t m = 0;
    for (size_t d = 0; d < shape->ndim; d++) {
        if ((shape->broadcast >> d) & 1u)
            continue;
        m = m * shape->dims[d] + digit[d];
    }
    return m;
}

/* ---- gaussian transform, docs/SPEC.md section 5, with libm ------------------
 * Not bitwise (the library uses fixed series, not libm); agrees to ~1e-13. */
static inline double ref_gaussian_z(uint64_t seed, uint64_t stream, uint64_t i)
{
    uint64_t j = i / 4;
    const uint32_t counter[4] = {(uint32_t)j, (uint32_t)(j >> 32), (uint32_t)stream,
                                 (uint32_t)(stream >> 32)};
    const uint32_t key[2] = {(uint32_t)seed ^ 0x85A308D3u, (uint32_t)(seed >> 32)};
    uint32_t w[4];
    dropout_philox4x32_10(counter, key, w);
    unsigned k = (unsigned)(i % 4);
    uint32_t w_radius = w[(k / 2) * 2], w_angle = w[(k / 2) * 2 + 1];
    double u1 = ((double)w_radius + 0.5) / 4294967296.0;
    double u2 = (double)w_angle / 4294967296.0;
    double r = sqrt(-2.0 * log(u1));
    const double two_pi = 6.283185307179586476925286766559;
    return (k % 2 == 0) ? r * cos(two_pi * u2) : r * sin(two_pi * u2);
}

/* ---- batch statistics -------------------------------------------------------
 * Mean of n batch values and its standard error from their spread: the
 * batches are independent, so this is honest whatever the element law. */
typedef struct batch_stats {
    double mean, se;
} batch_stats;

static inline batch_stats batch_stats_of(const double *values, size_t n)
{
    double sum = 0.0;
    for (size_t k = 0; k < n; k++)
        sum += values[k];
    double mean = sum / (double)n, ss = 0.0;
    for (size_t k = 0; k < n; k++)
        ss += (values[k] - mean) * (values[k] - mean);
    batch_stats s = {mean, sqrt(ss / (double)(n - 1) / (double)n)};
    return s;
}

/* A standard normal from the test PRNG (Box-Muller with libm). */
static inline double test_rng_normal(test_rng *rng)
{
    double u1 = (double)((test_rng_next(rng) >> 11) + 1) * 0x1.0p-53; /* (0, 1] */
    double u2 = test_rng_unit(rng);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925286766559 * u2);
}

#endif /* DROPOUT_FAMILY_TEST_UTIL_H */
