/*
 * half.c — the public bf16 / f16 conversions: half.h's, which every kernel
 * uses (the typed bf16/f16 operations are in ops.c with the others).
 */
#include "dropout.h"
#include "half.h"

uint16_t dropout_bf16_from_f32(float value) { return half_bf16_from_f32(value); }
float dropout_f32_from_bf16(uint16_t value) { return half_f32_from_bf16(value); }
uint16_t dropout_f16_from_f32(float value) { return half_f16_from_f32(value); }
float dropout_f32_from_f16(uint16_t value) { return half_f32_from_f16(value); }
