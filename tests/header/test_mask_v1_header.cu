// The C test compiled by nvcc: host pass only (see test_mask_v1_header.c).
#include "test_mask_v1_header.c"
