/*
 * test_overlap.c — every pair of buffers of a call that may not overlap is
 * checked: DROPOUT_ERROR_OVERLAP, and not a byte written.
 *
 * All buffers of a call lie in one arena, apart, with gaps.  For every entry
 * point and every buffer the call must keep apart from another (the mask from
 * each data buffer it is written or read against, and the data buffers from
 * each other), the first is moved onto the second: at its start, in its
 * middle, over its last byte, and ending in its first byte.  The call must
 * return DROPOUT_ERROR_OVERLAP and leave the whole arena as it was.  Controls:
 * the same buffer placed just before or just after the other (touching, not
 * overlapping) is accepted, and so are the overlaps the API allows (in place
 * y == x, y == residual, dx == dy, dresidual == dy, a mask inside dy, which
 * is only read).
 */
#include "test_util.h"

#define N 1024 /* elements */
#define D 64   /* row length of the fused op */
#define MASK ((N + 7) / 8)
#define SLOT 16384 /* room per buffer (n * 8 bytes plus a gap) */

/* The buffers a call may take. */
enum role { X, Y, RESIDUAL, BIAS, DBIAS, DRESIDUAL, MASK_BUF, ROLE_COUNT };
static const char *const role_name[ROLE_COUNT] = {"x/dy", "y/dx", "residual", "bias",
                                                  "dbias", "dresidual", "mask"};

static _Alignas(64) uint8_t arena[SLOT * (ROLE_COUNT + 1)];
static uint8_t before[sizeof arena];

typedef struct layout {
    size_t at[ROLE_COUNT]; /* byte offsets into the arena */
} layout;

static layout apart(void)
{
    layout l;
    for (int r = 0; r < ROLE_COUNT; r++)
        l.at[r] = SLOT / 2 + (size_t)r * SLOT;
    return l;
}

#define PTR(l, r) ((void *)(arena + (l)->at[r]))

static const dropout_params train = {.p = 0.3, .seed = 11, .stream = 2, .first = 0,
                                     .mode = DROPOUT_TRAIN};

/* ---- the entry points --------------------------------------------------------- */

typedef struct entry {
    const char *name;
    size_t elem; /* element size of the data buffers */
    int (*call)(const layout *l);
    /* pairs that must be apart: {a, b} */
    int pairs[8][2];
    int pair_count;
} entry;

static int forward_f32(const layout *l)
{
    return dropout_forward_f32(&train, PTR(l, Y), PTR(l, X), N, PTR(l, MASK_BUF), MASK);
}
static int forward_f64(const layout *l)
{
    return dropout_forward_f64(&train, PTR(l, Y), PTR(l, X), N, PTR(l, MASK_BUF), MASK);
}
static int backward_mask_f32(const layout *l)
{
    return dropout_backward_mask_f32(&train, PTR(l, Y), PTR(l, X), N, PTR(l, MASK_BUF), MASK);
}
static int backward_mask_f64(const layout *l)
{
    return dropout_backward_mask_f64(&train, PTR(l, Y), PTR(l, X), N, PTR(l, MASK_BUF), MASK);
}
static int backward_regen_f32(const layout *l)
{
    return dropout_backward_regen_f32(&train, PTR(l, Y), PTR(l, X), N);
}
static int forward_bf16(const layout *l)
{
    return dropout_forward_bf16(&train, PTR(l, Y), PTR(l, X), N, PTR(l, MASK_BUF), MASK);
}
static int forward_f16(const layout *l)
{
    return dropout_forward_f16(&train, PTR(l, Y), PTR(l, X), N, PTR(l, MASK_BUF), MASK);
}
static int backward_mask_bf16(const layout *l)
{
    return dropout_backward_mask_bf16(&train, PTR(l, Y), PTR(l, X), N, PTR(l, MASK_BUF), MASK);
}
static int backward_mask_f16(const layout *l)
{
    return dropout_backward_mask_f16(&train, PTR(l, Y), PTR(l, X), N, PTR(l, MASK_BUF), MASK);
}
/* Alpha dropout with the mask broadcast along the last dimension: the mask
 * has N / 8 elements, so its check must use the mask's own size. */
static int shaped_alpha_forward(const layout *l)
{
    dropout_shape shape = {2, {N / 8, 8}, DROPOUT_BROADCAST_DIM(1)};
    return dropout_shaped_forward(&train, DROPOUT_VARIANT_ALPHA, DROPOUT_DTYPE_F32, &shape,
                                  PTR(l, Y), PTR(l, X), PTR(l, MASK_BUF), MASK);
}
static int shaped_alpha_backward_mask(const layout *l)
{
    dropout_shape shape = {1, {N}, 0};
    return dropout_shaped_backward_mask(&train, DROPOUT_VARIANT_ALPHA, DROPOUT_DTYPE_F64, &shape,
                                        PTR(l, Y), PTR(l, X), PTR(l, MASK_BUF), MASK);
}
static int residual_forward_f32(const layout *l)
{
    return dropout_bias_residual_forward(&train, DROPOUT_DTYPE_F32, PTR(l, Y), PTR(l, X),
                                         PTR(l, BIAS), PTR(l, RESIDUAL), N, D, PTR(l, MASK_BUF),
                                         MASK);
}
static int residual_backward_mask_f64(const layout *l)
{
    return dropout_bias_residual_backward_mask(&train, DROPOUT_DTYPE_F64, PTR(l, Y), PTR(l, DBIAS),
                                               PTR(l, DRESIDUAL), PTR(l, X), N, D,
                                               PTR(l, MASK_BUF), MASK);
}
static int residual_backward_regen_f32(const layout *l)
{
    return dropout_bias_residual_backward_regen(&train, DROPOUT_DTYPE_F32, PTR(l, Y),
                                                PTR(l, DBIAS), PTR(l, DRESIDUAL), PTR(l, X), N, D);
}

#define FORWARD_PAIRS {{MASK_BUF, X}, {MASK_BUF, Y}, {X, Y}}, 3
#define BACKWARD_MASK_PAIRS {{MASK_BUF, Y}, {X, Y}}, 2

static const entry entries[] = {
    {"dropout_forward_f32", 4, forward_f32, FORWARD_PAIRS},
    {"dropout_forward_f64", 8, forward_f64, FORWARD_PAIRS},
    {"dropout_backward_mask_f32", 4, backward_mask_f32, BACKWARD_MASK_PAIRS},
    {"dropout_backward_mask_f64", 8, backward_mask_f64, BACKWARD_MASK_PAIRS},
    {"dropout_backward_regen_f32", 4, backward_regen_f32, {{X, Y}}, 1},
    {"dropout_forward_bf16", 2, forward_bf16, FORWARD_PAIRS},
    {"dropout_forward_f16", 2, forward_f16, FORWARD_PAIRS},
    {"dropout_backward_mask_bf16", 2, backward_mask_bf16, BACKWARD_MASK_PAIRS},
    {"dropout_backward_mask_f16", 2, backward_mask_f16, BACKWARD_MASK_PAIRS},
    {"dropout_shaped_forward (alpha, broadcast mask)", 4, shaped_alpha_forward, FORWARD_PAIRS},
    {"dropout_shaped_backward_mask (alpha f64)", 8, shaped_alpha_backward_mask,
     BACKWARD_MASK_PAIRS},
    {"dropout_bias_residual_forward f32", 4, residual_forward_f32,
     {{MASK_BUF, X}, {MASK_BUF, Y}, {MASK_BUF, RESIDUAL}, {MASK_BUF, BIAS}, {X, Y},
      {RESIDUAL, Y}, {BIAS, Y}},
     7},
    {"dropout_bias_residual_backward_mask f64", 8, residual_backward_mask_f64,
     {{MASK_BUF, Y}, {MASK_BUF, DBIAS}, {MASK_BUF, DRESIDUAL}, {X, Y}, {DBIAS, Y}, {DBIAS, X},
      {DRESIDUAL, Y}, {DBIAS, DRESIDUAL}},
     8},
    {"dropout_bias_residual_backward_regen f32", 4, residual_backward_regen_f32,
     {{X, Y}, {DBIAS, Y}, {DBIAS, X}, {DRESIDUAL, Y}, {DBIAS, DRESIDUAL}, {DRESIDUAL, X}},
     6},
};
#define ENTRY_COUNT (sizeof entries / sizeof entries[0])

/* The pairs the API lets be the very same buffer: y == x (dx == dy),
 * y == residual, dresidual == dy. */
static int same_buffer_allowed(int a, int b)
{
    return (a == X && b == Y) || (a == Y && b == X) || (a == RESIDUAL && b == Y) ||
           (a == Y && b == RESIDUAL) || (a == DRESIDUAL && b == X);
}

/* Bytes of buffer r in a call of entry e. */
static size_t role_bytes(const entry *e, int r)
{
    if (r == MASK_BUF)
        return e->call == shaped_alpha_forward ? (N / 8 + 7) / 8 : MASK;
    if (r == BIAS || r == DBIAS)
        return D * e->elem;
    return N * e->elem;
}

/* Fills the arena with finite values of every element size (small positive
 * bytes: 0x01 ... 0x3F give finite f32, f64, bf16 and f16 patterns). */
static void fill_arena(void)
{
    test_rng rng = {99};
    for (size_t k = 0; k < sizeof arena; k++)
        arena[k] = (uint8_t)(1 + test_rng_below(&rng, 0x3F));
}

/* Calls e with `moved` placed at byte `offset` of the arena; returns the
 * status and counts the arena bytes that changed. */
static int call_at(const entry *e, int moved, size_t offset, size_t *changed)
{
    layout l = apart();
    l.at[moved] = offset;
    fill_arena();
    memcpy(before, arena, sizeof arena);
    int status = e->call(&l);
    *changed = 0;
    for (size_t k = 0; k < sizeof arena; k++)
        *changed += arena[k] != before[k];
    return status;
}

/* The two overlaps the API allows in place, checked to give the same values
 * as apart (y == x, and a mask read from inside dy). */
static void allowed_overlaps(void)
{
    float *x = test_malloc(N * sizeof *x), *y = test_malloc(N * sizeof *y);
    float *copy = test_malloc(N * sizeof *copy);
    uint8_t mask[MASK];
    test_rng rng = {5};
    for (size_t k = 0; k < N; k++)
        x[k] = (float)test_rng_unit(&rng);
    memcpy(copy, x, N * sizeof *x);
    CHECK_OK(dropout_forward_f32(&train, y, x, N, mask, MASK));
    CHECK_OK(dropout_forward_f32(&train, copy, copy, N, NULL, 0)); /* y == x */
    CHECK(memcmp(copy, y, N * sizeof *y) == 0, "in-place forward differs");

    /* backward with the mask stored inside dy (both only read) */
    float *dy = test_malloc((N + MASK) * sizeof *dy);
    for (size_t k = 0; k < N; k++)
        dy[k] = (float)test_rng_unit(&rng);
    memcpy(dy + N / 2, mask, MASK); /* now dy's middle holds the mask bytes */
    CHECK_OK(dropout_backward_mask_f32(&train, y, dy, N, (const uint8_t *)(dy + N / 2), MASK));
    float *dx = test_malloc(N * sizeof *dx);
    uint8_t mask_copy[MASK];
    memcpy(mask_copy, dy + N / 2, MASK);
    CHECK_OK(dropout_backward_mask_f32(&train, dx, dy, N, mask_copy, MASK));
    CHECK(memcmp(dx, y, N * sizeof *dx) == 0, "backward with the mask inside dy differs");
    free(x), free(y), free(copy), free(dy), free(dx);
}

int main(void)
{
    long rejected = 0, accepted = 0;
    for (size_t i = 0; i < ENTRY_COUNT; i++) {
        const entry *e = &entries[i];
        size_t changed;
        layout base = apart();
        int status = call_at(e, X, base.at[X], &changed);
        CHECK(status == DROPOUT_OK, "%s with every buffer apart: %s", e->name,
              dropout_status_string(status));
        for (int p = 0; p < e->pair_count; p++) {
            const int moved = e->pairs[p][0], onto = e->pairs[p][1];
            const size_t a = role_bytes(e, moved), b = role_bytes(e, onto);
            const size_t at = base.at[onto];
            /* overlapping: at b's start, in its middle, over its last byte,
             * ending in its first byte */
            /* data buffers stay element-aligned: one element of overlap */
            const size_t unit = moved == MASK_BUF ? 1 : e->elem;
            const size_t overlapping[] = {at, at + b / 2 / unit * unit, at + b - unit,
                                          at + unit - a};
            for (size_t k = 0; k < sizeof overlapping / sizeof overlapping[0]; k++) {
                const size_t offset = overlapping[k];
                if (offset == at && same_buffer_allowed(moved, onto))
                    continue; /* in place: allowed (allowed_overlaps) */
                status = call_at(e, moved, offset, &changed);
                CHECK(status == DROPOUT_ERROR_OVERLAP && changed == 0,
                      "%s: %s at byte %zd of %s (%zu bytes): %s, %zu arena bytes written",
                      e->name, role_name[moved], (ptrdiff_t)(offset - at), role_name[onto], b,
                      dropout_status_string(status), changed);
                rejected++;
            }
            /* touching, not overlapping: accepted */
            const size_t touching[] = {at - a, at + b};
            for (size_t k = 0; k < 2; k++) {
                status = call_at(e, moved, touching[k], &changed);
                CHECK(status == DROPOUT_OK, "%s: %s just %s %s: %s", e->name, role_name[moved],
                      k ? "after" : "before", role_name[onto], dropout_status_string(status));
                accepted++;
            }
        }
    }
    allowed_overlaps();
    printf("test_overlap: %zu entry points, %ld overlapping placements rejected, %ld touching "
           "ones accepted\n", ENTRY_COUNT, rejected, accepted);
    return test_exit_code("test_overlap");
}
