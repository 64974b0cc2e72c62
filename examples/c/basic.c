/*
 * basic.c — dropout as a layer: forward in training mode, backward, then
 * evaluation mode.  Build against an installed dropout with
 *
 *     cc basic.c $(pkg-config --cflags --libs dropout) -o basic
 */
#include <dropout.h>
#include <stdio.h>

/* Every call returns a status; stop at the first error with its sentence. */
#define TRY(call)                                                              \
    do {                                                                       \
        int status_ = (call);                                                  \
        if (status_ != DROPOUT_OK) {                                           \
            fprintf(stderr, "%s: %s\n", #call, dropout_status_string(status_)); \
            return 1;                                                          \
        }                                                                      \
    } while (0)

int main(void)
{
    enum { N = 8 };
    float x[N] = {1, 2, 3, 4, 5, 6, 7, 8}, y[N];
    float dy[N] = {1, 1, 1, 1, 1, 1, 1, 1}, dx[N];

    dropout_layer layer;
    TRY(dropout_layer_init(&layer, 0.5, 1234)); /* p = 0.5, seed 1234 */

    /* Training: about half of y is 0, the rest is x * 2. */
    TRY(dropout_layer_forward_f32(&layer, y, x, N));
    /* Backward regenerates the same mask: dx = dy * 2 where y was kept. */
    TRY(dropout_layer_backward_f32(&layer, dx, dy, N));

    /* Evaluation: the identity. */
    float y_eval[N];
    TRY(dropout_layer_set_mode(&layer, DROPOUT_EVAL));
    TRY(dropout_layer_forward_f32(&layer, y_eval, x, N));

    printf("   x  train y  dx  eval y\n");
    for (int i = 0; i < N; i++)
        printf("%4g %8g %3g %7g\n", x[i], y[i], dx[i], y_eval[i]);
    return 0;
}
