"""
_ndarray.py — the NumPy front end: forward, backward and mask on arrays.

Arrays are passed to the library without copies: they must be C-contiguous
NumPy arrays of a floating type the library supports (float32, float64; float16
and bfloat16 when the library has them).  Element k of the flat (row-major)
array is element first + k of the mask index space, exactly as in the C API.
"""
import ctypes

import numpy as np

from dropout import _arguments, _library


def _element_type(dtype):
    """Library suffix for a NumPy dtype, or None if unsupported."""
    if dtype == np.float32:
        return "f32"
    if dtype == np.float64:
        return "f64"
    if dtype == np.float16:
        return "f16"
    if dtype.name == "bfloat16" and dtype.itemsize == 2:  # e.g. ml_dtypes
        return "bf16"
    return None


def supported_dtypes():
    """The NumPy dtypes this build of the library accepts."""
    names = {"f32": np.float32, "f64": np.float64, "f16": np.float16}
    return tuple(np.dtype(names[s]) for s in ("f32", "f64", "f16")
                 if s in _library.KERNELS)


def _kernels(array, name):
    if not isinstance(array, np.ndarray):
        raise TypeError("%s must be a numpy.ndarray, not %s" % (name, type(array).__name__))
    suffix = _element_type(array.dtype)
    if suffix is None or suffix not in _library.KERNELS:
        raise TypeError("%s has dtype %s; supported: %s" % (
            name, array.dtype, ", ".join(str(d) for d in supported_dtypes())))
    if not array.flags.c_contiguous:
        raise TypeError("%s must be C-contiguous (numpy.ascontiguousarray makes a copy)" % name)
    return _library.KERNELS[suffix]


def _output(out, like, name):
    """`out`, checked to fit `like`, or a fresh array."""
    if out is None:
        out = np.empty_like(like, order="C")
        _library.advise_huge_pages(out.ctypes.data, out.nbytes)
        return out
    if not isinstance(out, np.ndarray):
        raise TypeError("%s must be a numpy.ndarray, not %s" % (name, type(out).__name__))
    if out.dtype != like.dtype or out.shape != like.shape:
        raise TypeError("%s must have dtype %s and shape %s, not %s and %s" % (
            name, like.dtype, like.shape, out.dtype, out.shape))
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise TypeError("%s must be C-contiguous and writeable" % name)
    return out


def _mask_output(out, n):
    if out is None:
        return np.empty(_arguments.mask_bytes(n), dtype=np.uint8)
    _check_mask_array(out, "out", writeable=True)
    return out


def _check_mask_array(mask, name, writeable=False):
    if not isinstance(mask, np.ndarray):
        raise TypeError("%s must be a numpy.ndarray of uint8, not %s" % (name, type(mask).__name__))
    if mask.dtype != np.uint8:
        raise TypeError("%s must have dtype uint8 (a packed mask), not %s" % (name, mask.dtype))
    if not mask.flags.c_contiguous or (writeable and not mask.flags.writeable):
        raise TypeError("%s must be C-contiguous%s" % (name, " and writeable" if writeable else ""))


def _all_kept(n):
    """The packed mask of evaluation mode and p == 0: every element kept."""
    bits = np.ones(n, dtype=bool)
    return np.packbits(bits, bitorder="little")


def forward(x, p, *, training=True, seed, stream, first=0, out=None, return_mask=False):
    """Inverted dropout of a NumPy array.

    Training: y = keep ? x * s : +0.0 with s = 1 / (1 - p) rounded to x's type,
    keep bit of element k = mask stream v1 at (seed, stream, first + k, p).
    Evaluation (training=False): y = x bitwise.

    out: an array of x's dtype and shape to write y into (may be x itself).
    return_mask: also return the packed mask, ceil(n / 8) uint8 bytes, bit
    k % 8 of byte k // 8 = keep bit of element k (all ones in evaluation);
    np.unpackbits(mask, count=x.size, bitorder='little') gives the booleans.

    Returns y, or (y, mask) if return_mask.
    Raises TypeError for a bad array, ValueError for p outside [0, 1] or bad
    seed/stream/first values.
    """
    kernels = _kernels(x, "x")
    params = _arguments.params(p, seed, stream, first, training)
    y = _output(out, x, "out")
    n = x.size
    mask = np.empty(_arguments.mask_bytes(n), dtype=np.uint8) if return_mask else None
    status = kernels.forward(ctypes.byref(params), y.ctypes.data, x.ctypes.data, n,
                             None if mask is None else mask.ctypes.data,
                             0 if mask is None else mask.size)
    _library.check(status, "dropout.forward")
    if not return_mask:
        return y
    if not training:
        mask[:] = _all_kept(n)
    return y, mask


def backward(dy, p, *, training=True, mask=None, seed=None, stream=None, first=0, out=None):
    """Gradient of forward: dx = keep ? dy * s : +0.0 (dx = dy in evaluation).

    The forward's mask is either passed packed (mask=, as returned by
    forward(..., return_mask=True); first is then not used) or regenerated from
    the forward's seed, stream and first (no memory at all).
    Returns dx (written into out if given; out may be dy itself).
    """
    kernels = _kernels(dy, "dy")
    dx = _output(out, dy, "out")
    n = dy.size
    if not training:
        params = _arguments.params(p, None, None, first, False)
        status = kernels.backward_regen(ctypes.byref(params), dx.ctypes.data, dy.ctypes.data, n)
    elif mask is not None:
        if seed is not None or stream is not None:
            raise TypeError("dropout.backward: give either mask or (seed, stream), not both")
        _check_mask_array(mask, "mask")
        params = _arguments.params(p, None, None, first, True)
        status = kernels.backward_mask(ctypes.byref(params), dx.ctypes.data, dy.ctypes.data, n,
                                       mask.ctypes.data, mask.size)
    else:
        if seed is None or stream is None:
            raise TypeError("dropout.backward: training mode needs mask= or both seed= and stream=")
        params = _arguments.params(p, seed, stream, first, True)
        status = kernels.backward_regen(ctypes.byref(params), dx.ctypes.data, dy.ctypes.data, n)
    _library.check(status, "dropout.backward")
    return dx


def mask(n, p, *, seed, stream, first=0, out=None):
    """The packed keep mask of elements [first, first + n) of (seed, stream) at
    drop probability p: ceil(n / 8) uint8 bytes, least significant bit first;
    unused high bits of the last byte are zero."""
    n = _arguments.size(n, "n")
    params = _arguments.params(p, seed, stream, first, True)
    result = _mask_output(out, n)
    status = _library.mask(ctypes.byref(params), result.ctypes.data, result.size, n)
    _library.check(status, "dropout.mask")
    return result


def keep(seed, stream, index, p):
    """The keep bit (True/False) of one element of the mask stream."""
    probability = _arguments.check_p(p)
    return bool(_library.keep(_arguments.u64(seed, "seed"), _arguments.u64(stream, "stream"),
                              _arguments.u64(index, "index"), probability))
