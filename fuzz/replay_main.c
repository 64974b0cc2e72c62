/*
 * replay_main.c — runs the fuzz target over files named on the command line,
 * without libFuzzer: the seed corpus becomes a regression test with any
 * compiler (and under DROPOUT_SANITIZE, with ASan).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    int done = 0;
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (f == NULL) {
            fprintf(stderr, "cannot open %s\n", argv[i]);
            return 1;
        }
        uint8_t buf[1 << 16];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        /* Every prefix too: each truncation point is a malformed file. */
        for (size_t k = 0; k <= n; k++)
            LLVMFuzzerTestOneInput(buf, k);
        done++;
    }
    printf("replayed %d inputs and all their prefixes\n", done);
    return done > 0 ? 0 : 1;
}
