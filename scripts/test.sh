#!/usr/bin/env bash
# Builds the library, tools, demo and tests, then runs the whole suite.
#   bash scripts/test.sh                 # Release build in build/
#   BUILD_DIR=b CMAKE_ARGS="-DDROPOUT_SANITIZE=ON" bash scripts/test.sh      # ASan+UBSan
#   BUILD_DIR=b CMAKE_ARGS="-DDROPOUT_SANITIZE=thread" CC=clang bash scripts/test.sh  # TSan
# The ctest summary is the last thing it prints.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh test
build=${BUILD_DIR:-build}
t0=$(date +%s)
# shellcheck disable=SC2086
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DDROPOUT_BUILD_TESTS=ON ${CMAKE_ARGS:-}
cmake --build "$build" -j"$(nproc)"
echo "test.sh: $build configured and built in $(( $(date +%s) - t0 )) s"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)"
