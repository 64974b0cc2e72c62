/*
 * immintrin.h (model) — the AVX-512F intrinsics that src/family/apply_avx512.c
 * uses, written out in plain C one lane at a time from Intel's definitions.
 *
 * tests/family.cmake compiles apply_avx512.c against this header instead of
 * the compiler's when the build machine has no AVX-512, so the lane logic of
 * the family's AVX-512 apply loops (masks, rounding, packing, tails) is still
 * checked bit for bit against apply_scalar.c by test_family_isa.  It checks
 * the code, not the compiler's AVX-512 code generation.
 *
 * The f16 conversions (vcvtph2ps, vcvtps2ph with round-to-nearest-even) are
 * modelled by value — the nearest half found by search, ties to the even
 * pattern — not by the bit tricks of src/family/half.h, so that they are an
 * independent reference.
 */
#ifndef DROPOUT_FAMILY_AVX512_MODEL_H
#define DROPOUT_FAMILY_AVX512_MODEL_H
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef union { uint16_t h[32]; uint32_t d[16]; } __m512i;
typedef struct { float f[16]; } __m512;
typedef struct { double f[8]; } __m512d;
typedef union { uint16_t h[16]; uint32_t d[8]; } __m256i;
typedef struct { float f[8]; } __m256;
typedef uint16_t __mmask16;
#define _MM_FROUND_TO_NEAREST_INT 0x00
#define _MM_FROUND_NO_EXC 0x08

/* ---- f16 by value ---------------------------------------------------------- */

static inline double model_f16_value(unsigned bits) /* positive finite pattern */
{
    unsigned e = (bits >> 10) & 0x1F, m = bits & 0x3FF;
    return e == 0 ? ldexp((double)m, -24) : ldexp(1024.0 + m, (int)e - 25);
}

static inline float model_f32_from_f16(uint16_t h)
{
    unsigned e = (h >> 10) & 0x1F, m = h & 0x3FF;
    float sign = (h & 0x8000) ? -1.0f : 1.0f;
    if (e == 0x1F && m == 0)
        return sign * INFINITY;
    if (e == 0x1F) { /* NaN: quiet, payload in the top mantissa bits */
        uint32_t bits = ((uint32_t)(h & 0x8000) << 16) | 0x7FC00000u | ((uint32_t)m << 13);
        float f;
        memcpy(&f, &bits, sizeof f);
        return f;
    }
    return sign * (float)model_f16_value(h & 0x7FFF);
}

static inline uint16_t model_f16_from_f32(float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint16_t sign = (uint16_t)((bits >> 16) & 0x8000);
    if (isnan(v)) /* quieted, top 10 payload bits kept */
        return (uint16_t)(sign | 0x7E00 | ((bits >> 13) & 0x3FF));
    double a = fabs((double)v);
    const double max = model_f16_value(0x7BFF);
    if (a >= max + 16.0) /* 65520 and up: Inf (ties go to the even Inf) */
        return (uint16_t)(sign | 0x7C00);
    if (a >= max)
        return (uint16_t)(sign | 0x7BFF);
    unsigned lo = 0, hi = 0x7BFF;
    while (hi - lo > 1) {
        unsigned mid = (lo + hi) / 2;
        if (model_f16_value(mid) <= a)
            lo = mid;
        else
            hi = mid;
    }
    double dlo = a - model_f16_value(lo), dhi = model_f16_value(hi) - a;
    unsigned pick = dlo < dhi ? lo : dhi < dlo ? hi : ((lo & 1) ? hi : lo);
    return (uint16_t)(sign | pick);
}

/* ---- the intrinsics ------------------------------------------------------------ */
#define I static inline /* one model function per intrinsic */
I __m512 _mm512_set1_ps(float x){ __m512 r; for(int i=0;i<16;i++) r.f[i]=x; return r; }
I __m512i _mm512_set1_epi32(int x){ __m512i r; for(int i=0;i<16;i++) r.d[i]=(uint32_t)x; return r; }
I __m256i _mm256_loadu_si256(const void *p){ __m256i v; memcpy(&v,p,32); return v; }
I void _mm256_storeu_si256(void *p, __m256i v){ memcpy(p,&v,32); }
I __m256 _mm256_loadu_ps(const void *p){ __m256 v; memcpy(&v,p,32); return v; }
I __m512 _mm512_loadu_ps(const void *p){ __m512 v; memcpy(&v,p,64); return v; }
I void _mm512_storeu_ps(void *p, __m512 v){ memcpy(p,&v,64); }
I __m512d _mm512_loadu_pd(const void *p){ __m512d v; memcpy(&v,p,64); return v; }
I void _mm512_storeu_pd(void *p, __m512d v){ memcpy(p,&v,64); }
I __m512i _mm512_cvtepu16_epi32(__m256i a){ __m512i r; for(int i=0;i<16;i++) r.d[i]=a.h[i]; return r; }
I __m256i _mm512_cvtepi32_epi16(__m512i a){ __m256i r; for(int i=0;i<16;i++) r.h[i]=(uint16_t)a.d[i]; return r; }
I __m512 _mm512_castsi512_ps(__m512i a){ __m512 r; memcpy(&r,&a,64); return r; }
I __m512i _mm512_castps_si512(__m512 a){ __m512i r; memcpy(&r,&a,64); return r; }
I __m512i _mm512_slli_epi32(__m512i a, unsigned n){ for(int i=0;i<16;i++) a.d[i]=n>31?0:a.d[i]<<n; return a; }
I __m512i _mm512_srli_epi32(__m512i a, unsigned n){ for(int i=0;i<16;i++) a.d[i]=n>31?0:a.d[i]>>n; return a; }
I __m512i _mm512_add_epi32(__m512i a, __m512i b){ for(int i=0;i<16;i++) a.d[i]+=b.d[i]; return a; }
I __m512i _mm512_and_si512(__m512i a, __m512i b){ for(int i=0;i<16;i++) a.d[i]&=b.d[i]; return a; }
I __mmask16 _mm512_cmpgt_epi32_mask(__m512i a, __m512i b){ unsigned k=0; for(int i=0;i<16;i++) k|=(unsigned)((int32_t)a.d[i]>(int32_t)b.d[i])<<i; return (__mmask16)k; }
I __m512i _mm512_mask_or_epi32(__m512i src, __mmask16 k, __m512i a, __m512i b){ for(int i=0;i<16;i++) if((k>>i)&1) src.d[i]=a.d[i]|b.d[i]; return src; }
I __m512 _mm512_maskz_mul_ps(__mmask16 k, __m512 a, __m512 b){ for(int i=0;i<16;i++) a.f[i]=((k>>i)&1)?a.f[i]*b.f[i]:0.0f; return a; }
I __m512 _mm512_add_ps(__m512 a, __m512 b){ for(int i=0;i<16;i++) a.f[i]+=b.f[i]; return a; }
#define _CMP_UNORD_Q 3 /* the only predicate modelled: either lane NaN */
I __mmask16 _mm512_cmp_ps_mask(__m512 a, __m512 b, int imm){ unsigned k=0; if (imm != _CMP_UNORD_Q) abort(); for(int i=0;i<16;i++) k|=(unsigned)(a.f[i]!=a.f[i]||b.f[i]!=b.f[i])<<i; return (__mmask16)k; }
I __m512 _mm512_mask_blend_ps(__mmask16 k, __m512 a, __m512 b){ for(int i=0;i<16;i++) if((k>>i)&1) a.f[i]=b.f[i]; return a; }
I __m512d _mm512_add_pd(__m512d a, __m512d b){ for(int i=0;i<8;i++) a.f[i]+=b.f[i]; return a; }
I __m512d _mm512_cvtps_pd(__m256 a){ __m512d r; for(int i=0;i<8;i++) r.f[i]=(double)a.f[i]; return r; }
I __m512 _mm512_cvtph_ps(__m256i a){ __m512 r; for(int i=0;i<16;i++) r.f[i]=model_f32_from_f16(a.h[i]); return r; }
I __m256i _mm512_cvtps_ph(__m512 a, int imm){ __m256i r; (void)imm; for(int i=0;i<16;i++) r.h[i]=model_f16_from_f32(a.f[i]); return r; }
/* streaming stores fault on a misaligned address: so does the model */
I void _mm512_stream_ps(float *p, __m512 v){ if ((uintptr_t)p & 63) abort(); memcpy(p,&v,64); }
I void _mm_sfence(void){ }
#undef I

#endif /* DROPOUT_FAMILY_AVX512_MODEL_H */
