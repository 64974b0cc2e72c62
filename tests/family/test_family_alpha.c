/*
 * test_family_alpha.c — alpha dropout and feature alpha dropout keep mean 0
 * and variance 1 of standard-normal input (issue 5 item 3), and match
 * PyTorch's constants.
 *
 * Statistics: 10^7 standard-normal f32 samples (10^6 under the sanitizers).
 * The output is cut into independent batches (1000 consecutive elements for
 * alpha dropout; one (n, c) channel slice for feature alpha, whose elements
 * share a mask bit and so are not independent), and the standard error of
 * the mean and of the second moment comes from the spread of the batch
 * values.  Bounds are 5 standard errors.  A control shows the bound has
 * power: plain inverted dropout on the same input (variance 1/(1-p)) must
 * fail it by far.
 */
#include "family_util.h"

#define ALPHA_PRIME (-1.7580993408473766)
#define SIGMAS 5.0

typedef struct moments {
    batch_stats mean, second;
} moments;

/* Batch means of y and y^2 over `batches` batches of `len` elements. */
static moments batch_moments(const float *y, size_t batches, size_t len)
{
    double *m1 = test_malloc(batches * sizeof *m1), *m2 = test_malloc(batches * sizeof *m2);
    for (size_t b = 0; b < batches; b++) {
        double s1 = 0, s2 = 0;
        for (size_t k = 0; k < len; k++) {
            double v = y[b * len + k];
            s1 += v;
            s2 += v * v;
        }
        m1[b] = s1 / (double)len;
        m2[b] = s2 / (double)len;
    }
    moments m = {batch_stats_of(m1, batches), batch_stats_of(m2, batches)};
    free(m1), free(m2);
    return m;
}

static void check_constants(void)
{
    /* PyTorch (ATen Dropout.cpp, _dropout_impl with alpha_dropout):
     * a = 1 / sqrt((alpha^2 p + 1)(1 - p)), b = alpha a p, alpha = 1.7580993408473766;
     * kept x -> a x + b, dropped -> -alpha a + b.  At p = 0.5: */
    const double p = 0.5, alpha = 1.7580993408473766;
    const double a = 1.0 / sqrt((alpha * alpha * p + 1.0) * (1.0 - p));
    const double b = alpha * a * p;
    float x[64], y[64];
    for (int k = 0; k < 64; k++)
        x[k] = (float)k - 32.0f;
    dropout_shape shape = {1, {64}, 0};
    dropout_params params = {.p = p, .seed = 1, .stream = 2};
    uint8_t mask[8];
    CHECK_OK(dropout_shaped_forward(&params, DROPOUT_VARIANT_ALPHA, DROPOUT_DTYPE_F32, &shape, y,
                                    x, mask, sizeof mask));
    int bad = 0, kept = 0;
    for (int k = 0; k < 64; k++) {
        float expect = mask_bit(mask, (uint64_t)k) ? x[k] * (float)a + (float)b
                                                   : (float)(-alpha * a + b);
        bad += bits_f32(y[k]) != bits_f32(expect);
        kept += mask_bit(mask, (uint64_t)k);
    }
    CHECK(bad == 0 && kept > 0 && kept < 64, "alpha dropout at p = 0.5 does not match PyTorch's "
          "formula (%d differ, %d kept)", bad, kept);
    printf("p = 0.5: a = %.17g, b = %.17g, dropped value = %.17g\n", a, b, -alpha * a + b);
    /* a and b from the brief's form: a = ((1-p)(1 + p alpha'^2))^-1/2, b = -a alpha' p */
    CHECK(fabs(a - 1.0 / sqrt((1 - p) * (1 + p * ALPHA_PRIME * ALPHA_PRIME))) < 1e-15 &&
              fabs(b + a * ALPHA_PRIME * p) < 1e-15,
          "the two forms of the constants disagree");
}

static void check_moments(const char *name, const float *y, size_t batches, size_t len,
                          int expect_pass)
{
    moments m = batch_moments(y, batches, len);
    double z_mean = m.mean.mean / m.mean.se, z_var = (m.second.mean - 1.0) / m.second.se;
    printf("%s: mean %+.6f (se %.2e, %+.2f sigma), E[y^2] %.6f (se %.2e, %+.2f sigma)\n", name,
           m.mean.mean, m.mean.se, z_mean, m.second.mean, m.second.se, z_var);
    if (expect_pass) {
        CHECK(fabs(z_mean) < SIGMAS, "%s: mean %g is %.2f standard errors from 0", name,
              m.mean.mean, z_mean);
        CHECK(fabs(z_var) < SIGMAS, "%s: variance %g is %.2f standard errors from 1", name,
              m.second.mean, z_var);
    } else {
        CHECK(fabs(z_var) > 10 * SIGMAS, "%s (control): the bound cannot tell variance %g "
              "from 1 (%.2f standard errors)", name, m.second.mean, z_var);
    }
}

int main(void)
{
    check_constants();
    const size_t n = FAMILY_BIG((size_t)10000000);
    float *x = test_malloc(n * sizeof *x), *y = test_malloc(n * sizeof *y);
    test_rng rng = {0x5E1u};
    for (size_t k = 0; k < n; k++)
        x[k] = (float)test_rng_normal(&rng);
    moments input = batch_moments(x, n / 1000, 1000);
    printf("input: mean %+.6f, E[x^2] %.6f\n", input.mean.mean, input.second.mean);

    const double ps[] = {0.1, 0.5};
    for (size_t i = 0; i < 2; i++) {
        char name[64];
        dropout_params params = {.p = ps[i], .seed = 42 + i, .stream = 3};
        /* alpha dropout: elementwise */
        dropout_shape flat = {1, {n}, 0};
        CHECK_OK(dropout_shaped_forward(&params, DROPOUT_VARIANT_ALPHA, DROPOUT_DTYPE_F32, &flat,
                                        y, x, NULL, 0));
        snprintf(name, sizeof name, "alpha p=%.1f", ps[i]);
        check_moments(name, y, n / 1000, 1000, 1);
        /* feature alpha dropout: (N, C, L) = (n / 10^4, 100, 100), mask per channel */
        dropout_shape channels = {3, {n / 10000, 100, 100}, DROPOUT_BROADCAST_DIM(2)};
        CHECK_OK(dropout_shaped_forward(&params, DROPOUT_VARIANT_ALPHA, DROPOUT_DTYPE_F32,
                                        &channels, y, x, NULL, 0));
        snprintf(name, sizeof name, "feature alpha p=%.1f", ps[i]);
        check_moments(name, y, n / 100, 100, 1);
        /* control: plain dropout has variance 1 / (1 - p) */
        CHECK_OK(dropout_forward_f32(&params, y, x, n, NULL, 0));
        snprintf(name, sizeof name, "standard p=%.1f", ps[i]);
        check_moments(name, y, n / 1000, 1000, 0);
    }
    free(x), free(y);
    return test_exit_code("test_family_alpha");
}
