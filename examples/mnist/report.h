/*
 * report.h — what the user sees: the progress bar, the per-epoch CSV, the
 * SVG plots and summary.json.
 */
#ifndef MNIST_REPORT_H
#define MNIST_REPORT_H

#include <stdio.h>

#include "svg.h" /* svg_plot, svg_curve: the project's plots (plot/) */
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

int csv_write(const char *path, const train_state *s);

#endif
