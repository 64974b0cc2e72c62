"""
dropout — inverted dropout with an exactly specified mask stream, for NumPy
and PyTorch, over the C library libdropout (through ctypes).

    import numpy as np, dropout
    x = np.ones(1000, np.float32)
    y, mask = dropout.forward(x, 0.5, seed=1234, stream=0, return_mask=True)
    dx = dropout.backward(np.ones_like(x), 0.5, seed=1234, stream=0)   # same mask
    bits = np.unpackbits(mask, count=x.size, bitorder="little")

    import torch, dropout.torch
    layer = dropout.torch.Dropout(0.5)      # drop-in for torch.nn.Dropout

The mask is a pure function of (seed, stream, element index, p): the same on
every CPU, thread count and dtype (docs/SPEC.md).  See docs/python.md.
"""
import importlib as _importlib

from dropout._library import DropoutError
from dropout._library import path as library_path
from dropout import _library
from dropout._ndarray import (backward, bias_dropout_residual, bias_dropout_residual_backward,
                              forward, keep, mask, supported_dtypes)

__version__ = "0.2.0"
#: The version of the C library actually loaded.
library_version = _library.version_string().decode()

__all__ = ["forward", "backward", "mask", "keep", "bias_dropout_residual",
           "bias_dropout_residual_backward", "supported_dtypes", "isa", "set_isa",
           "threads", "set_threads", "DropoutError", "library_path", "library_version"]


def isa():
    """Name of the kernel variant in use ("scalar", "avx2", "avx512", ...)."""
    return _library.isa().decode()


def set_isa(name=None):
    """Force a kernel variant by name; None or "auto" picks the best one.
    ValueError if the name is unknown or this CPU lacks it."""
    from dropout._arguments import c_string
    encoded = None if name is None else c_string(name, "name")
    _library.check(_library.set_isa(encoded), "dropout.set_isa", "name %r" % (name,))


def threads():
    """Threads the library uses for large inputs."""
    return int(_library.threads())


def set_threads(count):
    """Threads for large inputs; 0 means all cores.  Results do not depend on it."""
    from dropout._arguments import c_unsigned
    _library.check(_library.set_threads(c_unsigned(count, "count")), "dropout.set_threads")


def __getattr__(name):
    # `dropout.torch` loads PyTorch, which takes a second: only on first use.
    if name == "torch":
        return _importlib.import_module("dropout.torch")
    raise AttributeError("module 'dropout' has no attribute %r" % name)
