#!/bin/sh
# mpi_check.sh — helpers of the mpi tests (tests.cmake).
#   mpi_check.sh run NP ARGS...   mpirun --oversubscribe -np NP ARGS (adds
#                                 --allow-run-as-root when run as root, as in CI)
#   mpi_check.sh same DIR...      every DIR/summary.json has one weights_sha256
set -u
case "${1:-}" in
run)
    np=$2
    shift 2
    root=
    [ "$(id -u)" = 0 ] && root=--allow-run-as-root
    # Containers often forbid the cross-process reads (CMA) of OpenMPI's
    # shared-memory transport: copy through the shared segment instead.
    export OMPI_MCA_btl_vader_single_copy_mechanism="${OMPI_MCA_btl_vader_single_copy_mechanism:-none}"
    exec "${MPIEXEC:-mpirun}" $root --oversubscribe -np "$np" "$@"
    ;;
same)
    shift
    first=
    for dir in "$@"; do
        sha=$(sed -n 's/^ *"weights_sha256": "\([0-9a-f]\{64\}\)".*/\1/p' "$dir/summary.json" | head -n 1)
        world=$(sed -n 's/^ *"world_size": \([0-9]*\).*/\1/p' "$dir/summary.json" | head -n 1)
        if [ -z "$sha" ]; then
            echo "FAIL: no weights_sha256 in $dir/summary.json"
            exit 1
        fi
        echo "$sha  world_size ${world:-?}  $dir"
        [ -z "$first" ] && first=$sha
        if [ "$sha" != "$first" ]; then
            echo "FAIL: the weights differ"
            exit 1
        fi
    done
    echo "same weights_sha256 in all $# runs"
    ;;
*)
    echo "usage: mpi_check.sh run NP ARGS... | same DIR..." >&2
    exit 2
    ;;
esac
