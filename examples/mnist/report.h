/*
 * report.h — what the user sees: the progress bar, the per-epoch CSV, the
 * SVG plots and summary.json.
 */
#ifndef MNIST_REPORT_H
#define MNIST_REPORT_H

#include <stdio.h>

#include "train.h"

typedef struct progress {
    int tty;            /* stderr is a terminal: redraw one line with ETA */
    const char *label;  /* "with dropout" ...                             */
    size_t epoch, epochs;
    double start;       /* wall clock at the start of this invocation      */
    size_t epochs_at_start;
    double epoch_start;
} progress;

void progress_begin(progress *p, const char *label, size_t epoch, size_t epochs);
void progress_batch(void *ctx, size_t done, size_t total);
void progress_epoch_done(progress *p, const epoch_record *r);

/* One curve of a plot. */
typedef struct curve {
    const char *name;
    const char *color;
    size_t n;
    const double *x, *y;
} curve;

/* A line plot with axes, ticks, a legend; log_x for the MC curve.
 * y_cap > 0: the y axis runs from 0 to at most y_cap (clipped above);
 * y_cap <= 0: it fits the data with a margin. */
int svg_plot(const char *path, const char *title, const char *xlabel,
             const char *ylabel, const curve *curves, size_t ncurves, int log_x,
             double y_cap);

int csv_write(const char *path, const train_state *s);

#endif
