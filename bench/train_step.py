#!/usr/bin/python3
"""
train_step.py — one training step (forward, loss, backward, SGD update) of
two models with torch.nn's dropout modules and with dropout.torch's drop-ins
swapped in by dropout.torch.replace, in one process, on the same data:

  MobileNetV3-small (torchvision 0.14, no weights; one nn.Dropout(0.2) in the
  classifier), batch 16 of 3x224x224 by default, 1000 classes
  MNIST MLP (examples/python/mnist_mlp.py: 784-512-512-10, nn.Dropout(0.5)
  after both hidden layers), batch 128

Both variants start from the same weights.  Every time is the median of
`--steps` steps, taken in `--rounds` interleaved rounds (each round times a
block of steps of nn, then of the drop-in, after one untimed step), so the
machine's drift falls on both; each round's ratio is nn's median over the
drop-in's; the table gives the medians and the range of the per-round ratios.

    PYTHONPATH=python DROPOUT_LIBRARY_PATH=build/src /usr/bin/python3 bench/train_step.py
"""
import argparse
import copy
import os
import platform
import statistics
import sys
import time

import torch

import dropout
import dropout.torch as dt


def mobilenet(batch, size):
    import torchvision.models as models
    torch.manual_seed(0)
    model = models.mobilenet_v3_small(weights=None)
    gen = torch.Generator().manual_seed(1)
    return model, torch.randn(batch, 3, size, size, generator=gen), torch.randint(1000, (batch,), generator=gen)


def mnist_mlp(batch):
    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(512, 512), nn.ReLU(), nn.Dropout(0.5), nn.Linear(512, 10))
    gen = torch.Generator().manual_seed(1)
    return model, torch.rand(batch, 784, generator=gen), torch.randint(10, (batch,), generator=gen)


def step_timer(model, x, target):
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    model.train()

    def step():
        start = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(x), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return time.perf_counter() - start
    return step


def measure(name, model, x, target, rounds, steps):
    swapped = copy.deepcopy(model)
    replaced = dt.replace(swapped)
    variants = {"torch.nn": step_timer(model, x, target), "drop-in": step_timer(swapped, x, target)}
    times = {k: [] for k in variants}
    ratios = []
    for _ in range(rounds):
        medians = {}
        for label, step in variants.items():
            step()  # untimed
            medians[label] = statistics.median(step() for _ in range(steps))
            times[label].append(medians[label])
        ratios.append(medians["torch.nn"] / medians["drop-in"])
    nn_ms = statistics.median(times["torch.nn"]) * 1e3
    ours_ms = statistics.median(times["drop-in"]) * 1e3
    print("| %s | %d | %.2f | %.2f | %.3f | %.3f-%.3f |" % (
        name, replaced, nn_ms, ours_ms, statistics.median(ratios), min(ratios), max(ratios)))
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch", type=int, default=16, help="MobileNetV3-small batch")
    parser.add_argument("--size", type=int, default=224, help="MobileNetV3-small image size")
    parser.add_argument("--mlp-batch", type=int, default=128)
    parser.add_argument("--models", nargs="+", choices=["mobilenet", "mlp"],
                        default=["mobilenet", "mlp"])
    args = parser.parse_args()
    print("# %s, Python %s, torch %s, libdropout %s (%s), %d CPUs, load %s" % (
        platform.machine(), platform.python_version(), torch.__version__,
        dropout.library_version, dropout.isa(), os.cpu_count(),
        " ".join("%.2f" % v for v in os.getloadavg())))
    print("| threads: model | dropout modules swapped | torch.nn step (ms) | drop-in step (ms) "
          "| nn / drop-in (median) | range over rounds |")
    print("|---|---:|---:|---:|---:|---:|")
    for threads in args.threads:
        torch.set_num_threads(threads)
        dropout.set_threads(threads)
        if "mobilenet" in args.models:
            measure("%d: MobileNetV3-small, %dx3x%dx%d" % (threads, args.batch, args.size, args.size),
                    *mobilenet(args.batch, args.size), args.rounds, args.steps)
        if "mlp" in args.models:
            measure("%d: MNIST MLP, batch %d" % (threads, args.mlp_batch),
                    *mnist_mlp(args.mlp_batch), args.rounds, args.steps)


if __name__ == "__main__":
    main()
