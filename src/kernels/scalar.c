/*
 * scalar.c — the reference kernels: docs/SPEC.md sections 1-3, line by line.
 *
 * Elements are handled in groups of 8, one packed mask byte at a time, so the
 * same mask routine (keep_bits_scalar) serves forward, backward and export.
 */
#include "kernels.h"

/* Keep bits of elements first ... first + count - 1 (count <= 8), bit k for
 * element first + k. */
static uint32_t keep_bits_scalar(const mask_stream *ms, uint64_t first, unsigned count)
{
    uint32_t bits = 0;
    uint32_t words[4];
    uint64_t cached_block = 0;
    int have_block = 0;
    for (unsigned k = 0; k < count; k++) {
        uint64_t index = first + k;
        uint64_t block_index = index / MASK_BLOCK_ELEMENTS;
        if (!have_block || block_index != cached_block) {
            mask_block_words(ms, block_index, words);
            cached_block = block_index;
            have_block = 1;
        }
        unsigned byte_in_block = (unsigned)(index % MASK_BLOCK_ELEMENTS);
        uint32_t r = (words[byte_in_block / 4] >> (8 * (byte_in_block % 4))) & 0xFFu;
        bits |= (uint32_t)mask_byte_keep(ms, r, index) << k;
    }
    return bits;
}

static unsigned group_size(size_t n, size_t k)
{
    return n - k < 8 ? (unsigned)(n - k) : 8u;
}

static void mask_scalar(const mask_stream *ms, uint64_t first, size_t n, uint8_t *mask)
{
    for (size_t k = 0; k < n; k += 8)
        mask[k / 8] = (uint8_t)keep_bits_scalar(ms, first + k, group_size(n, k));
}

/* A kept element is one multiply by s (never FMA, never divide); a dropped
 * one is +0.0 whatever x is (a select, not a multiply by zero). */
static void apply_mask_f32_scalar(size_t n, float s, const uint8_t *mask,
                                  const float *dy, float *dx, int stream)
{
    (void)stream; /* plain C: the compiler's stores */
    for (size_t k = 0; k < n; k++)
        kernels_store_f32(dx, k, ((mask[k / 8] >> (k % 8)) & 1u) ? kernels_load_f32(dy, k) * s : 0.0f);
}

static void apply_mask_f64_scalar(size_t n, double s, const uint8_t *mask,
                                  const double *dy, double *dx, int stream)
{
    (void)stream;
    for (size_t k = 0; k < n; k++)
        kernels_store_f64(dx, k, ((mask[k / 8] >> (k % 8)) & 1u) ? kernels_load_f64(dy, k) * s : 0.0);
}

static void forward_f32_scalar(const mask_stream *ms, uint64_t first, size_t n, float s,
                               const float *x, float *y, uint8_t *mask, int stream)
{
    (void)stream;
    for (size_t k = 0; k < n; k += 8) {
        uint8_t bits = (uint8_t)keep_bits_scalar(ms, first + k, group_size(n, k));
        apply_mask_f32_scalar(group_size(n, k), s, &bits, x + k, y + k, 0);
        if (mask)
            mask[k / 8] = bits;
    }
}

static void forward_f64_scalar(const mask_stream *ms, uint64_t first, size_t n, double s,
                               const double *x, double *y, uint8_t *mask, int stream)
{
    (void)stream;
    for (size_t k = 0; k < n; k += 8) {
        uint8_t bits = (uint8_t)keep_bits_scalar(ms, first + k, group_size(n, k));
        apply_mask_f64_scalar(group_size(n, k), s, &bits, x + k, y + k, 0);
        if (mask)
            mask[k / 8] = bits;
    }
}

const dropout_kernels dropout_kernels_scalar = {
    .isa = "scalar",
    .mask = mask_scalar,
    .forward_f32 = forward_f32_scalar,
    .forward_f64 = forward_f64_scalar,
    .apply_mask_f32 = apply_mask_f32_scalar,
    .apply_mask_f64 = apply_mask_f64_scalar,
};
