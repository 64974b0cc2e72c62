/*
 * svg.h — line plots as standalone SVG files, for the `dropout` tool
 * (`dropout explain --svg`) and the MNIST demo (test_error.svg,
 * mc_curve.svg): one look for every plot of the project.
 *
 * It knows nothing of dropout; it only needs the C library and libm.
 */
#ifndef DROPOUT_PLOT_SVG_H
#define DROPOUT_PLOT_SVG_H

#include <stddef.h>

/* One curve of a plot: n points (x[i], y[i]), drawn as a polyline (with a
 * dot at each point when n <= 20) and named in the legend. */
typedef struct svg_curve {
    const char *name;  /* legend text (plain text; &, < and > are escaped) */
    const char *color; /* an SVG color, "#1f77b4"                          */
    size_t n;
    const double *x, *y;
    const char *dash;  /* SVG stroke-dasharray, "6,4"; NULL: a solid line  */
} svg_curve;

/* A line plot with axes, ticks, a grid and a legend, written to `path`.
 * log_x: logarithmic x axis (every x must be > 0).
 * y_cap > 0: the y axis runs from 0 to at most y_cap (points above are
 * clipped); y_cap <= 0: it fits the data with a margin (from 0 when the
 * data are all >= 0).  Returns 0, or -1 when the file cannot be written
 * (errno says why). */
int svg_plot(const char *path, const char *title, const char *xlabel,
             const char *ylabel, const svg_curve *curves, size_t ncurves,
             int log_x, double y_cap);

#endif /* DROPOUT_PLOT_SVG_H */
