/*
 * app.h — the MNIST demo as one implementation shared by its binaries:
 * mnist-mlp (one process) and mnist-mlp-mpi (MPI ranks).  Same options,
 * same outputs; the binary supplies its name, its default --micro-shards
 * and, for MPI, how ranks gather and broadcast (train_comm).
 */
#ifndef MNIST_APP_H
#define MNIST_APP_H

#include <stddef.h>

#include "train.h"

typedef struct mnist_app {
    const char *prog;          /* for messages: "mnist-mlp" ...            */
    size_t micro_shards;       /* the default of --micro-shards            */
    const train_comm *comm;    /* NULL: one process                        */
} mnist_app;

/* The whole program: parses argv, trains, reports.  Only rank 0 prints and
 * writes files.  Returns the exit status (0, 1 on failure, 2 on bad
 * usage); every rank returns the same status for bad usage, bad data or a
 * refused checkpoint. */
int mnist_app_main(int argc, char **argv, const mnist_app *app);

#endif
