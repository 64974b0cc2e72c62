/*
 * gaussian.c — standard normals for gaussian dropout, docs/SPEC.md section 5.
 *
 * Box-Muller needs log, cos and sin; libm's differ between systems in the
 * last bit, so they are written out here as fixed series in +, -, *, / and
 * sqrt (each correctly rounded by IEEE 754, and the build forbids FMA
 * contraction): the same (seed, stream, index) gives the same bits anywhere.
 * Each series is accurate to about 1e-16, far below what f32 noise can show.
 */
#include <math.h>

#include "gaussian.h"
#include "philox.h"

#define GAUSSIAN_LN2 0x1.62e42fefa39efp-1        /* ln 2, rounded to double     */
#define GAUSSIAN_HALF_PI 0x1.921fb54442d18p+0    /* pi / 2, rounded to double   */
#define GAUSSIAN_SQRT_HALF 0x1.6a09e667f3bcdp-1  /* sqrt(1/2), rounded to double */

gaussian_stream gaussian_stream_make(uint64_t seed, uint64_t stream)
{
    gaussian_stream gs;
    gs.key[0] = (uint32_t)seed ^ GAUSSIAN_KEY_XOR;
    gs.key[1] = (uint32_t)(seed >> 32);
    gs.stream_lo = (uint32_t)stream;
    gs.stream_hi = (uint32_t)(stream >> 32);
    return gs;
}

/* -2 ln(u), u = (2w + 1) / 2^33 in (0, 1).
 * 2w + 1 = m 2^e with m in [sqrt(1/2), sqrt(2)) (exact), then
 * ln m = 2 atanh(t) = 2 (t + t^3/3 + ... + t^23/23), t = (m - 1)/(m + 1),
 * |t| <= 0.1716, so the first omitted term is below 1e-19. */
static double minus_two_log_unit(uint32_t w)
{
    int e;
    double m = frexp((double)(2 * (uint64_t)w + 1), &e); /* m in [0.5, 1), exact */
    if (m < GAUSSIAN_SQRT_HALF) {
        m *= 2.0;
        e -= 1;
    }
    double t = (m - 1.0) / (m + 1.0);
    double t2 = t * t;
    double series = 1.0 / 23.0;
    for (int k = 10; k >= 0; k--)
        series = 1.0 / (double)(2 * k + 1) + t2 * series;
    double log_u = (double)(e - 33) * GAUSSIAN_LN2 + 2.0 * t * series;
    return -2.0 * log_u;
}

/* cos and sin of 2 pi w / 2^32: quadrant q = w >> 30 (exact), then
 * theta = (w mod 2^30) / 2^30 * pi/2 in [0, pi/2), Taylor series to
 * theta^22 (cos) and theta^23 (sin), first omitted term below 1e-19. */
static void cos_sin_turn(uint32_t w, double *c, double *s)
{
    unsigned quadrant = w >> 30;
    double theta = (double)(w & 0x3FFFFFFFu) * 0x1.0p-30 * GAUSSIAN_HALF_PI;
    double theta2 = theta * theta;
    double cos_series = 1.0, sin_series = 1.0;
    for (int k = 11; k >= 1; k--) {
        cos_series = 1.0 - theta2 / (double)((2 * k - 1) * (2 * k)) * cos_series;
        sin_series = 1.0 - theta2 / (double)((2 * k) * (2 * k + 1)) * sin_series;
    }
    double co = cos_series, si = theta * sin_series;
    switch (quadrant) { /* cos/sin of q pi/2 + theta */
    case 0: *c = co; *s = si; break;
    case 1: *c = -si; *s = co; break;
    case 2: *c = -co; *s = -si; break;
    default: *c = si; *s = -co; break;
    }
}

void gaussian_block(const gaussian_stream *gs, uint64_t block_index, double z[4])
{
    const uint32_t counter[4] = {(uint32_t)block_index, (uint32_t)(block_index >> 32),
                                 gs->stream_lo, gs->stream_hi};
    uint32_t w[4];
    philox4x32_10(counter, gs->key, w);
    for (int pair = 0; pair < 2; pair++) {
        double radius = sqrt(minus_two_log_unit(w[2 * pair]));
        double c, s;
        cos_sin_turn(w[2 * pair + 1], &c, &s);
        z[2 * pair] = radius * c;
        z[2 * pair + 1] = radius * s;
    }
}

void gaussian_noise(const gaussian_stream *gs, uint64_t first, size_t n, double sigma,
                    double *noise)
{
    double z[4];
    uint64_t cached = 0;
    int have = 0;
    for (size_t k = 0; k < n; k++) {
        uint64_t index = first + k;
        uint64_t block = index / GAUSSIAN_BLOCK_ELEMENTS;
        if (!have || block != cached) {
            gaussian_block(gs, block, z);
            cached = block;
            have = 1;
        }
        noise[k] = 1.0 + sigma * z[index % GAUSSIAN_BLOCK_ELEMENTS];
    }
}
