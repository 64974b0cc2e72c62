/* idx.c — IDX parsing: validate every field before touching the data. */
#include "idx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t read_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

int idx_parse(idx_array *out, const uint8_t *buf, size_t size, size_t ndim,
              char *err, size_t err_size)
{
    if (ndim < 1 || ndim > 3) {
        snprintf(err, err_size, "internal: unsupported IDX rank %zu", ndim);
        return -1;
    }
    if (buf == NULL || size < 4) {
        snprintf(err, err_size, "truncated IDX header (%zu bytes)", size);
        return -1;
    }
    if (buf[0] != 0 || buf[1] != 0) {
        snprintf(err, err_size, "bad IDX magic: first two bytes must be zero");
        return -1;
    }
    if (buf[2] != 0x08) {
        snprintf(err, err_size,
                 "unsupported IDX element type 0x%02x (want 0x08, unsigned byte)",
                 buf[2]);
        return -1;
    }
    if (buf[3] != ndim) {
        snprintf(err, err_size, "IDX file has %u dimensions, expected %zu",
                 buf[3], ndim);
        return -1;
    }
    size_t header = 4 + 4 * ndim;
    if (size < header) {
        snprintf(err, err_size, "truncated IDX header (%zu of %zu bytes)", size,
                 header);
        return -1;
    }
    /* Every dimension is < 2^32 and there are at most 3, but their product
     * can exceed 2^64 on paper: multiply with an overflow check. */
    size_t total = 1;
    for (size_t d = 0; d < ndim; d++) {
        size_t dim = read_be32(buf + 4 + 4 * d);
        out->dims[d] = dim;
        if (dim != 0 && total > SIZE_MAX / dim) {
            snprintf(err, err_size, "IDX dimensions overflow");
            return -1;
        }
        total *= dim;
    }
    if (size - header != total) {
        snprintf(err, err_size,
                 "IDX size mismatch: header promises %zu data bytes, file has %zu%s",
                 total, size - header,
                 size - header < total ? " (truncated)" : " (trailing bytes)");
        return -1;
    }
    out->ndim = ndim;
    out->count = out->dims[0];
    out->item_size = 1;
    for (size_t d = 1; d < ndim; d++)
        out->item_size *= out->dims[d];
    out->data = buf + header;
    return 0;
}

int idx_check_mnist(const idx_array *images, const idx_array *labels,
                    char *err, size_t err_size)
{
    if (images->ndim != 3 || images->dims[1] != 28 || images->dims[2] != 28) {
        snprintf(err, err_size, "images are not 28x28");
        return -1;
    }
    if (labels->ndim != 1) {
        snprintf(err, err_size, "labels are not a 1-D array");
        return -1;
    }
    if (images->count != labels->count) {
        snprintf(err, err_size, "%zu images but %zu labels", images->count,
                 labels->count);
        return -1;
    }
    if (images->count == 0) {
        snprintf(err, err_size, "the data set is empty");
        return -1;
    }
    for (size_t i = 0; i < labels->count; i++) {
        if (labels->data[i] > 9) {
            snprintf(err, err_size, "label %zu is %u, not a digit 0-9", i,
                     labels->data[i]);
            return -1;
        }
    }
    return 0;
}

int idx_read_file(const char *path, uint8_t **buf, size_t *size, char *err,
                  size_t err_size)
{
    *buf = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, err_size, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *data = malloc(cap);
    while (data != NULL) {
        if (n == cap) {
            uint8_t *grown = realloc(data, cap * 2);
            if (grown == NULL) {
                free(data);
                data = NULL;
                break;
            }
            data = grown;
            cap *= 2;
        }
        size_t got = fread(data + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int failed = data == NULL || ferror(f);
    fclose(f);
    if (failed) {
        free(data);
        snprintf(err, err_size, "cannot read %s", path);
        return -1;
    }
    *buf = data;
    *size = n;
    return 0;
}
