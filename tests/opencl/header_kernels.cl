/*
 * header_kernels.cl — include/dropout_mask_v1.h compiled as OpenCL C (the
 * #include is pasted in at build time by src/opencl/embed.cmake, as for the
 * library's kernels).  test_opencl_header.c runs these and compares.
 */
#include "dropout_mask_v1.h"

/* One Philox4x32-10 call per work-item: in[6k ...] = ctr0..3, key0..1. */
__kernel void kat_philox(__global const uint *in, __global uint *out)
{
    size_t k = get_global_id(0);
    dropout_mask_v1_words w = dropout_mask_v1_philox4x32_10(
        in[6 * k], in[6 * k + 1], in[6 * k + 2], in[6 * k + 3], in[6 * k + 4], in[6 * k + 5]);
    for (int j = 0; j < 4; j++)
        out[4 * k + j] = w.w[j];
}

/* Keep bit of element `first + k` for k = global id, two ways: from the
 * block's keep bits (bit 0 of out) and one element at a time (bit 1). */
__kernel void mask_bits(ulong seed, ulong stream, ulong threshold, ulong first,
                        __global uchar *out)
{
    ulong i = first + get_global_id(0);
    dropout_mask_v1_stream ms = dropout_mask_v1_stream_make(seed, stream, threshold);
    uint block = dropout_mask_v1_keep_bits16(ms, i / DROPOUT_MASK_V1_BLOCK_ELEMENTS);
    uint by_block = (block >> (i % DROPOUT_MASK_V1_BLOCK_ELEMENTS)) & 1u;
    uint by_element = (uint)dropout_mask_v1_keep(ms, i);
    out[get_global_id(0)] = (uchar)(by_block | (by_element << 1));
}
