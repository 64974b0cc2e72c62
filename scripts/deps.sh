#!/usr/bin/env bash
# Installs the Debian packages the project needs, if any are missing.
#   bash scripts/deps.sh [test|demo|all]
# As root it runs apt-get; otherwise it prints the apt-get command to run.
set -euo pipefail

base=(cmake make gcc g++ pkg-config libopenblas-dev libssl-dev)
test_pkgs=(clang libclang-rt-14-dev python3 python3-numpy python3-torch python3-torchvision python3-setuptools python3-pip
           opencl-headers ocl-icd-opencl-dev pocl-opencl-icd clinfo python3-pyopencl
           openmpi-bin libopenmpi-dev
           gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user groff-base man-db)
demo_pkgs=(nodejs npm ca-certificates)

case "${1:-all}" in
  test) want=("${base[@]}" "${test_pkgs[@]}") ;;
  demo) want=("${base[@]}" "${demo_pkgs[@]}") ;;
  all)  want=("${base[@]}" "${test_pkgs[@]}" "${demo_pkgs[@]}") ;;
  *) echo "usage: scripts/deps.sh [test|demo|all]" >&2; exit 2 ;;
esac

missing=()
for pkg in "${want[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$pkg")
done
# npm may come with Node.js from elsewhere; only the command matters.
if command -v npm >/dev/null 2>&1; then
  kept=(); for pkg in "${missing[@]}"; do case "$pkg" in nodejs|npm) ;; *) kept+=("$pkg") ;; esac; done
  missing=("${kept[@]}")
fi
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
