/*
 * main.c — mnist-mlp: train an MLP on MNIST with and without dropout and
 * report what dropout did (app.c), in one process.
 */
#include "app.h"

int main(int argc, char **argv)
{
    const mnist_app app = {"mnist-mlp", 1, NULL};
    return mnist_app_main(argc, argv, &app);
}
