#!/usr/bin/env bash
# Builds the library, tools, demo and tests, then runs the whole suite.
#   bash scripts/test.sh                 # Release build in build/
#   BUILD_DIR=b CMAKE_ARGS="-DDROPOUT_SANITIZE=ON" bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh test
build=${BUILD_DIR:-build}
# shellcheck disable=SC2086
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DDROPOUT_BUILD_TESTS=ON ${CMAKE_ARGS:-}
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)"
