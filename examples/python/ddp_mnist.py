#!/usr/bin/python3
"""
ddp_mnist.py — the MNIST MLP trained with torch.nn.parallel.DistributedDataParallel
on the gloo backend, N processes on this machine (torch.multiprocessing.spawn),
with dropout.torch.Dropout masks keyed by the global sample index.

    PYTHONPATH=python DROPOUT_LIBRARY_PATH=build/src \\
        /usr/bin/python3 examples/python/ddp_mnist.py --world 2 --data ~/.cache/dropout-mnist

Every global minibatch of --batch rows is cut into --world equal parts; rank r
trains on rows [r B/N, (r+1) B/N) of it.  Each dropout site is a
dropout.torch.Dropout(p, seed=S_l): every training forward takes the next
stream (one per step, the same on every rank), and before each forward the
rank sets first = (global index of its first row) * (the layer's width), so
element (i, j) of its activations is mask element (row0 + i) * width + j of
the whole batch.  The masks are the rows of the single-process run's masks:
no communication, no RNG state per rank, and nothing depends on N.

--check runs the training twice, with 1 process and with --world processes,
records every mask each rank applied (checked against the layer's output:
y == x * keep / (1 - p) exactly) and every step's loss, and compares: the
masks must be exactly the rows of the 1-process masks, the loss curves must
agree within float-reduction noise (--loss-tolerance, relative).  The
weights are not bitwise the same: DDP averages the ranks' gradients with
gloo's all-reduce, whose summation order is gloo's, not ours, and one
process sums the whole batch inside one matrix product.  mnist-mlp-mpi (C)
fixes the reduction order and is bitwise; see docs/scale.md.

Data: --data DIR (the four IDX files, as mnist-mlp caches them), else that
cache if present, else synthetic digits (--synthetic forces them); the
loaders are those of mnist_mlp.py.
"""
import argparse
import os
import socket
import sys
import tempfile
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn

import dropout
import dropout.torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mnist_mlp import choose_data  # noqa: E402


class Net(nn.Module):
    """784-H-H-10, ReLU, dropout on the input and after each hidden layer."""

    def __init__(self, hidden, p_input, p_hidden, seed):
        super().__init__()
        torch.manual_seed(seed)  # the same initial weights on every rank and run
        self.fc = nn.ModuleList([nn.Linear(784, hidden), nn.Linear(hidden, hidden),
                                 nn.Linear(hidden, 10)])
        # One key per site; streams 0, 1, 2, ... count the training steps.
        self.drops = nn.ModuleList([dropout.torch.Dropout(p, seed=seed * 1000 + l)
                                    for l, p in enumerate((p_input, p_hidden, p_hidden))])
        self.widths = (784, hidden, hidden)
        self.record = None  # list of (x, y) per site while checking

    def key_rows(self, row0):
        """Mask index of element (i, j) of a site = (row0 + i) * width + j."""
        for drop, width in zip(self.drops, self.widths):
            drop.first = row0 * width

    def forward(self, x):
        h = x
        for l in range(3):
            d = self.drops[l](h)
            if self.record is not None:
                self.record.append((h.detach(), d.detach()))
            h = self.fc[l](d)
            if l < 2:
                h = torch.relu(h)
        return h


def applied_keep(drop, x, y):
    """The keep mask the layer's last forward used, regenerated from
    (last_seed, last_stream, first) and checked against what it did."""
    n = x.numel()
    packed = dropout.mask(n, drop.p, seed=drop.last_seed, stream=drop.last_stream, first=drop.first)
    keep = torch.from_numpy(np.unpackbits(packed, bitorder="little")[:n].astype(bool)).reshape(x.shape)
    scale = torch.tensor(1.0 / (1.0 - drop.p), dtype=x.dtype)
    expected = torch.where(keep, x * scale, torch.zeros((), dtype=x.dtype))
    if not torch.equal(y, expected):
        raise AssertionError("the layer's output is not x * keep / (1 - p) for the regenerated mask")
    return keep.numpy()


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(rank, world, port, args, data, out_dir):
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(args.threads)
    dropout.set_threads(args.threads)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    train_x, train_y, test_x, test_y = data
    net = Net(args.hidden, args.p_input, args.p_hidden, args.seed)
    model = nn.parallel.DistributedDataParallel(net)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    local = args.batch // world
    steps = len(train_x) // args.batch  # whole batches only: every rank the same rows
    losses, masks, seconds = [], [[] for _ in range(3)], []
    for epoch in range(args.epochs):
        model.train()
        start = time.perf_counter()
        order = torch.randperm(len(train_x), generator=torch.Generator().manual_seed(args.seed * 7919 + epoch))
        for step in range(steps):
            row0 = rank * local  # global row of this rank's first sample
            rows = order[step * args.batch + row0:step * args.batch + row0 + local]
            net.key_rows(row0)
            net.record = [] if out_dir is not None else None
            loss = nn.functional.cross_entropy(model(train_x[rows]), train_y[rows])
            optimizer.zero_grad()
            loss.backward()  # DDP: gloo all-reduce, gradients averaged over ranks
            optimizer.step()
            total = loss.detach().clone() * local
            dist.all_reduce(total)  # the whole batch's mean loss, for the curve
            losses.append(float(total) / args.batch)
            if net.record is not None:
                for l, (x, y) in enumerate(net.record):
                    masks[l].append(applied_keep(net.drops[l], x, y))
        seconds.append(time.perf_counter() - start)
        if rank == 0:
            model.eval()
            with torch.no_grad():
                correct = int((model(test_x).argmax(1) == test_y).sum())
            model.train()
            print("ddp_mnist: %d process(es), epoch %d: loss %.4f, test error %.2f%%, %.2f s"
                  % (world, epoch + 1, losses[-1], 100.0 * (1 - correct / len(test_x)), seconds[-1]),
                  flush=True)
    if out_dir is not None:
        np.savez(os.path.join(out_dir, "rank%d.npz" % rank), losses=np.array(losses),
                 seconds=np.array(seconds), **{"mask%d" % l: np.stack(m) for l, m in enumerate(masks)})
    dist.destroy_process_group()


def run(world, args, data, out_dir=None):
    if args.batch % world != 0:
        raise SystemExit("ddp_mnist.py: --batch %d is not a multiple of --world %d" % (args.batch, world))
    mp.spawn(worker, args=(world, free_port(), args, data, out_dir), nprocs=world, join=True)


def check(args, data):
    """1 process against --world processes: masks exactly, losses within noise."""
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as many:
        run(1, args, data, one)
        run(args.world, args, data, many)
        single = np.load(os.path.join(one, "rank0.npz"))
        ranks = [np.load(os.path.join(many, "rank%d.npz" % r)) for r in range(args.world)]
        failures = 0
        for l in range(3):
            whole = single["mask%d" % l]  # steps x batch x width
            parts = np.concatenate([r["mask%d" % l] for r in ranks], axis=1)
            same = whole.shape == parts.shape and np.array_equal(whole, parts)
            kept = whole.mean() if whole.size else float("nan")
            print("ddp_mnist --check: dropout site %d: %d steps x %d rows x %d: rank masks %s "
                  "the rows of the 1-process masks (kept %.3f)"
                  % (l, whole.shape[0], whole.shape[1], whole.shape[2],
                     "ARE exactly" if same else "DIFFER from", kept))
            failures += not same
        a, b = single["losses"], ranks[0]["losses"]
        rel = np.abs(a - b) / np.maximum(np.abs(a), 1e-12)
        worst = float(rel.max()) if rel.size else float("nan")
        ok = a.shape == b.shape and worst <= args.loss_tolerance
        print("ddp_mnist --check: %d losses, largest relative difference %.3g (tolerance %g): %s"
              % (len(a), worst, args.loss_tolerance, "agree" if ok else "DISAGREE"))
        print("ddp_mnist --check: (the weights differ in the last bits: gloo's all-reduce "
              "order is gloo's, not ours)")
        failures += not ok
        for name, r in (("1 process", single), ("%d processes" % args.world, ranks[0])):
            print("ddp_mnist --check: %s: %s s per epoch" % (name, ", ".join("%.2f" % s for s in r["seconds"])))
        return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", metavar="DIR", help="directory of the four MNIST IDX files")
    parser.add_argument("--synthetic", action="store_true", help="use synthetic digits")
    parser.add_argument("--synthetic-size", type=int, default=12000, metavar="N",
                        help="training images of the synthetic set (test: N / 6)")
    parser.add_argument("--world", type=int, default=2, help="processes (gloo ranks)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=100, help="global minibatch (all ranks)")
    parser.add_argument("--hidden", type=int, default=800)
    parser.add_argument("--p-input", type=float, default=0.2)
    parser.add_argument("--p-hidden", type=float, default=0.5)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--train-size", type=int, default=0, metavar="N",
                        help="train on the first N images only (0: all)")
    parser.add_argument("--threads", type=int, default=1, help="torch and libdropout threads per process")
    parser.add_argument("--check", action="store_true",
                        help="train with 1 and with --world processes and compare masks and losses")
    parser.add_argument("--loss-tolerance", type=float, default=1e-4)
    args = parser.parse_args()
    if args.world < 1 or args.threads < 1 or args.batch < 1:
        parser.error("--world, --threads and --batch must be at least 1")

    try:
        data, source = choose_data(args.data, args.synthetic, args.synthetic_size,
                                   max(args.synthetic_size // 6, 1), args.seed)
    except (OSError, ValueError) as error:
        print("ddp_mnist.py: %s" % error, file=sys.stderr)
        return 1
    if args.train_size > 0:
        data = (data[0][:args.train_size], data[1][:args.train_size], data[2], data[3])
    print("ddp_mnist: %s: %d training, %d test images; 784-%d-%d-10, p %g/%g, batch %d over %d "
          "process(es), gloo; libdropout %s (%s)"
          % (source, len(data[0]), len(data[2]), args.hidden, args.hidden, args.p_input,
             args.p_hidden, args.batch, args.world, dropout.library_version, dropout.isa()), flush=True)
    if args.check:
        return check(args, data)
    run(args.world, args, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
