/*
 * consumer.c — a user program built against an installed dropout (through
 * the CMake package or pkg-config): reproduces the first SPEC.md section 4
 * vector and runs a layer forward.  Exit status 0 only if both are right.
 */
#include <dropout.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    dropout_params params = {.p = 0.5, .seed = 0, .stream = 0, .first = 0};
    uint8_t mask[8];
    char hex[17];
    int status = dropout_mask(&params, 64, mask, sizeof mask);
    for (int k = 0; k < 8; k++)
        sprintf(hex + 2 * k, "%02x", mask[k]);
    dropout_layer layer;
    float x[4] = {1, 2, 3, 4}, y[4];
    if (status == DROPOUT_OK)
        status = dropout_layer_init(&layer, 0.5, 1);
    if (status == DROPOUT_OK)
        status = dropout_layer_forward_f32(&layer, y, x, 4);
    printf("consumer: dropout %s, mask %s (expected 4c45a0d2a9aee1f3), status %s\n",
           dropout_version_string(), hex, dropout_status_string(status));
    return status == DROPOUT_OK && strcmp(hex, "4c45a0d2a9aee1f3") == 0 ? 0 : 1;
}
