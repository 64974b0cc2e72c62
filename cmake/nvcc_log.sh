#!/bin/sh
# nvcc_log.sh LOG COMMAND...: runs one compile (the CUDA compiler launcher of
# libdropout_cuda), keeping everything it prints in LOG, for the test that
# reads ptxas's -v report (tests/cuda/check_ptxas.cmake).  Prints what the
# compiler said except ptxas's report, so warnings still show.
log=$1
shift
"$@" >"$log.tmp" 2>&1
rc=$?
grep -v -e '^ptxas info' -e 'bytes stack frame, ' "$log.tmp" >&2
mv "$log.tmp" "$log"
exit $rc
