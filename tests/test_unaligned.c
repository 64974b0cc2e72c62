/*
 * test_unaligned.c — arrays at any byte address (NumPy passes misaligned
 * float/double views): every entry point, every kernel variant, inputs and
 * outputs one byte off their element alignment, give the bits of the aligned
 * call.  The kernels must load and store such elements through memcpy (or
 * unaligned vector loads): the ASan+UBSan build of CI runs this test, and
 * UBSan aborts on a misaligned float or double access.
 */
#include "test_util.h"

#define N 1000 /* not a multiple of a vector: heads and tails */
#define D 40
#define OFF 1  /* bytes off alignment */

static const dropout_params train = {.p = 0.3, .seed = 5, .stream = 4, .first = 3,
                                     .mode = DROPOUT_TRAIN};

typedef int (*call_fn)(uint8_t *out, const uint8_t *in, const uint8_t *aux, uint8_t *mask);

static int forward_f32(uint8_t *y, const uint8_t *x, const uint8_t *aux, uint8_t *mask)
{
    (void)aux;
    return dropout_forward_f32(&train, (float *)(void *)y, (const float *)(const void *)x, N,
                               mask, dropout_mask_bytes(N));
}
static int forward_f64(uint8_t *y, const uint8_t *x, const uint8_t *aux, uint8_t *mask)
{
    (void)aux;
    return dropout_forward_f64(&train, (double *)(void *)y, (const double *)(const void *)x, N,
                               mask, dropout_mask_bytes(N));
}
static int backward_mask_f32(uint8_t *dx, const uint8_t *dy, const uint8_t *aux, uint8_t *mask)
{
    (void)aux;
    return dropout_backward_mask_f32(&train, (float *)(void *)dx, (const float *)(const void *)dy,
                                     N, mask, dropout_mask_bytes(N));
}
static int backward_regen_f64(uint8_t *dx, const uint8_t *dy, const uint8_t *aux, uint8_t *mask)
{
    (void)aux, (void)mask;
    return dropout_backward_regen_f64(&train, (double *)(void *)dx,
                                      (const double *)(const void *)dy, N);
}
static int forward_bf16(uint8_t *y, const uint8_t *x, const uint8_t *aux, uint8_t *mask)
{
    (void)aux;
    return dropout_forward_bf16(&train, (uint16_t *)(void *)y, (const uint16_t *)(const void *)x,
                                N, mask, dropout_mask_bytes(N));
}
static int forward_f16(uint8_t *y, const uint8_t *x, const uint8_t *aux, uint8_t *mask)
{
    (void)aux;
    return dropout_forward_f16(&train, (uint16_t *)(void *)y, (const uint16_t *)(const void *)x,
                               N, mask, dropout_mask_bytes(N));
}
static int alpha_f64(uint8_t *y, const uint8_t *x, const uint8_t *aux, uint8_t *mask)
{
    (void)aux;
    dropout_shape shape = {2, {N / D, D}, DROPOUT_BROADCAST_DIM(0)};
    return dropout_shaped_forward(&train, DROPOUT_VARIANT_ALPHA, DROPOUT_DTYPE_F64, &shape, y, x,
                                  mask, dropout_mask_bytes(N));
}
static int gaussian_f32(uint8_t *y, const uint8_t *x, const uint8_t *aux, uint8_t *mask)
{
    (void)aux, (void)mask;
    dropout_shape shape = {1, {N}, 0};
    return dropout_shaped_forward(&train, DROPOUT_VARIANT_GAUSSIAN, DROPOUT_DTYPE_F32, &shape, y,
                                  x, NULL, 0);
}
/* aux holds bias (D elements) then residual (N elements) */
static int residual_f32(uint8_t *y, const uint8_t *x, const uint8_t *aux, uint8_t *mask)
{
    return dropout_bias_residual_forward(&train, DROPOUT_DTYPE_F32, y, x, aux, aux + D * 4, N, D,
                                         mask, dropout_mask_bytes(N));
}
static int residual_f64(uint8_t *y, const uint8_t *x, const uint8_t *aux, uint8_t *mask)
{
    return dropout_bias_residual_forward(&train, DROPOUT_DTYPE_F64, y, x, aux, aux + D * 8, N, D,
                                         mask, dropout_mask_bytes(N));
}
/* out holds dx (N elements) then dbias (D elements) */
static int residual_back_f32(uint8_t *out, const uint8_t *dy, const uint8_t *aux, uint8_t *mask)
{
    (void)aux;
    return dropout_bias_residual_backward_mask(&train, DROPOUT_DTYPE_F32, out, out + N * 4, NULL,
                                               dy, N, D, mask, dropout_mask_bytes(N));
}
static int residual_back_f64(uint8_t *out, const uint8_t *dy, const uint8_t *aux, uint8_t *mask)
{
    (void)aux, (void)mask;
    return dropout_bias_residual_backward_regen(&train, DROPOUT_DTYPE_F64, out, out + N * 8,
                                                NULL, dy, N, D);
}
static int residual_back_bf16(uint8_t *out, const uint8_t *dy, const uint8_t *aux, uint8_t *mask)
{
    (void)aux, (void)mask;
    return dropout_bias_residual_backward_regen(&train, DROPOUT_DTYPE_BF16, out, out + N * 2,
                                                NULL, dy, N, D);
}

typedef struct entry {
    const char *name;
    size_t elem;
    size_t out_elems;
    call_fn call;
    int reads_mask; /* backward from a mask: the mask is an input */
} entry;

static const entry entries[] = {
    {"dropout_forward_f32", 4, N, forward_f32, 0},
    {"dropout_forward_f64", 8, N, forward_f64, 0},
    {"dropout_backward_mask_f32", 4, N, backward_mask_f32, 1},
    {"dropout_backward_regen_f64", 8, N, backward_regen_f64, 0},
    {"dropout_forward_bf16", 2, N, forward_bf16, 0},
    {"dropout_forward_f16", 2, N, forward_f16, 0},
    {"dropout_shaped_forward alpha f64", 8, N, alpha_f64, 0},
    {"dropout_shaped_forward gaussian f32", 4, N, gaussian_f32, 0},
    {"dropout_bias_residual_forward f32", 4, N, residual_f32, 0},
    {"dropout_bias_residual_forward f64", 8, N, residual_f64, 0},
    {"dropout_bias_residual_backward_mask f32", 4, N + D, residual_back_f32, 1},
    {"dropout_bias_residual_backward_regen f64", 8, N + D, residual_back_f64, 0},
    {"dropout_bias_residual_backward_regen bf16", 2, N + D, residual_back_bf16, 0},
};
#define ENTRY_COUNT (sizeof entries / sizeof entries[0])

/* 64-byte aligned storage; buffers start at `offset` bytes into it. */
static _Alignas(64) uint8_t in_store[(N + D) * 8 + 64], aux_store[(N + D) * 8 + 64];
static _Alignas(64) uint8_t out_store[(N + D) * 8 + 64], ref_out[(N + D) * 8];
static uint8_t mask_store[N / 8 + 64], ref_mask[N / 8 + 8];

/* Finite values of the element size (finite bf16/f16/f32/f64 patterns). */
static void fill(uint8_t *buf, size_t elems, size_t elem, test_rng *rng)
{
    for (size_t k = 0; k < elems; k++) {
        float f = (float)(test_rng_unit(rng) * 4.0 - 2.0);
        double d = f;
        uint16_t h = elem == 2 ? dropout_bf16_from_f32(f) : 0;
        memcpy(buf + k * elem, elem == 8 ? (void *)&d : elem == 4 ? (void *)&f : (void *)&h, elem);
    }
}

int main(void)
{
    static const char *const isas[] = {"scalar", "avx2", "avx512", "neon"};
    char tested[64] = "";
    long calls = 0;
    for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
        if (dropout_set_isa(isas[i]) != DROPOUT_OK)
            continue; /* not on this machine (the list printed says what ran) */
        strcat(tested, " ");
        strcat(tested, isas[i]);
        for (size_t e = 0; e < ENTRY_COUNT; e++) {
            const entry *en = &entries[e];
            const size_t out_bytes = en->out_elems * en->elem;
            for (int misaligned = 0; misaligned <= 1; misaligned++) {
                const size_t off = misaligned ? OFF : 0;
                test_rng rng = {e + 1};
                uint8_t *in = in_store + off, *aux = aux_store + off, *out = out_store + off;
                uint8_t *mask = mask_store + off;
                fill(in, N, en->elem, &rng);
                fill(aux, N + D, en->elem, &rng);
                memset(out, 0, out_bytes);
                memset(mask, 0, dropout_mask_bytes(N));
                if (en->reads_mask)
                    REQUIRE(dropout_mask(&train, N, mask, dropout_mask_bytes(N)) == DROPOUT_OK,
                            "mask");
                int status = en->call(out, in, aux, mask);
                calls++;
                CHECK(status == DROPOUT_OK, "%s, %s, offset %zu: %s", en->name, isas[i], off,
                      dropout_status_string(status));
                if (!misaligned) {
                    memcpy(ref_out, out, out_bytes);
                    memcpy(ref_mask, mask, dropout_mask_bytes(N));
                } else {
                    CHECK(memcmp(ref_out, out, out_bytes) == 0,
                          "%s, %s: the misaligned call's output differs from the aligned one's",
                          en->name, isas[i]);
                    CHECK(memcmp(ref_mask, mask, dropout_mask_bytes(N)) == 0,
                          "%s, %s: the misaligned call's mask differs", en->name, isas[i]);
                }
            }
        }
    }
    /* the layer API forwards to the same entry points; one misaligned call */
    dropout_layer layer;
    CHECK_OK(dropout_layer_init(&layer, 0.5, 9));
    test_rng rng = {77};
    fill(in_store + OFF, N, 4, &rng);
    CHECK_OK(dropout_layer_forward_f32(&layer, (float *)(void *)(out_store + OFF),
                                       (const float *)(const void *)(in_store + OFF), N));
    CHECK_OK(dropout_layer_backward_f32(&layer, (float *)(void *)(out_store + OFF),
                                        (const float *)(const void *)(in_store + OFF), N));
    printf("test_unaligned: %zu entry points, %ld calls, buffers %d byte off alignment; "
           "kernels:%s\n", ENTRY_COUNT, calls, OFF, tested);
    return test_exit_code("test_unaligned");
}
