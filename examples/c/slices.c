/*
 * slices.c — a big tensor's dropout computed in chunks.  Each chunk passes
 * the index of its first element as `first`, so the chunks together give
 * exactly the mask and output of one call over the whole tensor (the same
 * holds for shards on different machines or threads).
 */
#include <dropout.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    const size_t n = 1000003, chunk = 65536; /* chunk: a multiple of 8 */
    float *x = malloc(n * sizeof *x), *y_whole = malloc(n * sizeof *x);
    float *y_chunks = malloc(n * sizeof *x);
    uint8_t *mask_whole = malloc(dropout_mask_bytes(n));
    uint8_t *mask_chunks = malloc(dropout_mask_bytes(n));
    if (!x || !y_whole || !y_chunks || !mask_whole || !mask_chunks) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(i % 100) * 0.01f;

    dropout_params params = {.p = 0.1, .seed = 42, .stream = 7, .first = 0,
                             .mode = DROPOUT_TRAIN};
    TRY(dropout_forward_f32(&params, y_whole, x, n, mask_whole, dropout_mask_bytes(n)));

    /* The same tensor, chunk by chunk.  With chunk % 8 == 0, chunk c's
     * packed mask starts at byte start / 8 of the whole mask. */
    for (size_t start = 0; start < n; start += chunk) {
        size_t count = n - start < chunk ? n - start : chunk;
        dropout_params part = params;
        part.first = start;
        TRY(dropout_forward_f32(&part, y_chunks + start, x + start, count,
                                mask_chunks + start / 8, dropout_mask_bytes(count)));
    }

    int same_y = memcmp(y_whole, y_chunks, n * sizeof *x) == 0;
    int same_mask = memcmp(mask_whole, mask_chunks, dropout_mask_bytes(n)) == 0;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        kept += (mask_whole[i / 8] >> (i % 8)) & 1;
    printf("%zu elements in chunks of %zu: outputs %s, masks %s; kept %zu (%.4f, 1 - p = 0.9)\n",
           n, chunk, same_y ? "identical" : "DIFFERENT", same_mask ? "identical" : "DIFFERENT",
           kept, (double)kept / (double)n);
    free(x), free(y_whole), free(y_chunks), free(mask_whole), free(mask_chunks);
    return same_y && same_mask ? 0 : 1;
}
