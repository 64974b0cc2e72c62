/* report.c — progress output and CSV (the SVG plots: plot/svg.c). */
#define _POSIX_C_SOURCE 200809L
#include "report.h"

#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void format_duration(char *out, size_t n, double s)
{
    if (!(s >= 0.0) || s > 360000.0)
        s = 0.0;
    int t = (int)(s + 0.5);
    if (t >= 3600)
        snprintf(out, n, "%dh%02dm", t / 3600, t / 60 % 60);
    else
        snprintf(out, n, "%dm%02ds", t / 60, t % 60);
}

void progress_begin(progress *p, const char *label, size_t epoch, size_t epochs)
{
    p->tty = isatty(STDERR_FILENO);
    p->label = label;
    p->epoch = epoch;
    p->epochs = epochs;
    p->start = wall();
    p->epochs_at_start = epoch;
    p->epoch_start = p->start;
}

void progress_batch(void *ctx, size_t done, size_t total)
{
    progress *p = ctx;
    if (!p->tty)
        return;
    /* Redraw at most ~10 times a second. */
    static double last;
    double t = wall();
    if (done != total && t - last < 0.1)
        return;
    last = t;
    double frac_epoch = (double)done / (double)total;
    double done_epochs = (double)(p->epoch - p->epochs_at_start) + frac_epoch;
    double left = (double)p->epochs - (double)p->epoch - frac_epoch;
    double eta = done_epochs > 0 ? (t - p->start) / done_epochs * left : 0.0;
    double overall = ((double)p->epoch + frac_epoch) / (double)p->epochs;
    char bar[31], eta_s[32];
    int fill = (int)(overall * 30.0);
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    format_duration(eta_s, sizeof eta_s, eta);
    fprintf(stderr, "\r%-16s [%s] epoch %zu/%zu  ETA %s   ", p->label, bar,
            p->epoch + 1, p->epochs, eta_s);
    fflush(stderr);
}

void progress_epoch_done(progress *p, const epoch_record *r)
{
    p->epoch++;
    if (p->tty)
        fprintf(stderr, "\r\033[K");
    /* One plain line per epoch on a terminal too (after clearing the bar),
     * so the history stays readable when the run ends. */
    if (!p->tty || p->epoch == p->epochs || p->epoch % 10 == 0 || p->epoch <= 1)
        fprintf(stderr,
                "%s: epoch %zu/%zu  loss %.4f  train err %.2f%%  test err %.2f%%  %.1fs\n",
                p->label, p->epoch, p->epochs, r->loss, r->train_error,
                r->test_error, r->seconds);
    fflush(stderr);
}

int csv_write(const char *path, const train_state *s)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "epoch,train_loss,train_error,test_error,seconds\n");
    for (size_t e = 0; e < s->epoch; e++) {
        const epoch_record *r = &s->history[e];
        fprintf(f, "%zu,%.6f,%.4f,%.4f,%.3f\n", e + 1, r->loss, r->train_error,
                r->test_error, r->seconds);
    }
    return fclose(f) == 0 ? 0 : -1;
}
