#!/usr/bin/env bash
# Builds every libFuzzer target of fuzz/CMakeLists.txt with clang
# (-DDROPOUT_FUZZ=ON: library and code under test instrumented, with
# AddressSanitizer + UndefinedBehaviorSanitizer) and runs each one in turn,
# from its seed corpus, for an equal share of a fixed time budget.
#   bash fuzz/run.sh [TOTAL_SECONDS] [TARGET...]   (default 108 s; also FUZZ_SECONDS)
# Exits non-zero if any target finds a crash, a sanitizer report, a leak,
# a timeout or a broken property (abort); the reproducer and the log stay in
# build-fuzz/work/<target>/.  Replay one: build-fuzz/fuzz/fuzz_<target> FILE
set -euo pipefail
cd "$(dirname "$0")/.."
total=${1:-${FUZZ_SECONDS:-108}}
shift || true
cc=${FUZZ_CC:-clang}
cxx=${FUZZ_CXX:-clang++}
build=${FUZZ_BUILD_DIR:-build-fuzz}
for tool in "$cc" "$cxx"; do
  command -v "$tool" >/dev/null ||
    { echo "fuzz/run.sh: $tool not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
done
cmake -S . -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_BUILD_TYPE=Release -DDROPOUT_FUZZ=ON -DDROPOUT_CUDA=OFF -DDROPOUT_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target fuzz_all -j"$(nproc)" >/dev/null

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for exe in "$build"/fuzz/fuzz_*; do
    name=${exe##*/fuzz_}
    case $name in *_replay) ;; *) targets+=("$name") ;; esac
  done
fi
seconds=$(( total / ${#targets[@]} ))
[ "$seconds" -ge 1 ] || seconds=1
echo "fuzz/run.sh: ${#targets[@]} targets (${targets[*]}), ${seconds} s each"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for t in "${targets[@]}"; do
  work=$build/work/$t
  rm -rf "$work"
  mkdir -p "$work/corpus"
  cp fuzz/corpus/"$t"/* "$work/corpus/"
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -max_len="$([ "$t" = idx ] && echo 8192 || echo 4096)")
  [ -f fuzz/"$t".dict ] && args+=(-dict="$PWD/fuzz/$t.dict")
  rc=0
  (cd "$work" && exec "../../fuzz/fuzz_$t" "${args[@]}" corpus) >"$work/log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
  cov=$(grep -o 'cov: [0-9]*' "$work/log" | tail -n 1 || true)
  if [ "$rc" -eq 0 ]; then
    echo "fuzz_$t: ${runs:-?} runs in ${seconds} s, ${cov:-cov: ?}, corpus $(ls "$work/corpus" | wc -l) inputs: ok"
  else
    echo "fuzz_$t: FAILED (exit $rc) after ${runs:-?} runs; log $work/log, reproducer:" \
         "$(ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null | head -n 1)"
    tail -n 40 "$work/log"
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz/run.sh: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz/run.sh: all ${#targets[@]} targets ran ${seconds} s each without a failure"
