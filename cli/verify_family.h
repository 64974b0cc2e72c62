/*
 * verify_family.h — the dropout family's rows of `dropout verify`
 * (verify_family.c): one claim of docs/family.md each.
 */
#ifndef DROPOUT_CLI_VERIFY_FAMILY_H
#define DROPOUT_CLI_VERIFY_FAMILY_H

#include <stddef.h>

#include "verify.h"


typedef struct verify_family_check {
    const char *claim;
    double p;
    void (*run)(int quick, double p, verify_row *row);
} verify_family_check;

extern const verify_family_check verify_family_checks[];
extern const size_t verify_family_check_count;

#endif /* DROPOUT_CLI_VERIFY_FAMILY_H */
