/*
 * avx512_bf16.c — avx512.c once more, for CPUs with AVX512_BF16 and DQ as
 * well as F + BW + VL (Cooper Lake, Sapphire Rapids, Zen 4 and later): the
 * table dropout_kernels_avx512_bf16, whose bf16 slots round with
 * vcvtne2ps2bf16 where that gives the scalar reference's bits.  The flags
 * are set on this file only (kernels.cmake); dispatch.c picks this table
 * for "avx512" when the CPU has both extensions.
 */
#define KERNELS_AVX512_BF16 1
#include "avx512.c"
