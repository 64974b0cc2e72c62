/*
 * idx.h — the IDX file format of the MNIST distribution, read defensively.
 *
 * An IDX file is: 2 zero bytes, a type byte (0x08 = unsigned byte), a byte
 * with the number of dimensions, then that many big-endian uint32 sizes, then
 * the data.  MNIST images are 3-D (count, rows, cols), labels 1-D (count).
 * The parser trusts nothing: every size is checked against the bytes present
 * before anything is read, and an error comes back as a sentence.
 */
#ifndef MNIST_IDX_H
#define MNIST_IDX_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct idx_array {
    size_t ndim;
    size_t dims[3];
    size_t count;          /* dims[0] */
    size_t item_size;      /* product of dims[1..]; 1 for labels */
    const uint8_t *data;   /* count * item_size bytes inside the buffer */
} idx_array;

/* Parses `size` bytes at `buf` as an unsigned-byte IDX array with `ndim`
 * dimensions (3 for images, 1 for labels).  Returns 0, or -1 with a sentence
 * in err.  The result points into buf. */
int idx_parse(idx_array *out, const uint8_t *buf, size_t size, size_t ndim,
              char *err, size_t err_size);

/* The MNIST pairing: images must be count x 28 x 28, labels count with
 * values 0..9, and both counts equal. */
int idx_check_mnist(const idx_array *images, const idx_array *labels,
                    char *err, size_t err_size);

/* Opens `path` for reading only if it is a regular file (not a device such
 * as /dev/zero, a FIFO or a directory, which could be read without end), and
 * gives its size.  Returns the stream, or NULL with a sentence in err. */
FILE *idx_open_regular(const char *path, size_t *size, char *err, size_t err_size);

/* Reads a whole regular file (idx_open_regular) into a malloc'd buffer, at
 * most the size it had when opened.  Returns 0, or -1 with err. */
int idx_read_file(const char *path, uint8_t **buf, size_t *size,
                  char *err, size_t err_size);

#endif
