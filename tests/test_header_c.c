/*
 * test_header_c.c — include/dropout.h compiled as strict C11 with
 * -Wall -Wextra -Wpedantic -Werror (CMake sets the flags whatever
 * DROPOUT_WERROR says), and a few calls through it.
 */
#include "dropout.h"
#include "dropout.h" /* the include guard works */

#include <stdio.h>
#include <string.h>

int main(void)
{
    float x[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, y[10];
    uint8_t mask[DROPOUT_MASK_BYTES(10)];
    dropout_params params = {0};
    params.p = 0.5;
    int status = dropout_forward_f32(&params, y, x, 10, mask, sizeof mask);
    dropout_layer layer;
    uint8_t state[DROPOUT_LAYER_STATE_BYTES];
    if (status == DROPOUT_OK)
        status = dropout_layer_init(&layer, 0.1, 7);
    if (status == DROPOUT_OK)
        status = dropout_layer_save(&layer, state);
    printf("C11: dropout %s (mask stream v%d), forward -> %s, mask bytes %zu\n",
           dropout_version_string(), DROPOUT_MASK_STREAM_VERSION, dropout_status_string(status),
           sizeof mask);
    return status == DROPOUT_OK && strcmp(dropout_version_string(), DROPOUT_VERSION_STRING) == 0
               ? 0 : 1;
}
