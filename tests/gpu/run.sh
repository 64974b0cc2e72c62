#!/usr/bin/env bash
# tests/gpu/run.sh — everything the CUDA backend needs a GPU for, in one run:
#   1. builds libdropout_cuda, the cuda tests (test_cuda_device included) and
#      bench_cuda in build-gpu/ (nothing else: no BLAS, no Python needed);
#   2. runs every `cuda` ctest on the device: the host-pass, ptxas/PTX and
#      host-emulation checks, and test_cuda_device (the library on the GPU bit
#      for bit against libdropout: random seeds/streams/offsets up to 2^64,
#      tie-heavy p, every dtype and op, launch shapes, CUDA graphs, errors);
#   3. the CLI: `dropout mask/forward --device cuda` prints the bytes that
#      `--device cpu` prints, on random cases; the PyTorch example of
#      docs/device.md, extracted from the page and run as written;
#   4. bench_cuda: forward and backward against cudaMemcpyAsync device to
#      device on the same buffers, n = 2^28, the table of docs/device.md.
# Run from anywhere, on a machine with an NVIDIA GPU (sm_80 or later), the
# CUDA toolkit (nvcc), CMake and a C/C++ compiler; no network.  Writes its log
# to $OUT/gpu_run.log as well when OUT is set.  Exit status: non-zero if a
# tool is missing, the build fails or any check differs from the CPU.
#   bash tests/gpu/run.sh [log2_n]      (bench size, default 28)
set -uo pipefail
cd "$(dirname "$0")/../.."
log2_n=${1:-28}
jobs=$(nproc 2>/dev/null || echo 4)
build=${BUILD_DIR:-build-gpu}
log=/dev/null
if [ -n "${OUT:-}" ] && [ -d "$OUT" ]; then log="$OUT/gpu_run.log"; fi
exec > >(tee "$log") 2>&1

die() { echo "tests/gpu/run.sh: $*"; exit 1; }
step() { echo; echo "=== $* ($(date -u +%H:%M:%S)) ==="; }

# ---- what the machine must have ------------------------------------------
if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi
command -v nvcc >/dev/null 2>&1 || die "no nvcc (CUDA toolkit) on PATH or in /usr/local/cuda/bin"
command -v cmake >/dev/null 2>&1 || die "no cmake on PATH"
command -v ctest >/dev/null 2>&1 || die "no ctest on PATH (it comes with cmake)"
cc=$(command -v gcc || command -v cc || command -v clang) || die "no C compiler (gcc, cc or clang)"
cxx=$(command -v g++ || command -v c++ || command -v clang++) || die "no C++ compiler (g++, c++ or clang++)"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,compute_cap,driver_version,memory.total --format=csv,noheader \
    || die "nvidia-smi finds no GPU"
else
  echo "(no nvidia-smi; asking the CUDA runtime)"
fi
echo "nvcc: $(nvcc --version | tail -1); cmake: $(cmake --version | head -1); cc: $cc; c++: $cxx"

# ---- 1. build ------------------------------------------------------------------
step "configure and build ($build, -j$jobs)"
configure() { # configure [extra cmake args]
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_CXX_COMPILER="$cxx" -DDROPOUT_CUDA=ON -DDROPOUT_CUDA_DEVICE_TESTS=ON \
    -DDROPOUT_BUILD_EXAMPLES=OFF -DDROPOUT_WERROR=OFF "$@"
}
configure || die "cmake configure failed"
if [ ! -d "$build/src/cuda" ]; then
  # nvcc refuses host compilers newer than it knows: try once more, and say so
  echo "tests/gpu/run.sh: CMake did not enable CUDA; retrying with nvcc -allow-unsupported-compiler"
  rm -rf "$build"
  configure -DCMAKE_CUDA_FLAGS=-allow-unsupported-compiler || die "cmake configure failed"
fi
[ -d "$build/src/cuda" ] || die "CMake did not enable the CUDA backend (see its messages above)"
targets=(dropout dropout_cuda test_cuda_header test_cuda_emulate test_cuda_device bench_cuda)
have_cli=0
if grep -q "^DROPOUT_BUILD_CLI:BOOL=ON" "$build/CMakeCache.txt"; then targets+=(dropout_cli); have_cli=1; fi
# the header's nvcc host-pass test (tests/header.cmake), also labelled cuda
if cmake --build "$build" --target help 2>/dev/null | grep test_mask_v1_nvcc_build >/dev/null; then
  targets+=(test_mask_v1_nvcc_build)
fi
cmake --build "$build" -j"$jobs" --target "${targets[@]}" || die "build failed"

failed=0

# ---- 2. every cuda test, on the device --------------------------------------------
step "ctest -L cuda"
ctest --test-dir "$build" -L cuda --output-on-failure -V >"$build/ctest_cuda.log" 2>&1
rc=$?
grep -v -e ": Test command" -e "Test timeout" -e "Working Directory" -e "^UpdateCTest" \
  "$build/ctest_cuda.log"
[ "$rc" = 0 ] || { failed=1; echo "FAIL: ctest -L cuda"; }
ctest --test-dir "$build" -N -L cuda | grep test_cuda_device >/dev/null \
  || { failed=1; echo "FAIL: test_cuda_device is not registered (no GPU seen at configure time?)"; }

# ---- 3. the CLI: --device cuda against --device cpu ------------------------------------
step "dropout --device cuda against --device cpu"
cli="$build/cli/dropout"
if [ "$have_cli" = 1 ] && [ -x "$cli" ] && "$cli" mask --help 2>&1 | grep -- "--device" >/dev/null; then
  cases=0; differ=0
  for seed in 0 42 0xffffffffffffffff 0x123456789abcdef; do
    for p in 0.1 0.3 0.123456789 0.5 1e-12; do
      for first in 0 5 4294967290 68719476728; do
        args=(--seed "$seed" --stream "0x$(printf '%04x%04x%04x%04x' $RANDOM $RANDOM $RANDOM $RANDOM)" --first "$first" --count 1003 --p "$p")
        a=$("$cli" mask "${args[@]}" --device cpu 2>&1); b=$("$cli" mask "${args[@]}" --device cuda 2>&1)
        cases=$((cases + 1)); [ "$a" = "$b" ] || { differ=$((differ + 1)); echo "mask ${args[*]}: cuda differs"; }
      done
    done
  done
  values=$(seq -f "%g" -3.5 0.37 40 | tr '\n' ' ')
  for dtype in f32 f64 bf16 f16; do
    for p in 0.1 0.5 0.123456789; do
      args=(--seed 7 --stream 0xfedcba9876543210 --first 3 --p "$p" --dtype "$dtype")
      a=$(echo "$values" | "$cli" forward "${args[@]}" --device cpu 2>&1)
      b=$(echo "$values" | "$cli" forward "${args[@]}" --device cuda 2>&1)
      cases=$((cases + 1)); [ "$a" = "$b" ] || { differ=$((differ + 1)); echo "forward ${args[*]}: cuda differs"; }
    done
  done
  echo "CLI: $cases cases, $differ differ between --device cuda and --device cpu"
  [ "$differ" = 0 ] || failed=1
else
  echo "(the CLI was not built or has no --device: skipped, and said so)"
fi

# ---- 3b. the PyTorch example of docs/device.md, as written there -------------------------
step "docs/device.md: CudaDropout through ctypes"
example="$build/cuda_torch_example.py"
sed -n '/<!-- cuda-torch-example -->/,/<!-- end-cuda-torch-example -->/p' docs/device.md \
  | sed -e '/^<!--/d' -e '/^```/d' >"$example"
py=$(command -v python3 || true)
if [ -n "$py" ] && "$py" -c "import torch; assert torch.cuda.is_available()" 2>/dev/null; then
  "$py" "$example" "$build/src/cuda/libdropout_cuda.so" || { failed=1; echo "FAIL: the PyTorch example"; }
else
  echo "(no python3 with a CUDA PyTorch: the example was not run)"
fi

# ---- 4. bandwidth ----------------------------------------------------------------
step "bench_cuda $log2_n"
"$build/tests/bench_cuda" "$log2_n" || { failed=1; echo "FAIL: bench_cuda"; }

echo
if [ "$failed" = 0 ]; then
  echo "tests/gpu/run.sh: all cuda checks passed on the device"
else
  echo "tests/gpu/run.sh: FAILED (see above)"
fi
exit "$failed"
