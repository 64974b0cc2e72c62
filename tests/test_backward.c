/*
 * test_backward.c — the two backwards agree with the forward's mask:
 *
 *   dx_regen  = dropout_backward_regen(params, dy)          (mask regenerated)
 *   dx_mask   = dropout_backward_mask(params, dy, mask)     (mask from forward)
 *   dx_direct = mask_bit(k) ? dy[k] * s : +0.0               (computed here)
 *
 * must be bitwise equal, for f32 and f64, several p, offsets and lengths; and
 * the forward's mask must match its own y (kept <=> y == x * s).  In
 * evaluation mode both backwards are the identity.
 */
#include "test_util.h"

enum { N = 2053 };

static void check_f32(double p, uint64_t first, test_rng *rng)
{
    static float x[N], y[N], dy[N], dx_regen[N], dx_mask[N];
    static uint8_t mask[N / 8 + 1];
    const float s = (float)(1.0 / (1.0 - p));
    for (size_t k = 0; k < N; k++) {
        x[k] = (float)(test_rng_unit(rng) * 2.0 - 1.0);
        dy[k] = (float)(test_rng_unit(rng) * 2.0 - 1.0);
    }
    dy[7] = NAN, dy[8] = INFINITY, dy[9] = -0.0f;
    dropout_params params = {.p = p, .seed = test_rng_next(rng), .stream = test_rng_next(rng),
                             .first = first};
    CHECK_OK(dropout_forward_f32(&params, y, x, N, mask, sizeof mask));
    CHECK_OK(dropout_backward_regen_f32(&params, dx_regen, dy, N));
    CHECK_OK(dropout_backward_mask_f32(&params, dx_mask, dy, N, mask, sizeof mask));
    long kept = 0, bad = 0;
    size_t first_bad = N;
    for (size_t k = 0; k < N; k++) {
        int keep = mask_bit(mask, k);
        kept += keep;
        float direct = keep ? dy[k] * s : 0.0f;
        float y_want = keep ? x[k] * s : 0.0f;
        int ok = bits_f32(dx_regen[k]) == bits_f32(dx_mask[k]) &&
                 (isnan(direct) ? isnan(dx_mask[k]) : bits_f32(dx_mask[k]) == bits_f32(direct)) &&
                 bits_f32(y[k]) == bits_f32(y_want);
        if (!ok && bad++ == 0)
            first_bad = k;
    }
    CHECK(bad == 0, "f32 p %g first %" PRIu64 ": %ld elements differ, first at %zu: regen %.9g "
          "mask %.9g dy*mask*s %.9g", p, first, bad, first_bad, dx_regen[first_bad % N],
          dx_mask[first_bad % N], mask_bit(mask, first_bad % N) ? dy[first_bad % N] * s : 0.0f);
    printf("  f32 p %-6g first %-20" PRIu64 " n %d: kept %ld, regen == mask == dy*mask*s "
           "(%ld differ)\n", p, first, N, kept, bad);

    /* Evaluation: both backwards are the identity. */
    params.mode = DROPOUT_EVAL;
    CHECK_OK(dropout_backward_regen_f32(&params, dx_regen, dy, N));
    CHECK_OK(dropout_backward_mask_f32(&params, dx_mask, dy, N, NULL, 0));
    CHECK(memcmp(dx_regen, dy, sizeof dy) == 0 && memcmp(dx_mask, dy, sizeof dy) == 0,
          "f32 eval backward is not the identity");
}

static void check_f64(double p, uint64_t first, test_rng *rng)
{
    static double x[N], y[N], dy[N], dx_regen[N], dx_mask[N];
    static uint8_t mask[N / 8 + 1];
    const double s = 1.0 / (1.0 - p);
    for (size_t k = 0; k < N; k++) {
        x[k] = test_rng_unit(rng) * 2.0 - 1.0;
        dy[k] = test_rng_unit(rng) * 2.0 - 1.0;
    }
    dy[7] = NAN, dy[8] = -INFINITY, dy[9] = -0.0;
    dropout_params params = {.p = p, .seed = test_rng_next(rng), .stream = test_rng_next(rng),
                             .first = first};
    CHECK_OK(dropout_forward_f64(&params, y, x, N, mask, sizeof mask));
    CHECK_OK(dropout_backward_regen_f64(&params, dx_regen, dy, N));
    CHECK_OK(dropout_backward_mask_f64(&params, dx_mask, dy, N, mask, sizeof mask));
    long kept = 0, bad = 0;
    size_t first_bad = N;
    for (size_t k = 0; k < N; k++) {
        int keep = mask_bit(mask, k);
        kept += keep;
        double direct = keep ? dy[k] * s : 0.0;
        double y_want = keep ? x[k] * s : 0.0;
        int ok = bits_f64(dx_regen[k]) == bits_f64(dx_mask[k]) &&
                 (isnan(direct) ? isnan(dx_mask[k]) : bits_f64(dx_mask[k]) == bits_f64(direct)) &&
                 bits_f64(y[k]) == bits_f64(y_want);
        if (!ok && bad++ == 0)
            first_bad = k;
    }
    CHECK(bad == 0, "f64 p %g first %" PRIu64 ": %ld elements differ, first at %zu", p, first,
          bad, first_bad);
    printf("  f64 p %-6g first %-20" PRIu64 " n %d: kept %ld, regen == mask == dy*mask*s "
           "(%ld differ)\n", p, first, N, kept, bad);

    params.mode = DROPOUT_EVAL;
    CHECK_OK(dropout_backward_regen_f64(&params, dx_regen, dy, N));
    CHECK_OK(dropout_backward_mask_f64(&params, dx_mask, dy, N, NULL, 0));
    CHECK(memcmp(dx_regen, dy, sizeof dy) == 0 && memcmp(dx_mask, dy, sizeof dy) == 0,
          "f64 eval backward is not the identity");
}

int main(void)
{
    test_rng rng = {0xbacc};
    const double ps[] = {0.5, 0.1, 0.3, 0.9, 1e-6, 0.999};
    const uint64_t firsts[] = {0, 13, ((uint64_t)1 << 36) - 1000, UINT64_MAX - N + 1};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
        for (size_t j = 0; j < sizeof firsts / sizeof firsts[0]; j++) {
            check_f32(ps[i], firsts[j], &rng);
            check_f64(ps[i], firsts[j], &rng);
        }
    return test_exit_code("test_backward");
}
