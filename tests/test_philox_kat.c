/*
 * test_philox_kat.c — dropout_philox4x32_10 against every Random123
 * known-answer line in tests/data/philox4x32_10_kat.txt.
 *
 * The file's path comes from CMake (DROPOUT_KAT_FILE) or argv[1].  A file
 * with fewer lines than the 55 we copied fails the test: a truncated file
 * must not pass by checking nothing.
 */
#include "test_util.h"

#define KAT_LINES_EXPECTED 55

#ifndef DROPOUT_KAT_FILE
#define DROPOUT_KAT_FILE "tests/data/philox4x32_10_kat.txt"
#endif

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : DROPOUT_KAT_FILE;
    FILE *f = fopen(path, "r");
    REQUIRE(f != NULL, "cannot open %s", path);

    char line[512];
    int lines = 0, lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n' || line[0] == '\0')
            continue;
        char name[32];
        unsigned rounds;
        uint32_t ctr[4], key[2], expected[4];
        int got = sscanf(line,
                         "%31s %u %" SCNx32 " %" SCNx32 " %" SCNx32 " %" SCNx32 " %" SCNx32
                         " %" SCNx32 " %" SCNx32 " %" SCNx32 " %" SCNx32 " %" SCNx32,
                         name, &rounds, &ctr[0], &ctr[1], &ctr[2], &ctr[3], &key[0], &key[1],
                         &expected[0], &expected[1], &expected[2], &expected[3]);
        CHECK(got == 12 && strcmp(name, "philox4x32") == 0 && rounds == 10,
              "%s line %d is not a philox4x32 10 line: %s", path, lineno, line);
        if (got != 12)
            continue;
        uint32_t out[4];
        dropout_philox4x32_10(ctr, key, out);
        CHECK(memcmp(out, expected, sizeof out) == 0,
              "line %d: ctr %08" PRIx32 " %08" PRIx32 " %08" PRIx32 " %08" PRIx32
              " key %08" PRIx32 " %08" PRIx32 ": got %08" PRIx32 " %08" PRIx32 " %08" PRIx32
              " %08" PRIx32 ", expected %08" PRIx32 " %08" PRIx32 " %08" PRIx32 " %08" PRIx32,
              lineno, ctr[0], ctr[1], ctr[2], ctr[3], key[0], key[1], out[0], out[1], out[2],
              out[3], expected[0], expected[1], expected[2], expected[3]);
        lines++;
    }
    fclose(f);
    printf("compared %d known-answer lines of %s\n", lines, path);
    CHECK(lines >= KAT_LINES_EXPECTED, "only %d known-answer lines, expected %d", lines,
          KAT_LINES_EXPECTED);

    /* NULL arguments must not crash (the function returns without writing). */
    uint32_t out[4] = {1, 2, 3, 4};
    const uint32_t zero_ctr[4] = {0, 0, 0, 0}, zero_key[2] = {0, 0};
    dropout_philox4x32_10(NULL, zero_key, out);
    dropout_philox4x32_10(zero_ctr, NULL, out);
    dropout_philox4x32_10(zero_ctr, zero_key, NULL);
    CHECK(out[0] == 1 && out[1] == 2 && out[2] == 3 && out[3] == 4,
          "output written despite a NULL argument");
    return test_exit_code("test_philox_kat");
}
