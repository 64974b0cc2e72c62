/* report.c — progress output, CSV and SVG. */
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

/* A "nice" tick step for a range: 1, 2 or 5 times a power of ten. */
static double nice_step(double range, int target)
{
    double raw = range / target;
    double mag = pow(10.0, floor(log10(raw)));
    double f = raw / mag;
    return (f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0) * mag;
}

int svg_plot(const char *path, const char *title, const char *xlabel,
             const char *ylabel, const curve *curves, size_t ncurves, int log_x,
             double y_cap)
{
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (size_t c = 0; c < ncurves; c++)
        for (size_t i = 0; i < curves[c].n; i++) {
            double x = log_x ? log10(curves[c].x[i]) : curves[c].x[i];
            xmin = fmin(xmin, x);
            xmax = fmax(xmax, x);
            ymin = fmin(ymin, curves[c].y[i]);
            ymax = fmax(ymax, curves[c].y[i]);
        }
    if (!(xmin <= xmax)) {
        xmin = 0;
        xmax = 1;
        ymin = 0;
        ymax = 1;
    }
    if (xmax - xmin < 1e-9)
        xmax = xmin + 1;
    if (y_cap > 0.0) {
        /* Error curves: from 0, so gaps read honestly, up to a cap so that
         * the first epochs (tens of percent) do not flatten the rest;
         * points above it are clipped. */
        ymin = 0.0;
        ymax = fmin(ymax, y_cap);
    } else {
        double pad = 0.1 * (ymax - ymin) + 1e-3;
        ymin = fmax(0.0, ymin - pad);
        ymax = ymax + pad;
    }
    if (ymax - ymin < 1e-9)
        ymax = ymin + 1;
    double ystep = nice_step(ymax - ymin, 6);
    ymin = floor(ymin / ystep) * ystep;
    ymax = ceil(ymax / ystep) * ystep;
    const double W = 720, H = 440, L = 70, R = 20, T = 40, Bm = 60;
    const double pw = W - L - R, ph = H - T - Bm;
#define PX(x) (L + ((x) - xmin) / (xmax - xmin) * pw)
#define PY(y) (T + ph - ((y) - ymin) / (ymax - ymin) * ph)
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "font-family=\"sans-serif\" font-size=\"12\">\n", W, H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<clipPath id=\"plot\"><rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\"/></clipPath>\n",
            L, T, pw, ph);
    fprintf(f, "<text x=\"%.0f\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">%s</text>\n",
            W / 2, title);
    for (double y = ymin; y <= ymax + 1e-9; y += ystep) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
                L, PY(y), L + pw, PY(y));
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
                L - 6, PY(y) + 4, y);
    }
    if (log_x) {
        for (double d = pow(10, floor(xmin)); d <= pow(10, xmax) * 1.0001; d *= 10)
            for (int k = 1; k <= 5; k += (k == 1 ? 1 : 3)) {
                double x = log10(d * k);
                if (x < xmin - 1e-9 || x > xmax + 1e-9)
                    continue;
                fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
                        PX(x), T, PX(x), T + ph);
                fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
                        PX(x), T + ph + 16, d * k);
            }
    } else {
        double xstep = nice_step(xmax - xmin, 8);
        for (double x = ceil(xmin / xstep) * xstep; x <= xmax + 1e-9; x += xstep)
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
                    PX(x), T + ph + 16, x);
    }
    fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"black\"/>\n",
            L, T, pw, ph);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">%s</text>\n",
            L + pw / 2, H - 18, xlabel);
    fprintf(f, "<text transform=\"translate(18,%.0f) rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
            T + ph / 2, ylabel);
    for (size_t c = 0; c < ncurves; c++) {
        fprintf(f, "<polyline clip-path=\"url(#plot)\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
                curves[c].color);
        for (size_t i = 0; i < curves[c].n; i++) {
            double x = log_x ? log10(curves[c].x[i]) : curves[c].x[i];
            fprintf(f, "%.1f,%.1f ", PX(x), PY(curves[c].y[i]));
        }
        fprintf(f, "\"/>\n");
        if (curves[c].n <= 20)
            for (size_t i = 0; i < curves[c].n; i++) {
                double x = log_x ? log10(curves[c].x[i]) : curves[c].x[i];
                fprintf(f, "<circle clip-path=\"url(#plot)\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                        PX(x), PY(curves[c].y[i]), curves[c].color);
            }
        double ly = T + 16 + 18 * (double)c;
        fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"%s\" stroke-width=\"2\"/>\n",
                L + pw - 200, ly, L + pw - 175, ly, curves[c].color);
        fprintf(f, "<text x=\"%.0f\" y=\"%.0f\">%s</text>\n", L + pw - 170, ly + 4,
                curves[c].name);
    }
#undef PX
#undef PY
    fprintf(f, "</svg>\n");
    return fclose(f) == 0 ? 0 : -1;
}
