#!/usr/bin/python3
"""Side-by-side epoch time: mnist-mlp versus the same network in PyTorch.

Both train 784-800-800-10 ReLU with input dropout 0.2 and hidden dropout 0.5,
SGD with momentum 0.95, max-norm 3.5 on each unit's incoming weights,
minibatch 100, on all 60,000 MNIST training images, with the same thread
count, and both evaluate the 10,000 test images after each epoch (inside the
timed epoch).  Prints seconds per epoch for each and the ratio.

Run with Debian's interpreter (python3-torch, python3-numpy):
    /usr/bin/python3 bench/mnist_vs_torch.py --mnist-mlp build/examples/mnist/mnist-mlp
"""
import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch


def cache_dir():
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = xdg if xdg and xdg.startswith("/") else os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "dropout-mnist")


def read_idx(path, ndim):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] != b"\0\0" or data[2] != 8 or data[3] != ndim:
        sys.exit(f"{path}: not an unsigned-byte IDX file with {ndim} dimensions")
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def torch_epochs(data_dir, epochs, threads, batch):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    xtr = torch.from_numpy(read_idx(os.path.join(data_dir, "train-images-idx3-ubyte"), 3)
                           .reshape(-1, 784).astype(np.float32) / 255.0)
    ytr = torch.from_numpy(read_idx(os.path.join(data_dir, "train-labels-idx1-ubyte"), 1).astype(np.int64))
    xte = torch.from_numpy(read_idx(os.path.join(data_dir, "t10k-images-idx3-ubyte"), 3)
                           .reshape(-1, 784).astype(np.float32) / 255.0)
    yte = torch.from_numpy(read_idx(os.path.join(data_dir, "t10k-labels-idx1-ubyte"), 1).astype(np.int64))
    model = torch.nn.Sequential(
        torch.nn.Dropout(0.2), torch.nn.Linear(784, 800), torch.nn.ReLU(),
        torch.nn.Dropout(0.5), torch.nn.Linear(800, 800), torch.nn.ReLU(),
        torch.nn.Dropout(0.5), torch.nn.Linear(800, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.95)
    loss_fn = torch.nn.CrossEntropyLoss()
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    times, errors = [], []
    n = xtr.shape[0]
    for epoch in range(epochs):
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(n)
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
            with torch.no_grad():
                for lin in linears:
                    norms = lin.weight.norm(dim=1, keepdim=True)
                    lin.weight.mul_(torch.clamp(3.5 / norms, max=1.0))
        model.eval()
        with torch.no_grad():
            wrong = sum(int((model(xte[i:i + 500]).argmax(1) != yte[i:i + 500]).sum())
                        for i in range(0, xte.shape[0], 500))
        times.append(time.perf_counter() - t0)
        errors.append(100.0 * wrong / xte.shape[0])
    return times, errors


def mnist_mlp_epochs(binary, data_dir, epochs, threads, batch):
    with tempfile.TemporaryDirectory() as out:
        cmd = [binary, "--preset", "paper", "--data", data_dir, "--epochs", str(epochs),
               "--no-compare", "--mc", "", "--threads", str(threads), "--batch", str(batch),
               "--lr", "0.05", "--momentum", "0.95,0.95,0", "--out", out]
        run = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if run.returncode != 0:
            sys.exit(f"mnist-mlp failed:\n{run.stderr}")
        with open(os.path.join(out, "epochs.csv")) as f:
            rows = list(csv.DictReader(f))
    return [float(r["seconds"]) for r in rows], [float(r["test_error"]) for r in rows]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mnist-mlp", required=True, help="path to the mnist-mlp binary")
    ap.add_argument("--data", default=None, help="MNIST IDX directory (default: the mnist-mlp cache)")
    ap.add_argument("--epochs", type=int, default=3, help="epochs per side (the first is warm-up)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=100)
    args = ap.parse_args()
    if args.epochs < 2:
        sys.exit("--epochs must be at least 2 (the first epoch is not timed)")
    data_dir = args.data or cache_dir()
    if not os.path.exists(os.path.join(data_dir, "train-images-idx3-ubyte")):
        sys.exit(f"no MNIST in {data_dir}: run mnist-mlp once (it fetches the data) or pass --data")
    print(f"784-800-800-10, dropout 0.2/0.5, batch {args.batch}, {args.threads} threads, "
          f"{args.epochs} epochs each (first is warm-up); torch {torch.__version__}")
    c_times, c_err = mnist_mlp_epochs(args.mnist_mlp, data_dir, args.epochs, args.threads, args.batch)
    t_times, t_err = torch_epochs(data_dir, args.epochs, args.threads, args.batch)
    c = sum(c_times[1:]) / len(c_times[1:])
    t = sum(t_times[1:]) / len(t_times[1:])
    print(f"mnist-mlp: {c:7.2f} s/epoch  (epochs: {', '.join(f'{x:.2f}' for x in c_times)}; "
          f"test error after {args.epochs}: {c_err[-1]:.2f}%)")
    print(f"pytorch:   {t:7.2f} s/epoch  (epochs: {', '.join(f'{x:.2f}' for x in t_times)}; "
          f"test error after {args.epochs}: {t_err[-1]:.2f}%)")
    print(f"ratio (pytorch / mnist-mlp): {t / c:.2f}x")


if __name__ == "__main__":
    main()
