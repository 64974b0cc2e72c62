/*
 * half.c — bf16 and f16 dropout (tier 2 in half precision) and the public
 * conversions.  Each operation is the one-dimensional case of the shaped
 * operation (shaped.c), so bf16, f16 and f32 share one mask path.
 */
#include "family.h"
#include "half.h"

uint16_t dropout_bf16_from_f32(float value) { return half_bf16_from_f32(value); }
float dropout_f32_from_bf16(uint16_t value) { return half_f32_from_bf16(value); }
uint16_t dropout_f16_from_f32(float value) { return half_f16_from_f32(value); }
float dropout_f32_from_f16(uint16_t value) { return half_f32_from_f16(value); }

static dropout_shape vector_shape(size_t n)
{
    dropout_shape shape = {1, {n}, 0};
    return shape;
}

int dropout_forward_bf16(const dropout_params *params, uint16_t *y, const uint16_t *x,
                         size_t n, uint8_t *mask, size_t mask_size)
{
    dropout_shape shape = vector_shape(n);
    return dropout_shaped_forward(params, DROPOUT_VARIANT_STANDARD, DROPOUT_DTYPE_BF16, &shape,
                                  y, x, mask, mask_size);
}

int dropout_forward_f16(const dropout_params *params, uint16_t *y, const uint16_t *x,
                        size_t n, uint8_t *mask, size_t mask_size)
{
    dropout_shape shape = vector_shape(n);
    return dropout_shaped_forward(params, DROPOUT_VARIANT_STANDARD, DROPOUT_DTYPE_F16, &shape,
                                  y, x, mask, mask_size);
}

int dropout_backward_mask_bf16(const dropout_params *params, uint16_t *dx, const uint16_t *dy,
                               size_t n, const uint8_t *mask, size_t mask_size)
{
    dropout_shape shape = vector_shape(n);
    return dropout_shaped_backward_mask(params, DROPOUT_VARIANT_STANDARD, DROPOUT_DTYPE_BF16,
                                        &shape, dx, dy, mask, mask_size);
}

int dropout_backward_mask_f16(const dropout_params *params, uint16_t *dx, const uint16_t *dy,
                              size_t n, const uint8_t *mask, size_t mask_size)
{
    dropout_shape shape = vector_shape(n);
    return dropout_shaped_backward_mask(params, DROPOUT_VARIANT_STANDARD, DROPOUT_DTYPE_F16,
                                        &shape, dx, dy, mask, mask_size);
}

int dropout_backward_regen_bf16(const dropout_params *params, uint16_t *dx, const uint16_t *dy,
                                size_t n)
{
    dropout_shape shape = vector_shape(n);
    return dropout_shaped_backward_regen(params, DROPOUT_VARIANT_STANDARD, DROPOUT_DTYPE_BF16,
                                         &shape, dx, dy);
}

int dropout_backward_regen_f16(const dropout_params *params, uint16_t *dx, const uint16_t *dy,
                               size_t n)
{
    dropout_shape shape = vector_shape(n);
    return dropout_shaped_backward_regen(params, DROPOUT_VARIANT_STANDARD, DROPOUT_DTYPE_F16,
                                         &shape, dx, dy);
}
