/*
 * test_family_gaussian.c — gaussian dropout (issue 5 item 4).
 *
 * 1. Known answers: the noise of docs/SPEC.md section 5 (seed 0x2a, stream 7,
 *    p = 0.5 so sigma = 1), bit for bit.
 * 2. The library's transform (fixed series) against the same transform with
 *    libm's log, cos, sin: within 1e-12 on 10^5 draws.
 * 3. Moments of the noise (x = 1 in f64, so y is the noise) on 10^7 draws
 *    (10^6 under the sanitizers): mean 1 and variance p/(1-p), 5 standard
 *    errors (from the spread of 10^4 independent batches); third central
 *    moment 0 and fourth 3 sigma^4 (normal), also within 5 standard errors.
 * 4. The bits do not depend on threads or slicing; backward is dy * noise.
 */
#include "family_util.h"

#define SIGMAS 5.0

static void check_known_answers(void)
{
    static const double expect[8] = {
        0x1.f2ec64e690d7ap-1, 0x1.291086d6c267p-2,  0x1.9f91257f3ba79p-1, 0x1.6426bc991615fp-1,
        -0x1.638d26cde264p-3, 0x1.31ae32d7a5934p-1, 0x1.0edf2d9668cfcp-1, -0x1.ff2cb76215d38p-2,
    };
    double noise[8];
    for (int k = 0; k < 8; k++)
        noise[k] = 1.0;
    dropout_shape shape = {1, {8}, 0};
    dropout_params params = {.p = 0.5, .seed = 0x2a, .stream = 7};
    CHECK_OK(dropout_shaped_forward(&params, DROPOUT_VARIANT_GAUSSIAN, DROPOUT_DTYPE_F64, &shape,
                                    noise, noise, NULL, 0));
    for (int k = 0; k < 8; k++)
        CHECK(bits_f64(noise[k]) == bits_f64(expect[k]), "noise[%d] = %a, SPEC says %a", k,
              noise[k], expect[k]);
}

static double *noise_of(double p, uint64_t seed, uint64_t stream, uint64_t first, size_t n)
{
    double *noise = test_malloc(n * sizeof *noise);
    for (size_t k = 0; k < n; k++)
        noise[k] = 1.0;
    dropout_shape shape = {1, {n}, 0};
    dropout_params params = {.p = p, .seed = seed, .stream = stream, .first = first};
    CHECK_OK(dropout_shaped_forward(&params, DROPOUT_VARIANT_GAUSSIAN, DROPOUT_DTYPE_F64, &shape,
                                    noise, noise, NULL, 0));
    return noise;
}

static void check_against_libm(void)
{
    const size_t n = 100000;
    const uint64_t seed = 0x123456789ull, stream = 0xABCDEFull, first = (1ull << 33) - 100;
    double *noise = noise_of(0.5, seed, stream, first, n);
    double worst = 0.0;
    for (size_t k = 0; k < n; k++) {
        double z = ref_gaussian_z(seed, stream, first + k);
        double diff = fabs((noise[k] - 1.0) - z);
        if (diff > worst)
            worst = diff;
    }
    printf("series vs libm over %zu draws: largest difference %.3g\n", n, worst);
    CHECK(worst < 1e-12, "the transform differs from Box-Muller with libm by %g", worst);
    free(noise);
}

static void check_moments(double p)
{
    const size_t n = FAMILY_BIG((size_t)10000000), batches = 10000, len = n / batches;
    const double var = p / (1.0 - p), sigma = sqrt(var);
    double *noise = noise_of(p, 99, 1, 0, n);
    double *m[4];
    for (int j = 0; j < 4; j++)
        m[j] = test_malloc(batches * sizeof *m[j]);
    for (size_t b = 0; b < batches; b++) {
        double s[4] = {0, 0, 0, 0};
        for (size_t k = 0; k < len; k++) {
            double d = noise[b * len + k] - 1.0, power = d;
            for (int j = 0; j < 4; j++, power *= d)
                s[j] += power;
        }
        for (int j = 0; j < 4; j++)
            m[j][b] = s[j] / (double)len;
    }
    /* E[d] = 0, E[d^2] = var, E[d^3] = 0, E[d^4] = 3 var^2 for d = noise - 1 */
    const double expect[4] = {0.0, var, 0.0, 3.0 * var * var};
    const char *names[4] = {"mean - 1", "variance", "third moment", "fourth moment"};
    for (int j = 0; j < 4; j++) {
        batch_stats st = batch_stats_of(m[j], batches);
        double z = (st.mean - expect[j]) / st.se;
        printf("p=%.2f sigma=%.4f %s: %.6f (expected %.6f, se %.2e, %+.2f sigma)\n", p, sigma,
               names[j], st.mean, expect[j], st.se, z);
        CHECK(fabs(z) < SIGMAS, "p=%g: %s %g is %.2f standard errors from %g", p, names[j],
              st.mean, z, expect[j]);
        free(m[j]);
    }
    free(noise);
}

static void check_invariance(void)
{
    const size_t n = FAMILY_BIG(300000) + 3;
    dropout_set_threads(1);
    double *one = noise_of(0.2, 5, 6, 1000, n);
    dropout_set_threads(4);
    double *four = noise_of(0.2, 5, 6, 1000, n);
    double *slice = noise_of(0.2, 5, 6, 1000 + 7, n - 7);
    dropout_set_threads(0);
    CHECK(memcmp(one, four, n * sizeof *one) == 0, "gaussian noise depends on the thread count");
    CHECK(memcmp(one + 7, slice, (n - 7) * sizeof *one) == 0, "a slice differs from the whole");
    /* f32 forward and backward: x * (float)noise */
    float *x = test_malloc(n * sizeof *x), *y = test_malloc(n * sizeof *y);
    float *dx = test_malloc(n * sizeof *dx);
    for (size_t k = 0; k < n; k++)
        x[k] = (float)k * 0.001f - 3.0f;
    dropout_shape shape = {1, {n}, 0};
    dropout_params params = {.p = 0.2, .seed = 5, .stream = 6, .first = 1000};
    CHECK_OK(dropout_shaped_forward(&params, DROPOUT_VARIANT_GAUSSIAN, DROPOUT_DTYPE_F32, &shape,
                                    y, x, NULL, 0));
    CHECK_OK(dropout_shaped_backward_regen(&params, DROPOUT_VARIANT_GAUSSIAN, DROPOUT_DTYPE_F32,
                                           &shape, dx, x));
    long bad = 0;
    for (size_t k = 0; k < n; k++)
        bad += bits_f32(y[k]) != bits_f32(x[k] * (float)one[k]) || bits_f32(dx[k]) != bits_f32(y[k]);
    CHECK(bad == 0, "f32 gaussian forward/backward: %ld elements differ from x * (float)noise", bad);
    /* p == 0 and eval: identity */
    params.p = 0.0;
    CHECK_OK(dropout_shaped_forward(&params, DROPOUT_VARIANT_GAUSSIAN, DROPOUT_DTYPE_F32, &shape,
                                    y, x, NULL, 0));
    CHECK(memcmp(x, y, n * sizeof *x) == 0, "p == 0 is not the identity");
    free(one), free(four), free(slice), free(x), free(y), free(dx);
}

int main(void)
{
    check_known_answers();
    check_against_libm();
    check_moments(0.1);
    check_moments(0.5);
    check_invariance();
    return test_exit_code("test_family_gaussian");
}
