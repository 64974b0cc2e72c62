/*
 * fuzz_idx.c — libFuzzer target for the MNIST IDX loader.
 *
 * Property: for any bytes, idx_parse either fails with a message or returns
 * an array whose data lies inside the input, and idx_check_mnist then reads
 * only that data.  ASan catches any read outside the buffer.
 *
 * Byte 0 picks what the rest is: 0 images (3-D), 1 labels (1-D), 2 an
 * images/labels pair: bytes 1-2 give the images' length (big-endian).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "idx.h"

static void check_inside(const idx_array *a, const uint8_t *buf, size_t size)
{
    /* The parsed view must lie inside the buffer: touch its first and last
     * byte so that ASan sees any overrun of a heap copy. */
    if (a->data < buf || a->count * a->item_size > size ||
        (size_t)(a->data - buf) > size - a->count * a->item_size)
        abort();
    volatile uint8_t sink = 0;
    if (a->count * a->item_size > 0)
        sink ^= a->data[0] ^ a->data[a->count * a->item_size - 1];
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* An exact-size heap copy, so a one-byte overread is caught. */
    size_t n = size - 1;
    uint8_t *buf = malloc(n ? n : 1);
    if (buf == NULL)
        return 0;
    memcpy(buf, data + 1, n);
    char err[256];
    idx_array a, b;
    switch (data[0] % 3) {
    case 0:
        if (idx_parse(&a, buf, n, 3, err, sizeof err) == 0)
            check_inside(&a, buf, n);
        break;
    case 1:
        if (idx_parse(&a, buf, n, 1, err, sizeof err) == 0)
            check_inside(&a, buf, n);
        break;
    default: {
        if (n < 2)
            break;
        size_t m = n - 2, split = (size_t)buf[0] << 8 | buf[1];
        if (split > m)
            split = m;
        uint8_t *images = malloc(split ? split : 1);
        uint8_t *labels = malloc(m - split ? m - split : 1);
        if (images != NULL && labels != NULL) {
            memcpy(images, buf + 2, split);
            memcpy(labels, buf + 2 + split, m - split);
            if (idx_parse(&a, images, split, 3, err, sizeof err) == 0 &&
                idx_parse(&b, labels, m - split, 1, err, sizeof err) == 0) {
                check_inside(&a, images, split);
                check_inside(&b, labels, m - split);
                idx_check_mnist(&a, &b, err, sizeof err);
            }
        }
        free(images);
        free(labels);
    }
    }
    free(buf);
    return 0;
}
