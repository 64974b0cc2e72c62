/*
 * verify.h — what the rows of `dropout verify` share (verify.c, and the
 * dropout family's rows in verify_family.c): one table row and the row of an
 * exact (bit-for-bit) comparison.
 */
#ifndef DROPOUT_CLI_VERIFY_H
#define DROPOUT_CLI_VERIFY_H

#include <stddef.h>

typedef struct verify_row {
    char expected[48];
    char observed[48];
    char bound[48];
    int pass;
} verify_row;

/* Fills a row for a bitwise comparison: `differ` of `total` elements
 * differed, after a library call that returned `status`. */
void verify_exact_row(verify_row *row, size_t differ, size_t total, int status);

#endif /* DROPOUT_CLI_VERIFY_H */
