#!/usr/bin/env bash
# kernel_ab.sh REV_A REV_B [p [n [op [rounds]]]] — the x86 kernel file of two
# git revisions ("." for the working tree), timed against each other and
# the Philox-only loop of `dropout bench` in one process (kernel_ab.c).
# ISA=avx2 times src/kernels/avx2.c, ISA=avx512_bf16 the avx512_bf16.c build
# (default avx512.c).  Run from the root
# of the tree, with a built $BUILD_DIR/src/libdropout.a (default build/;
# for everything but the two kernel files).  tests/simd.cmake runs it once
# per runnable ISA (both sides the working tree: they must agree bit for bit).
set -euo pipefail
ra=${1:?usage: kernel_ab.sh REV_A REV_B [p [n [op [rounds]]]]}; rb=${2:?}; shift 2
isa=${ISA:-avx512}
build=${BUILD_DIR:-build}
cc=${CC:-cc}
case $isa in
  avx512) flags="-mavx512f -mavx512bw -mavx512vl"; level=2 ;;
  avx512_bf16) flags="-mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512bf16"; level=2 ;;
  avx2) flags="-mavx2 -mf16c"; level=1 ;;
  *) echo "kernel_ab.sh: ISA is avx512, avx512_bf16 or avx2" >&2; exit 2 ;;
esac
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
common="-O3 -DNDEBUG -std=c11 -ffp-contract=off -fvisibility=hidden"
for side in a b; do
  rev=$ra; [ $side = b ] && rev=$rb
  mkdir -p "$out/$side/src"
  if [ "$rev" = . ]; then
    cp -r include "$out/$side/"; cp -r src/. "$out/$side/src/"
  else
    git archive "$rev" include src | tar -x -C "$out/$side"
  fi
  $cc $common $flags -I"$out/$side/include" -I"$out/$side/src" -c "$out/$side/src/kernels/$isa.c" \
    -o "$out/$side.o" -Ddropout_kernels_$isa=kernel_ab_$side
done
$cc -O3 -std=c11 -Iinclude -Isrc -Icli bench/kernel_ab.c cli/bench_limits.c "$out/a.o" "$out/b.o" \
  "$build/src/libdropout.a" -lm -lpthread -o "$out/kernel_ab"
"$out/kernel_ab" "${1:-0.5}" "${2:-65536}" "${3:-0}" "${4:-41}" $level
