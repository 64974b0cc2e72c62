#!/bin/sh
# neon_cross.sh SOURCE_DIR BUILD_DIR — builds the project for AArch64 with
# Debian's cross compiler (gcc-aarch64-linux-gnu) and runs the SIMD tests
# under qemu-user (qemu-user): the NEON kernels against scalar, and the
# public API on scalar and neon with 1 ... 8 threads.  Static binaries, so
# qemu needs no AArch64 sysroot at run time.
set -eu
src=$1
build=$2
# The project declares C and C++; there is no AArch64 C++ compiler in the
# cross toolchain and no C++ target is built here, so the host's stands in.
cmake -S "$src" -B "$build" -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=aarch64 \
  -DCMAKE_C_COMPILER=aarch64-linux-gnu-gcc -DCMAKE_CXX_COMPILER=c++ \
  -DCMAKE_BUILD_TYPE=Release -DDROPOUT_BUILD_CLI=OFF -DDROPOUT_BUILD_EXAMPLES=OFF \
  -DDROPOUT_TESTS_STATIC=ON -DCMAKE_EXE_LINKER_FLAGS=-static >"$build.configure.log" 2>&1 ||
  { cat "$build.configure.log"; exit 1; }
cmake --build "$build" -j2 --target test_simd_kernels test_simd_api test_family_half
qemu-aarch64 "$build/tests/test_simd_kernels" neon
qemu-aarch64 "$build/tests/test_simd_api" scalar,neon
qemu-aarch64 "$build/tests/test_family_half"
