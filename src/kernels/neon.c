/*
 * neon.c — the kernel table for AArch64 NEON (Advanced SIMD, part of the
 * base ISA).  Same bits as scalar.c.
 *
 * Same plan as avx2.c, tile by tile:
 *   1. Philox for 16 blocks at once (four vectors of 4 counters, 256
 *      elements), transposed so the random bytes come out in element order;
 *      keep byte = 0xFF if r < t0 else 0x00; tie positions (r == t0, 1 in
 *      256) are collected as nibble masks (vshrn trick: 4 bits per byte).
 *   2. The ties of the tile are resolved in one pass with the scalar tie
 *      draw (mask.h).
 *   3. The operation reads the keep bytes: widened to lane masks for
 *      y = (x * s) & mask, or folded into packed mask bits.
 */
#include <arm_neon.h>
#include <string.h>

#include "kernels.h"

#define TILE 2048 /* elements per tile; a multiple of 8 */
#define GROUP 256 /* elements per Philox call: 16 blocks of 16 bytes */
#define KEEP_BYTES (TILE + GROUP + 16)
#define SETS 4

typedef struct philox_neon {
    uint32x4_t round_key0[PHILOX_ROUNDS];
    uint32x4_t round_key1[PHILOX_ROUNDS];
    uint32_t stream_lo, stream_hi;
} philox_neon;

static void philox_neon_init(philox_neon *px, const mask_stream *ms)
{
    uint32_t k0 = ms->key[0], k1 = ms->key[1];
    for (int r = 0; r < PHILOX_ROUNDS; r++) {
        px->round_key0[r] = vdupq_n_u32(k0);
        px->round_key1[r] = vdupq_n_u32(k1);
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    px->stream_lo = ms->stream_lo;
    px->stream_hi = ms->stream_hi;
}

/* hi = (c * m) >> 32 for each of the 4 lanes (vmull: 32x32->64 on 2 lanes) */
static inline uint32x4_t mul_hi_neon(uint32x4_t c, uint32x4_t m)
{
    uint64x2_t low = vmull_u32(vget_low_u32(c), vget_low_u32(m));
    uint64x2_t high = vmull_high_u32(c, m);
    return vuzp2q_u32(vreinterpretq_u32_u64(low), vreinterpretq_u32_u64(high));
}

/* Philox4x32-10 of blocks block ... block + 15: set t, lane l is block
 * block + 4t + l.  out[4t + b] = the 16 random bytes of block 4t + b. */
static inline void philox16_neon(const philox_neon *px, uint64_t block, uint8x16_t out[16])
{
    const uint32x4_t m0 = vdupq_n_u32(PHILOX_M0);
    const uint32x4_t m1 = vdupq_n_u32(PHILOX_M1);
    uint32x4_t c0[SETS], c1[SETS], c2[SETS], c3[SETS];
    for (int t = 0; t < SETS; t++) {
        /* counter = {lo(j), hi(j), lo(stream), hi(stream)}, j = block + 4t + l */
        uint64_t j0 = block + 4 * (uint64_t)t;
        uint32_t lo[4], hi[4];
        for (int l = 0; l < 4; l++) {
            lo[l] = (uint32_t)(j0 + (uint64_t)l);
            hi[l] = (uint32_t)((j0 + (uint64_t)l) >> 32);
        }
        c0[t] = vld1q_u32(lo);
        c1[t] = vld1q_u32(hi);
        c2[t] = vdupq_n_u32(px->stream_lo);
        c3[t] = vdupq_n_u32(px->stream_hi);
    }
    /* 10 rounds: c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
     * with (hi0, lo0) = M0 * c0 and (hi1, lo1) = M1 * c2 */
    for (int r = 0; r < PHILOX_ROUNDS; r++) {
        for (int t = 0; t < SETS; t++) {
            uint32x4_t hi0 = mul_hi_neon(c0[t], m0), lo0 = vmulq_u32(c0[t], m0);
            uint32x4_t hi1 = mul_hi_neon(c2[t], m1), lo1 = vmulq_u32(c2[t], m1);
            c0[t] = veorq_u32(hi1, veorq_u32(c1[t], px->round_key0[r]));
            c1[t] = lo1;
            c2[t] = veorq_u32(hi0, veorq_u32(c3[t], px->round_key1[r]));
            c3[t] = lo0;
        }
    }
    for (int t = 0; t < SETS; t++) {
        /* 4x4 transpose: lane l of word vector w -> word w of block l */
        uint32x4x2_t z01 = vzipq_u32(c0[t], c1[t]); /* b0w0 b0w1 b1w0 b1w1 | b2.. b3.. */
        uint32x4x2_t z23 = vzipq_u32(c2[t], c3[t]); /* b0w2 b0w3 b1w2 b1w3 | b2.. b3.. */
        uint64x2_t a0 = vreinterpretq_u64_u32(z01.val[0]), a1 = vreinterpretq_u64_u32(z01.val[1]);
        uint64x2_t b0 = vreinterpretq_u64_u32(z23.val[0]), b1 = vreinterpretq_u64_u32(z23.val[1]);
        out[4 * t + 0] = vreinterpretq_u8_u64(vzip1q_u64(a0, b0));
        out[4 * t + 1] = vreinterpretq_u8_u64(vzip2q_u64(a0, b0));
        out[4 * t + 2] = vreinterpretq_u8_u64(vzip1q_u64(a1, b1));
        out[4 * t + 3] = vreinterpretq_u8_u64(vzip2q_u64(a1, b1));
    }
}

/* Keep bytes of elements first ... first + len - 1 (len <= TILE), ties
 * resolved: keep[o + k] is 0xFF or 0x00 for element first + k, where
 * o = first % 16 is returned. */
static size_t tile_keep_neon(const mask_stream *ms, const philox_neon *px, uint64_t first,
                             size_t len, uint8_t keep[KEEP_BYTES])
{
    const size_t o = (size_t)(first % MASK_BLOCK_ELEMENTS);
    const uint64_t block = first / MASK_BLOCK_ELEMENTS;
    const size_t groups = (o + len + GROUP - 1) / GROUP;
    uint64_t ties[(TILE + GROUP) / 16]; /* per 16 bytes: 4 bits per byte */
    const uint8x16_t t0 = vdupq_n_u8((uint8_t)ms->t0);
    for (size_t g = 0; g < groups; g++) {
        uint8x16_t r[16];
        philox16_neon(px, block + 16 * g, r);
        for (int v = 0; v < 16; v++) {
            /* keep = r < t0 (unsigned bytes), tie = r == t0 */
            vst1q_u8(keep + GROUP * g + 16 * (size_t)v, vcltq_u8(r[v], t0));
            uint8x16_t tie = vceqq_u8(r[v], t0);
            /* 16 tie bytes -> 64 bits, 4 per byte: shift-right-narrow by 4 */
            uint8x8_t nibbles = vshrn_n_u16(vreinterpretq_u16_u8(tie), 4);
            ties[16 * g + (size_t)v] = vget_lane_u64(vreinterpret_u64_u8(nibbles), 0);
        }
    }
    memset(keep + GROUP * groups, 0, 16);
    /* The ties of the tile, in one pass; those outside [o, o + len) belong
     * to other tiles. */
    for (size_t w = 0; w < 16 * groups; w++) {
        for (uint64_t t = ties[w] & 0x1111111111111111ull; t != 0; t &= t - 1) {
            size_t pos = 16 * w + (size_t)__builtin_ctzll(t) / 4;
            if (pos >= o && pos < o + len)
                keep[pos] = mask_tie_keep(ms, block * MASK_BLOCK_ELEMENTS + pos) ? 0xFF : 0x00;
        }
    }
    return o;
}

/* Packed mask bits of keep[0 ... len - 1] into mask[0 ... ceil(len/8) - 1]. */
static void pack_keep_neon(const uint8_t *keep, size_t len, uint8_t *mask)
{
    static const uint8_t weights[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    const uint8x16_t bit = vld1q_u8(weights);
    size_t k = 0;
    for (; k + 16 <= len; k += 16) {
        /* byte = sum over 8 keep bytes of (keep & 2^i) */
        uint8x16_t bits = vandq_u8(vld1q_u8(keep + k), bit);
        mask[k / 8] = vaddv_u8(vget_low_u8(bits));
        mask[k / 8 + 1] = vaddv_u8(vget_high_u8(bits));
    }
    for (; k < len; k += 8) {
        unsigned byte = 0;
        for (size_t i = 0; i < 8 && k + i < len; i++)
            byte |= (keep[k + i] & 1u) << i;
        mask[k / 8] = (uint8_t)byte;
    }
}

static void mask_neon(const mask_stream *ms, uint64_t first, size_t n, uint8_t *mask)
{
    philox_neon px;
    philox_neon_init(&px, ms);
    uint8_t keep[KEEP_BYTES];
    for (size_t done = 0; done < n; done += TILE) {
        size_t len = n - done < TILE ? n - done : TILE;
        size_t o = tile_keep_neon(ms, &px, first + done, len, keep);
        pack_keep_neon(keep + o, len, mask + done / 8);
    }
}

/* 8 bf16 lanes of f32 bits (4 + 4) -> bf16, round to nearest-even, NaN
 * quieted: half.h's recipe  nan ? (b >> 16) | 0x40 : (b + 0x7FFF + ((b >> 16) & 1)) >> 16 */
static inline uint16x4_t round_bf16_neon(float32x4_t v)
{
    const uint32x4_t b = vreinterpretq_u32_f32(v);
    const uint32x4_t high = vshrq_n_u32(b, 16);
    uint32x4_t rounded = vshrq_n_u32(
        vaddq_u32(b, vaddq_u32(vdupq_n_u32(0x7FFF), vandq_u32(high, vdupq_n_u32(1)))), 16);
    uint32x4_t nan = vcgtq_u32(vandq_u32(b, vdupq_n_u32(0x7FFFFFFF)), vdupq_n_u32(0x7F800000));
    uint32x4_t quiet = vorrq_u32(high, vdupq_n_u32(0x40));
    return vmovn_u32(vbslq_u32(nan, quiet, rounded));
}

/* Elements [0, len) of one tile from its keep bytes kb (0xFF or 0x00):
 * y = keep ? x * s : +0.0; bf16/f16 round every lane, then the keep bytes
 * zero the dropped ones (0x0000 is +0.0). */
KERNELS_INLINE void out_tile_neon(int dtype, const kernel_consts *c, const uint8_t *kb, size_t len,
                                  const void *x_, void *y_)
{
    size_t k = 0;
    switch (dtype) {
    case DROPOUT_DTYPE_F32: {
        const float *x = x_, s = c->s32;
        float *y = y_;
        const float32x4_t scale = vdupq_n_f32(s);
        for (; k + 8 <= len; k += 8) {
            /* 8 keep bytes widened to two vectors of 4 lane masks */
            int16x8_t wide = vmovl_s8(vreinterpret_s8_u8(vld1_u8(kb + k)));
            uint32x4_t lanes0 = vreinterpretq_u32_s32(vmovl_s16(vget_low_s16(wide)));
            uint32x4_t lanes1 = vreinterpretq_u32_s32(vmovl_s16(vget_high_s16(wide)));
            uint32x4_t p0 = vreinterpretq_u32_f32(vmulq_f32(vld1q_f32(x + k), scale));
            uint32x4_t p1 = vreinterpretq_u32_f32(vmulq_f32(vld1q_f32(x + k + 4), scale));
            vst1q_f32(y + k, vreinterpretq_f32_u32(vandq_u32(p0, lanes0)));
            vst1q_f32(y + k + 4, vreinterpretq_f32_u32(vandq_u32(p1, lanes1)));
        }
        for (; k < len; k++)
            kernels_store_f32(y, k, kb[k] ? kernels_load_f32(x, k) * s : 0.0f);
        break;
    }
    case DROPOUT_DTYPE_F64: {
        const double *x = x_, s = c->s;
        double *y = y_;
        const float64x2_t scale = vdupq_n_f64(s);
        for (; k + 4 <= len; k += 4) {
            /* 4 keep bytes widened to two vectors of 2 lane masks */
            uint32_t four;
            memcpy(&four, kb + k, 4);
            int16x8_t w16 = vmovl_s8(vreinterpret_s8_u32(vdup_n_u32(four)));
            int32x4_t w32 = vmovl_s16(vget_low_s16(w16));
            uint64x2_t lanes0 = vreinterpretq_u64_s64(vmovl_s32(vget_low_s32(w32)));
            uint64x2_t lanes1 = vreinterpretq_u64_s64(vmovl_s32(vget_high_s32(w32)));
            uint64x2_t p0 = vreinterpretq_u64_f64(vmulq_f64(vld1q_f64(x + k), scale));
            uint64x2_t p1 = vreinterpretq_u64_f64(vmulq_f64(vld1q_f64(x + k + 2), scale));
            vst1q_f64(y + k, vreinterpretq_f64_u64(vandq_u64(p0, lanes0)));
            vst1q_f64(y + k + 2, vreinterpretq_f64_u64(vandq_u64(p1, lanes1)));
        }
        for (; k < len; k++)
            kernels_store_f64(y, k, kb[k] ? kernels_load_f64(x, k) * s : 0.0);
        break;
    }
    default: {
        const int bf16 = dtype == DROPOUT_DTYPE_BF16;
        const uint16_t *x = x_;
        uint16_t *y = y_;
        const float s = c->s32;
        const float32x4_t scale = vdupq_n_f32(s);
        for (; k + 8 <= len; k += 8) {
            /* the 8 keep bytes widened to 16-bit lane masks */
            uint16x8_t lanes = vreinterpretq_u16_s16(vmovl_s8(vreinterpret_s8_u8(vld1_u8(kb + k))));
            uint16x8_t raw = vld1q_u16(x + k);
            uint16x8_t out;
            if (bf16) {
                float32x4_t lo = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(raw), 16));
                float32x4_t hi = vreinterpretq_f32_u32(vshll_n_u16(vget_high_u16(raw), 16));
                out = vcombine_u16(round_bf16_neon(vmulq_f32(lo, scale)),
                                   round_bf16_neon(vmulq_f32(hi, scale)));
            } else {
                float32x4_t lo = vcvt_f32_f16(vreinterpret_f16_u16(vget_low_u16(raw)));
                float32x4_t hi = vcvt_f32_f16(vreinterpret_f16_u16(vget_high_u16(raw)));
                out = vcombine_u16(vreinterpret_u16_f16(vcvt_f16_f32(vmulq_f32(lo, scale))),
                                   vreinterpret_u16_f16(vcvt_f16_f32(vmulq_f32(hi, scale))));
            }
            vst1q_u16(y + k, vandq_u16(out, lanes));
        }
        for (; k < len; k++) /* the last len % 8 elements of the call */
            kernels_store_u16(y, k, half_dropout_one(bf16, kb[k] != 0, kernels_load_u16(x, k), s));
        break;
    }
    }
}

/* The fused forward of one dtype, tile by tile: keep bytes, the elements,
 * then the packed mask when asked. */
KERNELS_INLINE void forward_neon(int dtype, size_t elem_size, const mask_stream *ms,
                                 uint64_t first, size_t n, const kernel_consts *c, const void *x,
                                 void *y, uint8_t *mask, int nontemporal)
{
    (void)nontemporal; /* no streaming stores on this ISA yet */
    philox_neon px;
    philox_neon_init(&px, ms);
    uint8_t keep[KEEP_BYTES];
    for (size_t done = 0; done < n; done += TILE) {
        size_t len = n - done < TILE ? n - done : TILE;
        const uint8_t *kb = keep + tile_keep_neon(ms, &px, first + done, len, keep);
        out_tile_neon(dtype, c, kb, len, (const char *)x + done * elem_size,
                      (char *)y + done * elem_size);
        if (mask)
            pack_keep_neon(kb, len, mask + done / 8);
    }
}

KERNELS_FORWARD_SLOT(forward_f32_neon, forward_neon, DROPOUT_DTYPE_F32, 4)
KERNELS_FORWARD_SLOT(forward_f64_neon, forward_neon, DROPOUT_DTYPE_F64, 8)
KERNELS_FORWARD_SLOT(forward_bf16_neon, forward_neon, DROPOUT_DTYPE_BF16, 2)
KERNELS_FORWARD_SLOT(forward_f16_neon, forward_neon, DROPOUT_DTYPE_F16, 2)

static void apply_f32_neon(size_t n, const kernel_consts *c, const uint8_t *mask,
                           const void *dy_, void *dx_, int stream)
{
    const float *dy = dy_, s = c->s32;
    float *dx = dx_;
    (void)stream; /* no streaming stores on this ISA yet */
    static const uint32_t low_bits[4] = {1, 2, 4, 8}, high_bits[4] = {16, 32, 64, 128};
    const uint32x4_t bit_low = vld1q_u32(low_bits), bit_high = vld1q_u32(high_bits);
    const float32x4_t scale = vdupq_n_f32(s);
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        /* lane j keeps iff bit j of mask byte k / 8 is set */
        uint32x4_t byte = vdupq_n_u32(mask[k / 8]);
        uint32x4_t lanes0 = vtstq_u32(byte, bit_low), lanes1 = vtstq_u32(byte, bit_high);
        /* dx = keep ? dy * s : +0.0 */
        uint32x4_t p0 = vreinterpretq_u32_f32(vmulq_f32(vld1q_f32(dy + k), scale));
        uint32x4_t p1 = vreinterpretq_u32_f32(vmulq_f32(vld1q_f32(dy + k + 4), scale));
        vst1q_f32(dx + k, vreinterpretq_f32_u32(vandq_u32(p0, lanes0)));
        vst1q_f32(dx + k + 4, vreinterpretq_f32_u32(vandq_u32(p1, lanes1)));
    }
    for (; k < n; k++)
        kernels_store_f32(dx, k, ((mask[k / 8] >> (k % 8)) & 1u) ? kernels_load_f32(dy, k) * s : 0.0f);
}

static void apply_f64_neon(size_t n, const kernel_consts *c, const uint8_t *mask,
                           const void *dy_, void *dx_, int stream)
{
    const double *dy = dy_, s = c->s;
    double *dx = dx_;
    (void)stream; /* no streaming stores on this ISA yet */
    static const uint64_t bits[8] = {1, 2, 4, 8, 16, 32, 64, 128};
    const float64x2_t scale = vdupq_n_f64(s);
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        /* elements k + 2i, k + 2i + 1 keep iff bits 2i, 2i + 1 of the byte */
        uint64x2_t byte = vdupq_n_u64(mask[k / 8]);
        for (int i = 0; i < 4; i++) {
            uint64x2_t lanes = vtstq_u64(byte, vld1q_u64(bits + 2 * i));
            uint64x2_t p = vreinterpretq_u64_f64(vmulq_f64(vld1q_f64(dy + k + 2 * i), scale));
            vst1q_f64(dx + k + 2 * i, vreinterpretq_f64_u64(vandq_u64(p, lanes)));
        }
    }
    for (; k < n; k++)
        kernels_store_f64(dx, k, ((mask[k / 8] >> (k % 8)) & 1u) ? kernels_load_f64(dy, k) * s : 0.0);
}

const dropout_kernels dropout_kernels_neon = {
    .isa = "neon",
    .mask = mask_neon,
    .forward = {[DROPOUT_DTYPE_F32] = forward_f32_neon, [DROPOUT_DTYPE_F64] = forward_f64_neon,
                [DROPOUT_DTYPE_BF16] = forward_bf16_neon, [DROPOUT_DTYPE_F16] = forward_f16_neon},
    .apply = {[DROPOUT_DTYPE_F32] = apply_f32_neon, [DROPOUT_DTYPE_F64] = apply_f64_neon},
};
