#!/usr/bin/python3
"""
mnist_mlp.py — the MNIST MLP in PyTorch, trained twice from the same initial
weights and batch order: once with torch.nn.Dropout, once with the drop-in
dropout.torch.Dropout.  Prints test accuracy and training time per epoch for
both; the accuracies should agree within sampling noise.

    PYTHONPATH=python DROPOUT_LIBRARY_PATH=build/src \\
        /usr/bin/python3 examples/python/mnist_mlp.py --data ~/.cache/dropout-mnist

--data DIR reads the four IDX files (train-images-idx3-ubyte,
train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, or
the same names with .gz), as the C demo mnist-mlp caches them.  Without
--data it uses that cache ($XDG_CACHE_HOME/dropout-mnist or
~/.cache/dropout-mnist) if the files are there, else synthetic digits
(--synthetic forces them): ten random 28x28 prototypes plus noise.
"""
import argparse
import gzip
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

import dropout.torch

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def read_idx(path):
    """An IDX file (big-endian header: magic 0x00000803 images, 0x00000801 labels)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 8 or data[0] != 0 or data[1] != 0 or data[2] != 8 or data[3] not in (1, 3):
        raise ValueError("%s: not an IDX file of unsigned bytes" % path)
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * k:8 + 4 * k], "big") for k in range(dims))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims)
    if body.size != int(np.prod(shape)):
        raise ValueError("%s: expected %d bytes of data, found %d" % (path, int(np.prod(shape)), body.size))
    return body.reshape(shape)


def find_file(directory, name):
    for candidate in (name, name + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.exists(path):
            return path
    return None


def default_cache():
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if xdg.startswith("/"):
        return os.path.join(xdg, "dropout-mnist")
    return os.path.join(os.path.expanduser("~"), ".cache", "dropout-mnist")


def load_mnist(directory):
    paths = [find_file(directory, name) for name in FILES]
    missing = [name for name, path in zip(FILES, paths) if path is None]
    if missing:
        raise FileNotFoundError("%s lacks %s" % (directory, ", ".join(missing)))
    train_x, train_y, test_x, test_y = (read_idx(p) for p in paths)
    to_float = lambda images: torch.from_numpy(images.reshape(len(images), -1).astype(np.float32) / 255.0)
    to_long = lambda labels: torch.from_numpy(labels.astype(np.int64))
    return to_float(train_x), to_long(train_y), to_float(test_x), to_long(test_y)


def synthetic_digits(train_count, test_count, seed):
    """Ten random smooth 28x28 prototypes; each sample is a shifted, noisy copy."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((10, 7, 7))
    prototypes = np.kron(coarse, np.ones((4, 4)))  # 10 x 28 x 28, blocky strokes

    def make(count):
        labels = rng.integers(0, 10, count)
        images = prototypes[labels]
        shifts = rng.integers(-2, 3, (count, 2))
        images = np.stack([np.roll(img, tuple(s), axis=(0, 1)) for img, s in zip(images, shifts)])
        images = images + rng.normal(0.0, 0.6, images.shape)
        images = np.clip(images, 0.0, 1.0).astype(np.float32).reshape(count, -1)
        return torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64))

    return (*make(train_count), *make(test_count))


def choose_data(directory, synthetic, train_count, test_count, seed):
    """(data, description): the IDX files in directory; without one, the
    mnist-mlp cache if it holds them; else (or with synthetic) synthetic digits.
    Raises OSError or ValueError for unreadable files."""
    if directory is None and not synthetic:
        cache = default_cache()
        if all(find_file(cache, name) for name in FILES):
            directory = cache
    if directory is not None:
        return load_mnist(directory), "MNIST from %s" % directory
    return synthetic_digits(train_count, test_count, seed), "synthetic digits (no MNIST files given)"


def make_model(dropout_layer, hidden, p, init_seed):
    torch.manual_seed(init_seed)  # same initial weights for both variants
    return nn.Sequential(nn.Linear(784, hidden), nn.ReLU(), dropout_layer(p),
                         nn.Linear(hidden, hidden), nn.ReLU(), dropout_layer(p),
                         nn.Linear(hidden, 10))


def accuracy(model, images, labels):
    model.eval()
    with torch.no_grad():
        correct = sum(int((model(images[k:k + 2000]).argmax(1) == labels[k:k + 2000]).sum())
                      for k in range(0, len(images), 2000))
    return correct / len(images)


def train(name, model, data, args):
    train_x, train_y, test_x, test_y = data
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    order = torch.Generator().manual_seed(args.seed)  # same batches for both variants
    torch.manual_seed(args.seed + 1)                  # same dropout seeding rule for both
    results = []
    for epoch in range(1, args.epochs + 1):
        model.train()
        start = time.perf_counter()
        permutation = torch.randperm(len(train_x), generator=order)
        for k in range(0, len(train_x), args.batch):
            batch = permutation[k:k + args.batch]
            loss = nn.functional.cross_entropy(model(train_x[batch]), train_y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        seconds = time.perf_counter() - start
        acc = accuracy(model, test_x, test_y)
        results.append(acc)
        print("%-22s epoch %d  loss %.4f  test accuracy %.2f%%  (%.2f s)"
              % (name, epoch, loss.item(), 100 * acc, seconds), flush=True)
    return results[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", metavar="DIR", help="directory of the four MNIST IDX files")
    parser.add_argument("--synthetic", action="store_true", help="use synthetic digits")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--p", type=float, default=0.5, help="drop probability of both layers")
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--train-limit", type=int, default=0, metavar="N",
                        help="train on the first N images only (0: all)")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch and libdropout threads (0: leave the defaults)")
    args = parser.parse_args()

    if args.threads > 0:
        torch.set_num_threads(args.threads)
        dropout.set_threads(args.threads)

    try:
        data, source = choose_data(args.data, args.synthetic, 12000, 2000, args.seed)
    except (OSError, ValueError) as error:
        print("mnist_mlp.py: %s" % error, file=sys.stderr)
        return 1
    if args.train_limit > 0:
        data = (data[0][:args.train_limit], data[1][:args.train_limit], data[2], data[3])
    print("data: %s: %d training, %d test images; p = %g, hidden %d, %d epochs; libdropout %s (%s)"
          % (source, len(data[0]), len(data[2]), args.p, args.hidden, args.epochs,
             dropout.library_version, dropout.isa()))

    reference = train("torch.nn.Dropout", make_model(nn.Dropout, args.hidden, args.p, args.seed), data, args)
    drop_in = train("dropout.torch.Dropout", make_model(dropout.torch.Dropout, args.hidden, args.p, args.seed),
                    data, args)
    # Two accuracies on the same n test images, each with binomial standard
    # error sqrt(a (1 - a) / n); their difference has about sqrt(2) times that.
    n = len(data[2])
    a = (reference + drop_in) / 2
    noise = math.sqrt(2 * a * (1 - a) / n)
    print("final test accuracy: torch.nn.Dropout %.2f%%, dropout.torch.Dropout %.2f%%, "
          "difference %.2f points (one sigma of sampling noise: %.2f points)"
          % (100 * reference, 100 * drop_in, 100 * (drop_in - reference), 100 * noise))
    return 0


if __name__ == "__main__":
    sys.exit(main())
