#!/usr/bin/python3
"""
python_bench.py — dropout side by side in one process, on the same tensors:

  F.dropout     torch.nn.functional.dropout (PyTorch's CPU kernel: a Bernoulli
                float mask, then a multiply)
  drop-in       dropout.torch.dropout (libdropout through ctypes; seed from
                torch.initial_seed(), one stream drawn per call, as by default)
  NumPy         a plain NumPy dropout: mask = rng.random(n) >= p, y = x * mask * s
  dropout.fwd   the NumPy front end, dropout.forward(x, p, seed=, stream=)

The drop-in's backward regenerates the mask from (seed, stream) by default;
the save_mask column keeps the packed 1-bit mask instead (save_mask=True).

Forward alone and forward + backward through autograd (y.backward(dy); for
NumPy, dx = dy * mask * s), float32, for 1 and 2 threads (torch.set_num_threads
and dropout.set_threads both), n from 2^12 to 2^26.  Every time is the median
of repeated calls, Python overhead included, taken in 5 interleaved rounds (each
round runs a block of calls of every variant, after one untimed call), so the
machine's ups and downs fall on all variants alike; ratios are F.dropout's time (or
NumPy's) divided by the drop-in's: above 1 means the drop-in is faster.

    PYTHONPATH=python DROPOUT_LIBRARY_PATH=build/src \\
        flock /tmp/dropout-bench.lock /usr/bin/python3 bench/python_bench.py
"""
import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

import dropout
import dropout.torch as dt


def interleaved_medians(variants, budget, rounds=5):
    """Median wall time of each fn in `variants` (name -> fn), measured in
    `rounds` rounds: every round runs a block of calls of every variant in
    turn, so that a change in the machine's speed (other tenants, frequency)
    falls on all of them alike.  Each block starts with one untimed call, so
    that each variant meets the memory allocator in its own steady state (a
    fresh large output costs page faults and zeroing that the variant before
    it may have caused); about budget seconds per variant in all."""
    for fn in variants.values():
        fn()
    times = {name: [] for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            fn()  # untimed: the allocator's state after the other variants
            spent = 0.0
            calls = 0
            while calls < 2 or (spent < budget / rounds and calls < 400):
                start = time.perf_counter()
                fn()
                elapsed = time.perf_counter() - start
                times[name].append(elapsed)
                spent += elapsed
                calls += 1
    return {name: statistics.median(t) for name, t in times.items()}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load_average():
    try:
        return "%.2f %.2f %.2f" % os.getloadavg()
    except OSError:
        return "unknown"


def measure(n, p, budget):
    """Times (seconds) of every variant at size n; the caller sets threads."""
    torch.manual_seed(0)
    x = torch.randn(n)
    dy = torch.randn(n)
    x_grad = x.clone().requires_grad_()
    x_np, dy_np = x.numpy(), dy.numpy()
    rng = np.random.default_rng(0)
    s = np.float32(1.0 / (1.0 - p))

    def torch_forward():
        F.dropout(x, p, True)

    def drop_in_forward():
        dt.dropout(x, p, True)

    def torch_both():
        x_grad.grad = None
        F.dropout(x_grad, p, True).backward(dy)

    def drop_in_both():
        x_grad.grad = None
        dt.dropout(x_grad, p, True).backward(dy)

    def drop_in_both_saved_mask():
        x_grad.grad = None
        dt.dropout(x_grad, p, True, save_mask=True).backward(dy)

    def numpy_forward():
        mask = rng.random(n, dtype=np.float32) >= p
        return x_np * mask * s, mask

    def numpy_both():
        _, mask = numpy_forward()
        return dy_np * mask * s

    stream = iter(range(1 << 62))

    def front_end_forward():
        dropout.forward(x_np, p, seed=1, stream=next(stream))

    return interleaved_medians({
        "F.dropout fwd": torch_forward,
        "drop-in fwd": drop_in_forward,
        "NumPy fwd": numpy_forward,
        "dropout.forward fwd": front_end_forward,
        "F.dropout fwd+bwd": torch_both,
        "drop-in fwd+bwd": drop_in_both,
        "drop-in fwd+bwd save_mask": drop_in_both_saved_mask,
        "NumPy fwd+bwd": numpy_both,
    }, budget)


def microseconds(seconds):
    us = seconds * 1e6
    return "%.0f" % us if us >= 100 else "%.1f" % us


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    parser.add_argument("--min-log2", type=int, default=12)
    parser.add_argument("--max-log2", type=int, default=26)
    parser.add_argument("--step", type=int, default=2, help="log2 step between sizes (default 2)")
    parser.add_argument("--p", type=float, default=0.5)
    parser.add_argument("--budget", type=float, default=0.25,
                        help="seconds of repeated calls per variant and size (default 0.25)")
    args = parser.parse_args()
    thread_counts = [int(t) for t in args.threads.split(",")]

    print("# dropout Python benchmark")
    print("machine: %s, %d logical CPUs, load average %s (before)"
          % (cpu_model(), os.cpu_count() or 0, load_average()))
    print("python %s, numpy %s, torch %s; libdropout %s, ISA %s (%s)"
          % (platform.python_version(), np.__version__, torch.__version__,
             dropout.library_version, dropout.isa(), dropout.library_path))
    print("float32, p = %g; times are medians in microseconds, Python overhead included\n" % args.p)
    print("| threads | n | F.dropout fwd | drop-in fwd | NumPy fwd | dropout.forward (NumPy) "
          "| F.dropout fwd+bwd | drop-in fwd+bwd | drop-in fwd+bwd, save_mask | NumPy fwd+bwd "
          "| F / drop-in fwd | F / drop-in fwd+bwd | F / drop-in fwd+bwd, save_mask "
          "| NumPy / drop-in fwd+bwd |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for threads in thread_counts:
        torch.set_num_threads(threads)
        dropout.set_threads(threads)
        for log2 in range(args.min_log2, args.max_log2 + 1, args.step):
            t = measure(1 << log2, args.p, args.budget)
            print("| %d | 2^%d | %s | %s | %s | %s | %s | %s | %s | %s | %.1fx | %.1fx | %.1fx | %.1fx |" % (
                threads, log2,
                microseconds(t["F.dropout fwd"]), microseconds(t["drop-in fwd"]),
                microseconds(t["NumPy fwd"]), microseconds(t["dropout.forward fwd"]),
                microseconds(t["F.dropout fwd+bwd"]), microseconds(t["drop-in fwd+bwd"]),
                microseconds(t["drop-in fwd+bwd save_mask"]), microseconds(t["NumPy fwd+bwd"]),
                t["F.dropout fwd"] / t["drop-in fwd"],
                t["F.dropout fwd+bwd"] / t["drop-in fwd+bwd"],
                t["F.dropout fwd+bwd"] / t["drop-in fwd+bwd save_mask"],
                t["NumPy fwd+bwd"] / t["drop-in fwd+bwd"]), flush=True)
    print("\nload average %s (after)" % load_average())
    return 0


if __name__ == "__main__":
    sys.exit(main())
