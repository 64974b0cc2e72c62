#!/usr/bin/python3
"""peers.py — dropout beside PyTorch and NumPy, same sizes, same run.

Runs `dropout bench --json` for the f32 forward and backward_mask, then times
on the same machine, in the same process run, on the same sizes and p:

  torch_dropout   torch.nn.functional.dropout(x, p, training=True)   (CPU)
  torch_native    torch.native_dropout(x, p, True) forward, plus its
                  backward torch.ops.aten.native_dropout_backward(dy, mask, s)
  numpy           y = np.where(rng.random(n, float32) >= p, x * s, 0)

and prints, per size, p and thread count, each peer's ns/element and how
many times slower it is than dropout (median of --repeats samples, after a
warm-up).  The native pair is compared with dropout's forward (with mask
output excluded) plus backward_mask, i.e. the same work.

Usage (Debian's /usr/bin/python3, with python3-torch and python3-numpy):

    /usr/bin/python3 bench/peers.py --dropout build/cli/dropout
    /usr/bin/python3 bench/peers.py --sizes 16384,1048576 --json
"""
import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import time


def find_dropout():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    for path in sorted(glob.glob(os.path.join(root, "build*", "cli", "dropout"))):
        if os.access(path, os.X_OK):
            return path
    return None


def time_ns_per_elem(fn, n, repeats):
    """Median, min, max ns/element of fn() over repeats, after one warm-up;
    small sizes repeat the call until a sample covers 2^20 elements."""
    calls = max(1, (1 << 20) // n)
    fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter_ns() - start) / (calls * n))
    return statistics.median(samples), min(samples), max(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dropout", help="path of the dropout CLI (default: build*/cli/dropout)")
    parser.add_argument("--sizes", default="4096,65536,1048576,16777216",
                        help="comma-separated element counts (default %(default)s)")
    parser.add_argument("--p", default="0.1,0.5", help="drop probabilities (default %(default)s)")
    parser.add_argument("--repeats", type=int, default=5, help="samples (default %(default)s)")
    parser.add_argument("--threads", default=None,
                        help="comma-separated thread counts (default: 1 and all cores)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args()

    try:
        import numpy as np
        import torch
        import torch.nn.functional as F
    except ImportError as e:
        sys.exit("peers.py: %s (run with /usr/bin/python3; needs python3-torch, python3-numpy)" % e)

    dropout = args.dropout or find_dropout()
    if dropout is None or not os.access(dropout, os.X_OK):
        sys.exit("peers.py: dropout CLI not found; build it and pass --dropout PATH")
    try:
        sizes = [int(s) for s in args.sizes.split(",")]
        ps = [float(p) for p in args.p.split(",")]
        cores = os.cpu_count() or 1
        threads_list = ([int(t) for t in args.threads.split(",")] if args.threads
                        else sorted({1, cores}))
    except ValueError as e:
        sys.exit("peers.py: bad list: %s" % e)
    if args.repeats < 1 or any(n < 1 for n in sizes) or any(not 0 <= p < 1 for p in ps):
        sys.exit("peers.py: sizes and repeats must be >= 1 and p in [0, 1)")

    # dropout itself, through its own benchmark, in this same run
    ours = {}
    for threads in threads_list:
        for p in ps:
            cmd = [dropout, "bench", "--json", "--dtype", "f32", "--sizes", args.sizes,
                   "--p", repr(p), "--threads", str(threads), "--repeats", str(args.repeats)]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            for line in out.splitlines():
                row = json.loads(line)
                ours[(row["op"], row["n"], row["p"], row["threads"])] = row

    rows = []
    for threads in threads_list:
        torch.set_num_threads(threads)
        for n in sizes:
            x = torch.randn(n, dtype=torch.float32)
            dy = torch.randn(n, dtype=torch.float32)
            xn = x.numpy()
            rng = np.random.default_rng(1)
            for p in ps:
                s = 1.0 / (1.0 - p)
                scale = np.float32(s)

                def torch_dropout():
                    F.dropout(x, p, training=True)

                def torch_native():
                    y, mask = torch.native_dropout(x, p, True)
                    torch.ops.aten.native_dropout_backward(dy, mask, s)

                def numpy_dropout():
                    keep = rng.random(n, dtype=np.float32) >= p
                    np.where(keep, xn * scale, np.float32(0))

                fwd = ours[("forward", n, p, threads)]
                bwd = ours[("backward_mask", n, p, threads)]
                ours_fwd = fwd["ns_per_elem"]
                ours_pair = fwd["ns_per_elem"] + bwd["ns_per_elem"]
                with torch.no_grad():
                    t_drop = time_ns_per_elem(torch_dropout, n, args.repeats)
                    t_native = time_ns_per_elem(torch_native, n, args.repeats)
                t_numpy = time_ns_per_elem(numpy_dropout, n, args.repeats)
                for peer, t, base in (("torch_dropout", t_drop, ours_fwd),
                                      ("torch_native_fwd_bwd", t_native, ours_pair),
                                      ("numpy", t_numpy, ours_fwd)):
                    rows.append({"peer": peer, "n": n, "p": p, "threads": threads,
                                 "isa": fwd["isa"], "peer_ns_per_elem": t[0],
                                 "peer_ns_per_elem_min": t[1], "peer_ns_per_elem_max": t[2],
                                 "dropout_ns_per_elem": base,
                                 "roofline_ns_per_elem": fwd["roofline_ns_per_elem"],
                                 "speedup": t[0] / base})
                    if args.json:
                        print(json.dumps(rows[-1]), flush=True)
    if not args.json:
        print("dropout %s (isa %s) vs PyTorch %s and NumPy %s, f32, median ns/element"
              % (dropout, rows[0]["isa"] if rows else "?", torch.__version__, np.__version__))
        print("%-22s %10s %5s %3s %12s %12s %10s" % ("peer", "n", "p", "thr", "peer ns/el",
                                                     "dropout ns", "speedup"))
        for r in rows:
            print("%-22s %10d %5g %3d %12.3f %12.4f %9.1fx" % (
                r["peer"], r["n"], r["p"], r["threads"], r["peer_ns_per_elem"],
                r["dropout_ns_per_elem"], r["speedup"]))
        worst = min((r["speedup"] for r in rows if r["peer"] == "torch_dropout"), default=0)
        print("smallest speedup over torch F.dropout: %.1fx (target >= 50x)" % worst)


if __name__ == "__main__":
    main()
