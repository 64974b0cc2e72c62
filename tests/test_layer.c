/*
 * test_layer.c — the module object (dropout_layer), the nn.Dropout of C:
 *
 *   - a training forward uses stream next_stream and advances it by one; an
 *     evaluation forward is the identity and does not advance it;
 *   - backward regenerates the mask of the matching (most recent) forward;
 *     after an evaluation forward it is the identity;
 *   - save -> continue -> load -> continue gives the very same masks again;
 *     the struct is plain data (a copy behaves the same);
 *   - load rejects corrupt magic, version, p, modes and reserved bytes and
 *     leaves the layer untouched; init/set_mode/set_p/forward errors too.
 */
#include "test_util.h"

enum { N = 517 };

static float x[N], dy[N];

static int same_layer(const dropout_layer *a, const dropout_layer *b)
{
    return bits_f64(a->p) == bits_f64(b->p) && a->mode == b->mode && a->seed == b->seed &&
           a->next_stream == b->next_stream && a->last_stream == b->last_stream &&
           a->last_mode == b->last_mode;
}

/* What a training forward on `stream` must give, from the explicit API. */
static void expected_forward(double p, uint64_t seed, uint64_t stream, float *y)
{
    dropout_params params = {.p = p, .seed = seed, .stream = stream};
    CHECK_OK(dropout_forward_f32(&params, y, x, N, NULL, 0));
}

static void test_streams(void)
{
    dropout_layer layer;
    float y[N], want[N], dx[N];
    CHECK_OK(dropout_layer_init(&layer, 0.25, 1234));
    CHECK(layer.mode == DROPOUT_TRAIN && layer.next_stream == 0 && layer.seed == 1234 &&
              layer.p == 0.25 && layer.last_mode == DROPOUT_EVAL,
          "init: mode %d next_stream %" PRIu64, layer.mode, layer.next_stream);
    /* Backward before any forward: identity (last_mode is EVAL). */
    CHECK_OK(dropout_layer_backward_f32(&layer, dx, dy, N));
    CHECK(memcmp(dx, dy, sizeof dx) == 0, "backward before any forward is not the identity");

    for (uint64_t k = 0; k < 5; k++) {
        CHECK(layer.next_stream == k, "next_stream %" PRIu64 " before forward %" PRIu64,
              layer.next_stream, k);
        CHECK_OK(dropout_layer_forward_f32(&layer, y, x, N));
        expected_forward(0.25, 1234, k, want);
        CHECK(memcmp(y, want, sizeof y) == 0, "training forward %" PRIu64 " did not use stream %"
              PRIu64, k, k);
        CHECK(layer.next_stream == k + 1 && layer.last_stream == k,
              "after forward %" PRIu64 ": next_stream %" PRIu64 " last_stream %" PRIu64, k,
              layer.next_stream, layer.last_stream);
        /* Backward uses the stream of this forward. */
        dropout_params params = {.p = 0.25, .seed = 1234, .stream = k};
        float dx_want[N];
        CHECK_OK(dropout_backward_regen_f32(&params, dx_want, dy, N));
        CHECK_OK(dropout_layer_backward_f32(&layer, dx, dy, N));
        CHECK(memcmp(dx, dx_want, sizeof dx) == 0, "backward %" PRIu64 " used another stream", k);
        /* The same mask: dx is zero exactly where y is (x has no zeros). */
        for (size_t i = 0; i < N; i++)
            CHECK((y[i] == 0.0f) == (dx[i] == 0.0f || dy[i] == 0.0f),
                  "forward/backward masks differ at %zu", i);
    }
    printf("  5 training forwards used streams 0..4; each backward its forward's stream\n");

    /* Evaluation forwards: identity, stream not advanced; backward identity. */
    CHECK_OK(dropout_layer_set_mode(&layer, DROPOUT_EVAL));
    for (int k = 0; k < 3; k++) {
        CHECK_OK(dropout_layer_forward_f32(&layer, y, x, N));
        CHECK(memcmp(y, x, sizeof y) == 0, "eval forward is not the identity");
        CHECK(layer.next_stream == 5, "eval forward advanced the stream to %" PRIu64,
              layer.next_stream);
        CHECK_OK(dropout_layer_backward_f32(&layer, dx, dy, N));
        CHECK(memcmp(dx, dy, sizeof dx) == 0, "backward after eval forward is not the identity");
    }
    /* Back to training: stream 5. */
    CHECK_OK(dropout_layer_set_mode(&layer, DROPOUT_TRAIN));
    CHECK_OK(dropout_layer_forward_f32(&layer, y, x, N));
    expected_forward(0.25, 1234, 5, want);
    CHECK(memcmp(y, want, sizeof y) == 0, "training forward after eval did not use stream 5");

    /* f64 takes streams from the same counter. */
    double x64[N], y64[N], dx64[N], dy64[N], want64[N];
    for (size_t i = 0; i < N; i++)
        x64[i] = x[i], dy64[i] = dy[i];
    CHECK_OK(dropout_layer_forward_f64(&layer, y64, x64, N));
    dropout_params p64 = {.p = 0.25, .seed = 1234, .stream = 6};
    CHECK_OK(dropout_forward_f64(&p64, want64, x64, N, NULL, 0));
    CHECK(memcmp(y64, want64, sizeof y64) == 0 && layer.next_stream == 7,
          "f64 forward did not use stream 6");
    CHECK_OK(dropout_layer_backward_f64(&layer, dx64, dy64, N));
    CHECK_OK(dropout_backward_regen_f64(&p64, want64, dy64, N));
    CHECK(memcmp(dx64, want64, sizeof dx64) == 0, "f64 backward used another stream");
    printf("  eval forwards kept next_stream; f32 and f64 share the counter\n");
}

static void test_save_load(void)
{
    dropout_layer layer, copy;
    uint8_t state[DROPOUT_LAYER_STATE_BYTES];
    float before[3][N], after[3][N], dx_before[N], dx_after[N];
    CHECK_OK(dropout_layer_init(&layer, 0.4, 0xfeedfacecafebeefull));
    for (int k = 0; k < 4; k++) /* some history */
        CHECK_OK(dropout_layer_forward_f32(&layer, before[0], x, N));
    CHECK_OK(dropout_layer_save(&layer, state));
    CHECK(memcmp(state, "DRPL", 4) == 0, "state does not start with the magic DRPL");
    copy = layer;
    for (int k = 0; k < 3; k++)
        CHECK_OK(dropout_layer_forward_f32(&layer, before[k], x, N));
    CHECK_OK(dropout_layer_backward_f32(&layer, dx_before, dy, N));

    /* A fresh layer with other settings, loaded from the state. */
    dropout_layer restored;
    CHECK_OK(dropout_layer_init(&restored, 0.9, 1));
    CHECK_OK(dropout_layer_load(&restored, state));
    CHECK(same_layer(&restored, &copy), "load did not restore the saved fields");
    for (int k = 0; k < 3; k++)
        CHECK_OK(dropout_layer_forward_f32(&restored, after[k], x, N));
    CHECK_OK(dropout_layer_backward_f32(&restored, dx_after, dy, N));
    CHECK(memcmp(before, after, sizeof before) == 0, "masks after load differ from before");
    CHECK(memcmp(dx_before, dx_after, sizeof dx_before) == 0, "backward after load differs");
    CHECK(same_layer(&restored, &layer), "restored layer ended in another state");

    /* The struct is plain data: a copy continues identically. */
    for (int k = 0; k < 3; k++)
        CHECK_OK(dropout_layer_forward_f32(&copy, after[k], x, N));
    CHECK(memcmp(before, after, sizeof before) == 0, "a struct copy gives other masks");

    /* Save -> load round-trips byte for byte, in eval mode too. */
    uint8_t again[DROPOUT_LAYER_STATE_BYTES];
    CHECK_OK(dropout_layer_set_mode(&restored, DROPOUT_EVAL));
    CHECK_OK(dropout_layer_save(&restored, state));
    CHECK_OK(dropout_layer_load(&copy, state));
    CHECK_OK(dropout_layer_save(&copy, again));
    CHECK(memcmp(state, again, sizeof state) == 0 && same_layer(&copy, &restored),
          "save/load/save is not the identity");
    printf("  save -> 3 forwards + backward -> load -> the same 3 masks and backward again\n");
}

/* Every corruption is rejected with DROPOUT_ERROR_BAD_STATE and leaves the
 * layer as it was. */
static void test_load_rejects(void)
{
    dropout_layer layer, target, before;
    uint8_t good[DROPOUT_LAYER_STATE_BYTES], bad[DROPOUT_LAYER_STATE_BYTES];
    CHECK_OK(dropout_layer_init(&layer, 0.3, 77));
    CHECK_OK(dropout_layer_forward_f32(&layer, dy, x, 0));
    CHECK_OK(dropout_layer_save(&layer, good));
    CHECK_OK(dropout_layer_init(&target, 0.6, 5));
    target.next_stream = 42;
    before = target;

    struct { const char *what; size_t offset; uint8_t value; } corruptions[] = {
        {"magic", 0, 'X'},        {"magic", 3, 'M'},        {"version", 4, 2},
        {"version", 4, 0},        {"version hi", 5, 1},     {"version hi", 7, 0x80},
        {"mode", 40, 2},          {"mode", 40, 0xFF},       {"last_mode", 41, 7},
        {"reserved", 42, 1},      {"reserved", 47, 0x80},
    };
    int rejected = 0, count = (int)(sizeof corruptions / sizeof corruptions[0]);
    for (int k = 0; k < count; k++) {
        memcpy(bad, good, sizeof bad);
        bad[corruptions[k].offset] = corruptions[k].value;
        int status = dropout_layer_load(&target, bad);
        CHECK(status == DROPOUT_ERROR_BAD_STATE, "corrupt %s (byte %zu = %#x) gave status %d",
              corruptions[k].what, corruptions[k].offset, corruptions[k].value, status);
        CHECK(same_layer(&target, &before), "corrupt %s changed the layer", corruptions[k].what);
        rejected += status == DROPOUT_ERROR_BAD_STATE;
    }
    /* p (bytes 8..15, IEEE bits little-endian): NaN, -0.1, 1.5, +Inf. */
    const double bad_p[] = {NAN, -0.1, 1.5, INFINITY, 1.0000001};
    for (int k = 0; k < 5; k++) {
        memcpy(bad, good, sizeof bad);
        uint64_t b = bits_f64(bad_p[k]);
        for (int i = 0; i < 8; i++)
            bad[8 + i] = (uint8_t)(b >> (8 * i));
        int status = dropout_layer_load(&target, bad);
        CHECK(status == DROPOUT_ERROR_BAD_STATE, "state with p = %g gave status %d", bad_p[k],
              status);
        CHECK(same_layer(&target, &before), "state with p = %g changed the layer", bad_p[k]);
        rejected += status == DROPOUT_ERROR_BAD_STATE;
        count++;
    }
    CHECK_STATUS(dropout_layer_load(NULL, good), DROPOUT_ERROR_NULL_POINTER);
    CHECK_STATUS(dropout_layer_load(&target, NULL), DROPOUT_ERROR_NULL_POINTER);
    CHECK(same_layer(&target, &before), "load(NULL) changed the layer");
    CHECK_STATUS(dropout_layer_save(NULL, bad), DROPOUT_ERROR_NULL_POINTER);
    CHECK_STATUS(dropout_layer_save(&layer, NULL), DROPOUT_ERROR_NULL_POINTER);
    /* The good state still loads. */
    CHECK_OK(dropout_layer_load(&target, good));
    CHECK(same_layer(&target, &layer), "good state did not load");
    printf("  load rejected %d of %d corrupt states, layer untouched each time\n", rejected, count);
}

static void test_setter_errors(void)
{
    dropout_layer layer, before;
    float y[N];
    CHECK_OK(dropout_layer_init(&layer, 0.5, 9));
    before = layer;
    const double bad_p[] = {NAN, -0.1, 1.0000001, -INFINITY, INFINITY};
    for (int k = 0; k < 5; k++) {
        dropout_layer fresh = before;
        CHECK_STATUS(dropout_layer_init(&fresh, bad_p[k], 1), DROPOUT_ERROR_INVALID_P);
        CHECK(same_layer(&fresh, &before), "failed init changed the layer");
        CHECK_STATUS(dropout_layer_set_p(&layer, bad_p[k]), DROPOUT_ERROR_INVALID_P);
    }
    CHECK_STATUS(dropout_layer_set_mode(&layer, 2), DROPOUT_ERROR_INVALID_MODE);
    CHECK_STATUS(dropout_layer_set_mode(&layer, -1), DROPOUT_ERROR_INVALID_MODE);
    CHECK_STATUS(dropout_layer_set_mode(NULL, DROPOUT_EVAL), DROPOUT_ERROR_NULL_POINTER);
    CHECK_STATUS(dropout_layer_set_p(NULL, 0.5), DROPOUT_ERROR_NULL_POINTER);
    CHECK_STATUS(dropout_layer_init(NULL, 0.5, 1), DROPOUT_ERROR_NULL_POINTER);
    CHECK(same_layer(&layer, &before), "failed setters changed the layer");
    /* A failed forward does not advance the stream. */
    CHECK_STATUS(dropout_layer_forward_f32(&layer, NULL, x, N), DROPOUT_ERROR_NULL_POINTER);
    CHECK_STATUS(dropout_layer_forward_f32(&layer, x + 1, x, N), DROPOUT_ERROR_OVERLAP);
    CHECK_STATUS(dropout_layer_forward_f32(NULL, y, x, N), DROPOUT_ERROR_NULL_POINTER);
    CHECK(same_layer(&layer, &before), "a failed forward changed the layer");
    /* A layer whose fields were set to nonsense by hand is refused. */
    dropout_layer broken = before;
    broken.p = 2.0;
    CHECK_STATUS(dropout_layer_forward_f32(&broken, y, x, N), DROPOUT_ERROR_INVALID_P);
    broken = before;
    broken.mode = 3;
    CHECK_STATUS(dropout_layer_forward_f32(&broken, y, x, N), DROPOUT_ERROR_INVALID_MODE);
    /* Valid setters work. */
    CHECK_OK(dropout_layer_set_p(&layer, 1.0));
    CHECK_OK(dropout_layer_forward_f32(&layer, y, x, N));
    CHECK(y[0] == 0.0f && y[N - 1] == 0.0f && layer.next_stream == 1, "p = 1 layer forward");
    printf("  init/set_p/set_mode/forward errors leave the layer untouched\n");
}

int main(void)
{
    test_rng rng = {0x1a7e4};
    for (size_t i = 0; i < N; i++) {
        x[i] = (float)(test_rng_unit(&rng) + 0.5);       /* no zeros */
        dy[i] = (float)(test_rng_unit(&rng) * 2.0 - 1.0);
    }
    test_streams();
    test_save_load();
    test_load_rejects();
    test_setter_errors();
    return test_exit_code("test_layer");
}
