/*
 * status.c — error codes as values, and a sentence for each.
 */
#include "dropout.h"

const char *dropout_status_string(int status)
{
    switch (status) {
    case DROPOUT_OK: return "success";
    case DROPOUT_ERROR_INVALID_P: return "invalid p: the drop probability must be a number in [0, 1]";
    case DROPOUT_ERROR_NULL_POINTER: return "a required pointer is NULL";
    case DROPOUT_ERROR_MASK_TOO_SMALL: return "mask buffer too small: it needs ceil(n / 8) bytes";
    case DROPOUT_ERROR_INVALID_MODE: return "invalid mode: expected DROPOUT_TRAIN or DROPOUT_EVAL";
    case DROPOUT_ERROR_RANGE: return "index range overflow: first + n exceeds 2^64";
    case DROPOUT_ERROR_INVALID_ARGUMENT: return "invalid argument";
    case DROPOUT_ERROR_UNSUPPORTED_ISA: return "ISA variant unknown or not supported by this CPU";
    case DROPOUT_ERROR_BAD_STATE: return "serialized layer state is corrupt or of an unknown version";
    case DROPOUT_ERROR_OVERLAP: return "buffers that must be apart overlap (input and output partially, or a mask and a data buffer)";
    case DROPOUT_ERROR_INVALID_SHAPE: return "invalid shape: 1 to 8 dimensions, broadcast dimensions within them, rows of d elements";
    case DROPOUT_ERROR_INVALID_DTYPE: return "invalid dtype: expected f32, f64, bf16 or f16";
    case DROPOUT_ERROR_DEVICE: return "device error: no device or driver, or the device runtime refused the call";
    default: return "unknown dropout status";
    }
}

const char *dropout_version_string(void)
{
    return DROPOUT_VERSION_STRING;
}
