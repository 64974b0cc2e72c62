#!/usr/bin/env bash
# Builds the libFuzzer target for the MNIST IDX loader with clang
# (-fsanitize=fuzzer,address,undefined) and runs it for a bounded time.
#   bash fuzz/run.sh [SECONDS]      (default 60; also FUZZ_SECONDS)
# Exits non-zero if the fuzzer finds a crash, an overread or undefined
# behaviour; the reproducer is left in build-fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-${FUZZ_SECONDS:-60}}
cc=${FUZZ_CC:-clang}
command -v "$cc" >/dev/null || { echo "fuzz/run.sh: $cc not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
mkdir -p build-fuzz/corpus
"$cc" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I examples/mnist fuzz/fuzz_idx.c examples/mnist/idx.c -o build-fuzz/fuzz_idx
cp fuzz/corpus/idx/* build-fuzz/corpus/
echo "fuzz/run.sh: fuzzing the IDX loader for ${seconds} s"
cd build-fuzz
./fuzz_idx -max_total_time="$seconds" -max_len=8192 -print_final_stats=1 corpus 2>&1 | tail -n 25
exit "${PIPESTATUS[0]}"
