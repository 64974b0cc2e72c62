/*
 * immintrin.h (model) — the AVX-512 intrinsics that src/kernels/avx512.c
 * uses (every slot of its table), written out in plain C one lane at a time from Intel's definitions.
 *
 * tests/simd.cmake compiles avx512.c against this header instead of the
 * compiler's when the build machine has no AVX-512, so the lane logic of
 * the AVX-512 kernels (counter order, transposes, masks, tails, the batched
 * tie draws) is still checked bit for bit against scalar.c.  It checks the
 * code, not the compiler's AVX-512 code generation: on an AVX-512 machine
 * test_simd_kernels_avx512 runs the real thing.
 */
#ifndef DROPOUT_AVX512_MODEL_H
#define DROPOUT_AVX512_MODEL_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "half.h"

typedef union { uint8_t b[64]; uint32_t d[16]; uint64_t q[8]; } __m512i;
typedef struct { float f[16]; } __m512;
typedef struct { double f[8]; } __m512d;
typedef uint16_t __mmask16; typedef uint8_t __mmask8; typedef uint32_t __mmask32; typedef uint64_t __mmask64;
#define _MM_PERM_CDAB 0xB1
#define I static inline /* one model function per intrinsic */
I __m512i _mm512_add_epi64(__m512i a, __m512i b){ for(int i=0;i<8;i++) a.q[i]+=b.q[i]; return a; }
I __m512i _mm512_and_si512(__m512i a, __m512i b){ for(int i=0;i<8;i++) a.q[i]&=b.q[i]; return a; }
I __m512i _mm512_xor_si512(__m512i a, __m512i b){ for(int i=0;i<8;i++) a.q[i]^=b.q[i]; return a; }
I __mmask64 _mm512_cmpeq_epi8_mask(__m512i a, __m512i b){ uint64_t k=0; for(int i=0;i<64;i++) k|=(uint64_t)(a.b[i]==b.b[i])<<i; return k; }
I __mmask64 _mm512_cmplt_epu8_mask(__m512i a, __m512i b){ uint64_t k=0; for(int i=0;i<64;i++) k|=(uint64_t)(a.b[i]<b.b[i])<<i; return k; }
I __mmask8 _mm512_cmplt_epu64_mask(__m512i a, __m512i b){ unsigned k=0; for(int i=0;i<8;i++) k|=(unsigned)(a.q[i]<b.q[i])<<i; return (__mmask8)k; }
I __m512 _mm512_loadu_ps(const void *p){ __m512 v; memcpy(&v,p,64); return v; }
I __m512d _mm512_loadu_pd(const void *p){ __m512d v; memcpy(&v,p,64); return v; }
I __m512i _mm512_loadu_si512(const void *p){ __m512i v; memcpy(&v,p,64); return v; }
I void _mm512_storeu_ps(void *p, __m512 v){ memcpy(p,&v,64); }
I void _mm512_storeu_pd(void *p, __m512d v){ memcpy(p,&v,64); }
I __m512i _mm512_mask_blend_epi32(__mmask16 k, __m512i a, __m512i b){ for(int i=0;i<16;i++) if((k>>i)&1) a.d[i]=b.d[i]; return a; }
I void _mm512_mask_storeu_ps(float *p, __mmask16 k, __m512 v){ for(int i=0;i<16;i++) if((k>>i)&1) memcpy((char *)p+4*i,&v.f[i],4); }
I void _mm512_mask_storeu_pd(double *p, __mmask8 k, __m512d v){ for(int i=0;i<8;i++) if((k>>i)&1) memcpy((char *)p+8*i,&v.f[i],8); }
I __m512 _mm512_maskz_loadu_ps(__mmask16 k, const float *p){ __m512 v; for(int i=0;i<16;i++){ v.f[i]=0.0f; if((k>>i)&1) memcpy(&v.f[i],(const char *)p+4*i,4); } return v; }
I __m512d _mm512_maskz_loadu_pd(__mmask8 k, const double *p){ __m512d v; for(int i=0;i<8;i++){ v.f[i]=0.0; if((k>>i)&1) memcpy(&v.f[i],(const char *)p+8*i,8); } return v; }
I __m512 _mm512_maskz_mul_ps(__mmask16 k, __m512 a, __m512 b){ for(int i=0;i<16;i++) a.f[i]=((k>>i)&1)?a.f[i]*b.f[i]:0.0f; return a; }
I __m512d _mm512_maskz_mul_pd(__mmask8 k, __m512d a, __m512d b){ for(int i=0;i<8;i++) a.f[i]=((k>>i)&1)?a.f[i]*b.f[i]:0.0; return a; }
I __m512i _mm512_mul_epu32(__m512i a, __m512i b){ __m512i r; for(int i=0;i<8;i++) r.q[i]=(uint64_t)a.d[2*i]*b.d[2*i]; return r; }
I __m512i _mm512_set1_epi32(int x){ __m512i r; for(int i=0;i<16;i++) r.d[i]=(uint32_t)x; return r; }
I __m512i _mm512_set1_epi64(long long x){ __m512i r; for(int i=0;i<8;i++) r.q[i]=(uint64_t)x; return r; }
I __m512i _mm512_set1_epi8(char x){ __m512i r; memset(r.b,(unsigned char)x,64); return r; }
I __m512 _mm512_set1_ps(float x){ __m512 r; for(int i=0;i<16;i++) r.f[i]=x; return r; }
I __m512d _mm512_set1_pd(double x){ __m512d r; for(int i=0;i<8;i++) r.f[i]=x; return r; }
I __m512i _mm512_setr_epi64(long long a,long long b,long long c,long long d,long long e,long long f,long long g,long long h){ __m512i r; long long v[8]={a,b,c,d,e,f,g,h}; for(int i=0;i<8;i++) r.q[i]=(uint64_t)v[i]; return r; }
I __m512i _mm512_shuffle_epi32(__m512i a, int imm){ __m512i r; for(int l=0;l<4;l++) for(int j=0;j<4;j++) r.d[4*l+j]=a.d[4*l+((imm>>(2*j))&3)]; return r; }
I __m512i _mm512_slli_epi64(__m512i a, int n){ for(int i=0;i<8;i++) a.q[i]<<=n; return a; }
I __m512i _mm512_srli_epi64(__m512i a, int n){ for(int i=0;i<8;i++) a.q[i]>>=n; return a; }
/* bit i of the result = bit (4a + 2b + c) of imm, word-wide: OR of the minterms imm selects */
I __m512i _mm512_ternarylogic_epi32(__m512i a, __m512i b, __m512i c, int imm){ __m512i r; for(int i=0;i<16;i++){ uint32_t x=0; for(int m=0;m<8;m++) if((imm>>m)&1) x|=((m&4)?a.d[i]:~a.d[i])&((m&2)?b.d[i]:~b.d[i])&((m&1)?c.d[i]:~c.d[i]); r.d[i]=x; } return r; }
I __m512i _mm512_unpacklo_epi32(__m512i a, __m512i b){ __m512i r; for(int l=0;l<4;l++){ r.d[4*l]=a.d[4*l]; r.d[4*l+1]=b.d[4*l]; r.d[4*l+2]=a.d[4*l+1]; r.d[4*l+3]=b.d[4*l+1]; } return r; }
I __m512i _mm512_unpackhi_epi32(__m512i a, __m512i b){ __m512i r; for(int l=0;l<4;l++){ r.d[4*l]=a.d[4*l+2]; r.d[4*l+1]=b.d[4*l+2]; r.d[4*l+2]=a.d[4*l+3]; r.d[4*l+3]=b.d[4*l+3]; } return r; }
I __m512i _mm512_unpacklo_epi64(__m512i a, __m512i b){ __m512i r; for(int l=0;l<4;l++){ r.q[2*l]=a.q[2*l]; r.q[2*l+1]=b.q[2*l]; } return r; }
I __m512i _mm512_unpackhi_epi64(__m512i a, __m512i b){ __m512i r; for(int l=0;l<4;l++){ r.q[2*l]=a.q[2*l+1]; r.q[2*l+1]=b.q[2*l+1]; } return r; }
/* the dense Philox layout (one block per 32-bit lane) */
I __m512i _mm512_setr_epi32(int a0,int a1,int a2,int a3,int a4,int a5,int a6,int a7,int a8,int a9,int a10,int a11,int a12,int a13,int a14,int a15){ __m512i r; int v[16]={a0,a1,a2,a3,a4,a5,a6,a7,a8,a9,a10,a11,a12,a13,a14,a15}; for(int i=0;i<16;i++) r.d[i]=(uint32_t)v[i]; return r; }
I __mmask16 _mm512_cmplt_epu32_mask(__m512i a, __m512i b){ unsigned k=0; for(int i=0;i<16;i++) k|=(unsigned)(a.d[i]<b.d[i])<<i; return (__mmask16)k; }
I __m512i _mm512_mask_add_epi32(__m512i src, __mmask16 k, __m512i a, __m512i b){ for(int i=0;i<16;i++) if((k>>i)&1) src.d[i]=a.d[i]+b.d[i]; return src; }
/* lanes where k is set: shuffle_epi32(a, imm); the others: src */
I __m512i _mm512_mask_shuffle_epi32(__m512i src, __mmask16 k, __m512i a, int imm){ __m512i t; for(int l=0;l<4;l++) for(int j=0;j<4;j++) t.d[4*l+j]=a.d[4*l+((imm>>(2*j))&3)]; for(int i=0;i<16;i++) if((k>>i)&1) src.d[i]=t.d[i]; return src; }
/* 16-bit lanes (forward_half): conversions, rounding and moves */
typedef union { uint16_t h[16]; uint32_t d[8]; } __m256i;
#define _MM_FROUND_TO_NEAREST_INT 0x00
#define _MM_FROUND_NO_EXC 0x08
I __m256i _mm256_loadu_si256(const void *p){ __m256i v; memcpy(&v,p,32); return v; }
I void _mm256_storeu_si256(void *p, __m256i v){ memcpy(p,&v,32); }
I __m512i _mm512_cvtepu16_epi32(__m256i a){ __m512i r; for(int i=0;i<16;i++) r.d[i]=a.h[i]; return r; }
typedef union { uint16_t h[8]; uint64_t q[2]; } __m128i;
I __m128i _mm_loadu_si128(const void *p){ __m128i v; memcpy(&v,p,16); return v; }
I __m512i _mm512_cvtepu16_epi64(__m128i a){ __m512i r; for(int i=0;i<8;i++) r.q[i]=a.h[i]; return r; }
I __m256i _mm512_cvtepi32_epi16(__m512i a){ __m256i r; for(int i=0;i<16;i++) r.h[i]=(uint16_t)a.d[i]; return r; }
I __m512i _mm512_slli_epi32(__m512i a, unsigned n){ for(int i=0;i<16;i++) a.d[i]=n>31?0:a.d[i]<<n; return a; }
I __m512i _mm512_srli_epi32(__m512i a, unsigned n){ for(int i=0;i<16;i++) a.d[i]=n>31?0:a.d[i]>>n; return a; }
I __m512i _mm512_add_epi32(__m512i a, __m512i b){ for(int i=0;i<16;i++) a.d[i]+=b.d[i]; return a; }
I __mmask16 _mm512_cmpgt_epi32_mask(__m512i a, __m512i b){ unsigned k=0; for(int i=0;i<16;i++) k|=(unsigned)((int32_t)a.d[i]>(int32_t)b.d[i])<<i; return (__mmask16)k; }
I __m512i _mm512_mask_or_epi32(__m512i src, __mmask16 k, __m512i a, __m512i b){ for(int i=0;i<16;i++) if((k>>i)&1) src.d[i]=a.d[i]|b.d[i]; return src; }
I __m512 _mm512_castsi512_ps(__m512i a){ __m512 r; memcpy(&r,&a,64); return r; }
I __m512i _mm512_castps_si512(__m512 a){ __m512i r; memcpy(&r,&a,64); return r; }
/* vcvtph2ps is exact; vcvtps2ph rounds to nearest-even and quiets NaN, which
 * is what half.h spells out (checked against a brute-force rounding in
 * test_family_half) */
I __m512 _mm512_cvtph_ps(__m256i a){ __m512 r; for(int i=0;i<16;i++) r.f[i]=half_f32_from_f16(a.h[i]); return r; }
I __m256i _mm512_cvtps_ph(__m512 a, int imm){ __m256i r; (void)imm; for(int i=0;i<16;i++) r.h[i]=half_f16_from_f32(a.f[i]); return r; }
/* 32 half-precision elements per step (forward_half) */
I __m512i _mm512_setzero_si512(void){ __m512i r; memset(&r,0,64); return r; }
I __m512 _mm512_mul_ps(__m512 a, __m512 b){ for(int i=0;i<16;i++) a.f[i]*=b.f[i]; return a; }
I __m512i _mm512_set1_epi16(short x){ __m512i r; for(int i=0;i<32;i++){ uint16_t v=(uint16_t)x; memcpy(r.b+2*i,&v,2);} return r; }
I uint16_t model_h(const __m512i *a, int i){ uint16_t v; memcpy(&v,a->b+2*i,2); return v; }
I void model_set_h(__m512i *a, int i, uint16_t v){ memcpy(a->b+2*i,&v,2); }
I __m512i _mm512_unpacklo_epi16(__m512i a, __m512i b){ __m512i r; for(int l=0;l<4;l++) for(int j=0;j<4;j++){ model_set_h(&r,8*l+2*j,model_h(&a,8*l+j)); model_set_h(&r,8*l+2*j+1,model_h(&b,8*l+j)); } return r; }
I __m512i _mm512_unpackhi_epi16(__m512i a, __m512i b){ __m512i r; for(int l=0;l<4;l++) for(int j=0;j<4;j++){ model_set_h(&r,8*l+2*j,model_h(&a,8*l+4+j)); model_set_h(&r,8*l+2*j+1,model_h(&b,8*l+4+j)); } return r; }
I __mmask32 _mm512_cmpgt_epi16_mask(__m512i a, __m512i b){ uint32_t k=0; for(int i=0;i<32;i++) k|=(uint32_t)((int16_t)model_h(&a,i)>(int16_t)model_h(&b,i))<<i; return k; }
I uint16_t model_sat_u16(uint32_t v){ int32_t s=(int32_t)v; return (uint16_t)(s<0?0:s>65535?65535:s); }
I __m512i _mm512_packus_epi32(__m512i a, __m512i b){ __m512i r; for(int l=0;l<4;l++) for(int j=0;j<4;j++){ model_set_h(&r,8*l+j,model_sat_u16(a.d[4*l+j])); model_set_h(&r,8*l+4+j,model_sat_u16(b.d[4*l+j])); } return r; }
I __m256i _mm512_castsi512_si256(__m512i a){ __m256i r; memcpy(&r,&a,32); return r; }
I __m256i _mm512_extracti64x4_epi64(__m512i a, int i){ __m256i r; memcpy(&r,a.b+32*(i&1),32); return r; }
I __m512i _mm512_castsi256_si512(__m256i a){ __m512i r; memset(&r,0,64); memcpy(&r,&a,32); return r; }
I __m512i _mm512_inserti64x4(__m512i a, __m256i b, int i){ memcpy(a.b+32*(i&1),&b,32); return a; }
I void _mm512_storeu_si512(void *p, __m512i v){ memcpy(p,&v,64); }
I __m512i _mm512_maskz_mov_epi16(__mmask32 k, __m512i a){ for(int i=0;i<32;i++) if(!((k>>i)&1)) model_set_h(&a,i,0); return a; }
/* (masked loads and stores go through memcpy: the kernels take buffers at
 * any address, and so must the model under UBSan) */
/* streaming stores fault on a misaligned address: so does the model */
I void _mm512_stream_ps(float *p, __m512 v){ if ((uintptr_t)p & 63) abort(); memcpy(p,&v,64); }
I void _mm512_stream_pd(double *p, __m512d v){ if ((uintptr_t)p & 63) abort(); memcpy(p,&v,64); }
I void _mm512_stream_si512(void *p, __m512i v){ if ((uintptr_t)p & 63) abort(); memcpy(p,&v,64); }
I void _mm256_stream_si256(__m256i *p, __m256i v){ if ((uintptr_t)p & 31) abort(); memcpy(p,&v,32); }
I void _mm_sfence(void){ }
/* the fused residual and its column sums */
typedef struct { float f[8]; } __m256;
I __m256 _mm256_loadu_ps(const void *p){ __m256 v; memcpy(&v,p,32); return v; }
I __m512 _mm512_add_ps(__m512 a, __m512 b){ for(int i=0;i<16;i++) a.f[i]+=b.f[i]; return a; }
#define _CMP_UNORD_Q 3 /* the only predicate modelled: either lane NaN */
I __mmask16 _mm512_cmp_ps_mask(__m512 a, __m512 b, int imm){ unsigned k=0; if (imm != _CMP_UNORD_Q) abort(); for(int i=0;i<16;i++) k|=(unsigned)(a.f[i]!=a.f[i]||b.f[i]!=b.f[i])<<i; return (__mmask16)k; }
I __m512 _mm512_mask_blend_ps(__mmask16 k, __m512 a, __m512 b){ for(int i=0;i<16;i++) if((k>>i)&1) a.f[i]=b.f[i]; return a; }
I __m512d _mm512_add_pd(__m512d a, __m512d b){ for(int i=0;i<8;i++) a.f[i]+=b.f[i]; return a; }
I __m512d _mm512_cvtps_pd(__m256 a){ __m512d r; for(int i=0;i<8;i++) r.f[i]=(double)a.f[i]; return r; }
/* bf16 rounding of a pair of vectors (half_avx512.h) */
I __mmask16 _mm512_test_epi32_mask(__m512i a, __m512i b){ unsigned k=0; for(int i=0;i<16;i++) k|=(unsigned)((a.d[i]&b.d[i])!=0)<<i; return (__mmask16)k; }
I __m512i _mm512_maskz_permutex2var_epi16(__mmask32 k, __m512i a, __m512i idx, __m512i b){ __m512i r; for(int i=0;i<32;i++){ unsigned j=model_h(&idx,i)&63; uint16_t v=j<32?model_h(&a,(int)j):model_h(&b,(int)j-32); model_set_h(&r,i,((k>>i)&1)?v:0); } return r; }
#undef I

#endif /* DROPOUT_AVX512_MODEL_H */
