/* idx.c — IDX parsing: validate every field before touching the data. */
#define _POSIX_C_SOURCE 200809L
#include "idx.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

FILE *idx_open_regular(const char *path, size_t *size, char *err, size_t err_size)
{
    /* O_NONBLOCK: opening a FIFO must not wait for a writer before fstat
     * has had the chance to refuse it. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, err_size, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, err_size, "cannot open %s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, err_size,
                 "%s is not a regular file (%s); the data must be plain files", path,
                 S_ISDIR(st.st_mode) ? "a directory"
                 : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                 : S_ISFIFO(st.st_mode) ? "a FIFO"
                 : "a socket or another special file");
        close(fd);
        return NULL;
    }
    if ((uintmax_t)st.st_size > SIZE_MAX) {
        snprintf(err, err_size, "%s is too large for this machine", path);
        close(fd);
        return NULL;
    }
    FILE *f = NULL;
    int flags = fcntl(fd, F_GETFL);
    if (flags == -1 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == -1 ||
        (f = fdopen(fd, "rb")) == NULL) {
        snprintf(err, err_size, "cannot open %s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    *size = (size_t)st.st_size;
    return f;
}

int idx_read_file(const char *path, uint8_t **buf, size_t *size, char *err,
                  size_t err_size)
{
    *buf = NULL;
    *size = 0;
    size_t expected = 0;
    FILE *f = idx_open_regular(path, &expected, err, err_size);
    if (f == NULL)
        return -1;
    /* At most the size the file had when opened: a file that grows while it
     * is read cannot make this read without end. */
    uint8_t *data = malloc(expected ? expected : 1);
    if (data == NULL) {
        fclose(f);
        snprintf(err, err_size, "cannot read %s: out of memory (%zu bytes)", path, expected);
        return -1;
    }
    size_t n = fread(data, 1, expected, f);
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(data);
        snprintf(err, err_size, "cannot read %s", path);
        return -1;
    }
    *buf = data;
    *size = n; /* fewer if it shrank: idx_parse reports the truncation */
    return 0;
}
