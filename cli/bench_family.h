/*
 * bench_family.h — `dropout bench --family` (bench_family.c).
 */
#ifndef DROPOUT_CLI_BENCH_FAMILY_H
#define DROPOUT_CLI_BENCH_FAMILY_H

#include <stddef.h>

/* n f32 elements (a multiple of 2^18 keeps every layout exact), best of
 * `repeats`; threads 0 keeps the library's setting.  Returns the exit status. */
int cli_bench_family(size_t n, unsigned repeats, unsigned threads);

#endif /* DROPOUT_CLI_BENCH_FAMILY_H */
