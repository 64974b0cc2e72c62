// The C test compiled as C++ (see test_mask_v1_header.c).
#include "test_mask_v1_header.c"
