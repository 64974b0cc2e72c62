/*
 * mpi_main.c — mnist-mlp-mpi: the MNIST demo (app.c) data-parallel over MPI
 * ranks.  Every minibatch is cut into --micro-shards parts (default 4);
 * rank r computes the gradients of its parts with dropout masks keyed by
 * the global row of the batch, MPI_Allgather hands every rank all parts'
 * gradients, and every rank sums them in part order (train.c): the weights
 * after every step are the same bits for any rank count that divides the
 * micro-shards.  Rank 0 alone prints and writes files.
 */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <stdio.h>
#include <time.h>

#include <mpi.h>

#include "app.h"

static int gather(void *ctx, const void *in, void *out, size_t bytes)
{
    if (bytes > INT_MAX)
        return -1;
    return MPI_Allgather(in, (int)bytes, MPI_BYTE, out, (int)bytes, MPI_BYTE,
                         *(MPI_Comm *)ctx) == MPI_SUCCESS ? 0 : -1;
}

static int broadcast(void *ctx, void *buf, size_t bytes)
{
    if (bytes > INT_MAX)
        return -1;
    return MPI_Bcast(buf, (int)bytes, MPI_BYTE, 0, *(MPI_Comm *)ctx) == MPI_SUCCESS ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (MPI_Init(&argc, &argv) != MPI_SUCCESS) {
        fprintf(stderr, "mnist-mlp-mpi: MPI_Init failed\n");
        return 1;
    }
    MPI_Comm world = MPI_COMM_WORLD;
    MPI_Comm_set_errhandler(world, MPI_ERRORS_RETURN);
    train_comm comm = {0, 1, gather, broadcast, &world};
    MPI_Comm_rank(world, &comm.rank);
    MPI_Comm_size(world, &comm.size);
    /* Rank 0 speaks for all: the others compute the same things. */
    if (comm.rank != 0 && (freopen("/dev/null", "w", stdout) == NULL ||
                           freopen("/dev/null", "w", stderr) == NULL))
        MPI_Abort(world, 1);
    const mnist_app app = {"mnist-mlp-mpi", 4, &comm};
    int rc = mnist_app_main(argc, argv, &app);
    if (rc == 0) {
        MPI_Barrier(world);
        MPI_Finalize();
        return 0;
    }
    /* Bad usage, data or checkpoint fail on every rank alike: they all get
     * here and end together.  A rank that failed alone (out of memory, a
     * file rank 0 could not write) would leave the others waiting in a
     * collective: after 10 s the whole job is aborted. */
    MPI_Request req;
    int done = 0;
    MPI_Ibarrier(world, &req);
    for (int i = 0; i < 10000 && !done; i++) {
        MPI_Test(&req, &done, MPI_STATUS_IGNORE);
        if (!done)
            nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    if (!done)
        MPI_Abort(world, rc);
    MPI_Finalize();
    return rc;
}
