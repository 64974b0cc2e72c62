/*
 * dispatch.c — picks the kernel table once.
 *
 * This first version has the scalar reference only.
 */
#include <string.h>

#include "dropout.h"
#include "kernels/kernels.h"

const dropout_kernels *dropout_kernels_active(void)
{
    return &dropout_kernels_scalar;
}

const char *dropout_isa(void)
{
    return dropout_kernels_active()->isa;
}

int dropout_set_isa(const char *name)
{
    if (name == NULL || strcmp(name, "auto") == 0 || strcmp(name, "scalar") == 0)
        return DROPOUT_OK;
    return DROPOUT_ERROR_UNSUPPORTED_ISA;
}
