/* svg.c — line plots as SVG (see svg.h). */
#include "svg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Text content or an attribute value: &, <, > and " escaped. */
static void put_text(FILE *f, const char *text)
{
    for (const char *c = text; *c; c++) {
        switch (*c) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*c, f);
        }
    }
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
             const char *ylabel, const svg_curve *curves, size_t ncurves, int log_x,
             double y_cap)
{
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    size_t longest_name = 0;
    for (size_t c = 0; c < ncurves; c++) {
        if (strlen(curves[c].name) > longest_name)
            longest_name = strlen(curves[c].name);
        for (size_t i = 0; i < curves[c].n; i++) {
            double x = log_x ? log10(curves[c].x[i]) : curves[c].x[i];
            xmin = fmin(xmin, x);
            xmax = fmax(xmax, x);
            ymin = fmin(ymin, curves[c].y[i]);
            ymax = fmax(ymax, curves[c].y[i]);
        }
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
        /* A margin, but an axis of non-negative data starts at 0 at most. */
        double pad = 0.1 * (ymax - ymin) + 1e-3;
        ymin = ymin >= 0.0 ? fmax(0.0, ymin - pad) : ymin - pad;
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
    fprintf(f, "<text x=\"%.0f\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">", W / 2);
    put_text(f, title);
    fprintf(f, "</text>\n");
    int yticks = (int)floor((ymax - ymin) / ystep + 0.5);
    for (int k = 0; k <= yticks; k++) {
        double y = ymin + k * ystep;
        if (fabs(y) < 1e-9 * ystep)
            y = 0.0; /* a tick at 0 reads "0", not "-1.1e-16" */
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
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">", L + pw / 2, H - 18);
    put_text(f, xlabel);
    fprintf(f, "</text>\n");
    fprintf(f, "<text transform=\"translate(18,%.0f) rotate(-90)\" text-anchor=\"middle\">",
            T + ph / 2);
    put_text(f, ylabel);
    fprintf(f, "</text>\n");
    for (size_t c = 0; c < ncurves; c++) {
        fprintf(f, "<polyline clip-path=\"url(#plot)\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"",
                curves[c].color);
        if (curves[c].dash)
            fprintf(f, " stroke-dasharray=\"%s\"", curves[c].dash);
        fprintf(f, " points=\"");
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
    }
    /* The legend, top right, on a white box wide enough for the longest
     * name (about 6.6 px per character at 12 px). */
    double legend_w = 45 + 6.6 * (double)longest_name;
    double legend_x = L + pw - 8 - legend_w;
    if (ncurves > 0)
        fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"white\" "
                   "fill-opacity=\"0.85\" stroke=\"#ccc\"/>\n",
                legend_x, T + 6, legend_w, 18 * (double)ncurves + 4);
    for (size_t c = 0; c < ncurves; c++) {
        double ly = T + 16 + 18 * (double)c;
        fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"%s\" stroke-width=\"2\"",
                legend_x + 8, ly, legend_x + 33, ly, curves[c].color);
        if (curves[c].dash)
            fprintf(f, " stroke-dasharray=\"%s\"", curves[c].dash);
        fprintf(f, "/>\n<text x=\"%.0f\" y=\"%.0f\">", legend_x + 38, ly + 4);
        put_text(f, curves[c].name);
        fprintf(f, "</text>\n");
    }
#undef PX
#undef PY
    fprintf(f, "</svg>\n");
    int failed = ferror(f);
    return fclose(f) == 0 && !failed ? 0 : -1;
}
