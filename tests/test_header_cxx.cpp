// test_header_cxx.cpp — include/dropout.h compiled as C++ (C++11 and C++17
// targets) with -Wall -Wextra -Wpedantic -Werror, and calls made from C++:
// the extern "C" linkage must match the library's symbols.
#include "dropout.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

int main()
{
    const std::size_t n = 100;
    std::vector<double> x(n), y(n), dx(n);
    for (std::size_t i = 0; i < n; i++)
        x[i] = static_cast<double>(i) + 1.0;
    std::vector<std::uint8_t> mask(dropout_mask_bytes(n));

    dropout_params params = dropout_params();
    params.p = 0.25;
    params.seed = 42;
    params.mode = DROPOUT_TRAIN;
    int status = dropout_forward_f64(&params, y.data(), x.data(), n, mask.data(), mask.size());
    if (status == DROPOUT_OK)
        status = dropout_backward_mask_f64(&params, dx.data(), x.data(), n, mask.data(),
                                           mask.size());
    // The forward and the backward of x itself agree, and match dropout_keep.
    int mismatches = 0;
    for (std::size_t i = 0; i < n; i++) {
        bool keep = ((mask[i / 8] >> (i % 8)) & 1) != 0;
        if (keep != (dropout_keep(42, 0, i, 0.25) == 1) || y[i] != dx[i])
            mismatches++;
    }

    dropout_layer layer;
    if (status == DROPOUT_OK)
        status = dropout_layer_init(&layer, 0.5, 1);
    if (status == DROPOUT_OK)
        status = dropout_layer_set_mode(&layer, DROPOUT_EVAL);
    if (status == DROPOUT_OK)
        status = dropout_layer_forward_f64(&layer, y.data(), x.data(), n);
    if (status == DROPOUT_OK && std::memcmp(y.data(), x.data(), n * sizeof(double)) != 0)
        mismatches++;

    std::printf("C++%ld: dropout %s, isa %s, status %s, %d mismatches\n",
                static_cast<long>(__cplusplus), dropout_version_string(), dropout_isa(),
                dropout_status_string(status), mismatches);
    return status == DROPOUT_OK && mismatches == 0 ? 0 : 1;
}
