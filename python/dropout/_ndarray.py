"""
_ndarray.py — the NumPy front end: forward, backward and mask on arrays.

Arrays are passed to the library without copies: they must be C-contiguous
NumPy arrays of a floating type the library supports (float32, float64; float16
and bfloat16 when the library has them).  Element k of the flat (row-major)
array is element first + k of the mask index space, exactly as in the C API.
"""
import ctypes

import numpy as np

from dropout import _arguments, _family, _library


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


def _suffix(array, name):
    """The library's element type name for an array the library can take."""
    if not isinstance(array, np.ndarray):
        raise TypeError("%s must be a numpy.ndarray, not %s" % (name, type(array).__name__))
    suffix = _element_type(array.dtype)
    if suffix is None or suffix not in _library.KERNELS:
        raise TypeError("%s has dtype %s; supported: %s" % (
            name, array.dtype, ", ".join(str(d) for d in supported_dtypes())))
    if not array.flags.c_contiguous:
        raise TypeError("%s must be C-contiguous (numpy.ascontiguousarray makes a copy)" % name)
    return suffix


def _pointer(array):
    return array.ctypes.data if array.size else None


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


def _variant(variant, what):
    _family.variant_code(variant)  # ValueError for an unknown name
    return variant


def forward(x, p, *, training=True, seed, stream, first=0, out=None, return_mask=False,
            broadcast_dims=None, variant="standard"):
    """Dropout of a NumPy array.

    Training, variant "standard": y = keep ? x * s : +0.0 with s = 1 / (1 - p)
    rounded to x's type; "alpha": keep ? a x + b : a alpha' + b (PyTorch's
    AlphaDropout); "gaussian": y = x * (1 + sqrt(p / (1 - p)) z) (Keras's
    GaussianDropout, p < 1, no mask).  Evaluation (training=False): y = x
    bitwise.

    broadcast_dims: dimensions (ints, negative from the end) that share one
    mask element, as Flax's: the mask has x's shape with those collapsed to 1,
    and element e's keep bit is mask stream v1 at (seed, stream, first + m, p)
    with m e's flat index in that mask shape (m = e without broadcast_dims).

    out: an array of x's dtype and shape to write y into (may be x itself).
    return_mask: also return the packed mask, ceil(m / 8) uint8 bytes for m
    mask elements, bit k % 8 of byte k // 8 = keep bit of mask element k (all
    ones in evaluation); np.unpackbits(mask, count=m, bitorder='little') gives
    the booleans.  Not for the gaussian variant.

    Returns y, or (y, mask) if return_mask.
    Raises TypeError for a bad array, ValueError for p outside [0, 1] or bad
    seed/stream/first/broadcast_dims/variant values.
    """
    suffix = _suffix(x, "x")
    variant = _variant(variant, "dropout.forward")
    bits = _family.broadcast_bits(broadcast_dims, x.ndim)
    params = _arguments.params(p, seed, stream, first, training)
    if return_mask and variant == "gaussian":
        raise ValueError("dropout.forward: the gaussian variant has no keep mask (return_mask)")
    y = _output(out, x, "out")
    m = _family.mask_elements(x.shape, bits)
    mask = np.empty(_arguments.mask_bytes(m), dtype=np.uint8) if return_mask else None
    _family.run(_family.FORWARD, params, variant, suffix, x.shape, bits, _pointer(y), _pointer(x),
                None if mask is None else _pointer(mask), 0 if mask is None else mask.size,
                "dropout.forward")
    if not return_mask:
        return y
    if not training:
        mask[:] = _all_kept(m)
    return y, mask


def backward(dy, p, *, training=True, mask=None, seed=None, stream=None, first=0, out=None,
             broadcast_dims=None, variant="standard"):
    """Gradient of forward: dx = keep ? dy * s : +0.0 (alpha: keep ? dy * a :
    +0.0; gaussian: dy * noise), dx = dy in evaluation.

    The forward's mask is either passed packed (mask=, as returned by
    forward(..., return_mask=True); first is then not used) or regenerated from
    the forward's seed, stream and first (no memory at all; the only way for
    the gaussian variant).  broadcast_dims and variant as in the forward.
    Returns dx (written into out if given; out may be dy itself).
    """
    suffix = _suffix(dy, "dy")
    variant = _variant(variant, "dropout.backward")
    bits = _family.broadcast_bits(broadcast_dims, dy.ndim)
    dx = _output(out, dy, "out")
    if not training:
        params = _arguments.params(p, None, None, first, False)
        direction = _family.BACKWARD_REGEN
    elif mask is not None:
        if seed is not None or stream is not None:
            raise TypeError("dropout.backward: give either mask or (seed, stream), not both")
        _check_mask_array(mask, "mask")
        params = _arguments.params(p, None, None, first, True)
        direction = _family.BACKWARD_MASK
    else:
        if seed is None or stream is None:
            raise TypeError("dropout.backward: training mode needs mask= or both seed= and stream=")
        params = _arguments.params(p, seed, stream, first, True)
        direction = _family.BACKWARD_REGEN
    use_mask = direction == _family.BACKWARD_MASK
    _family.run(direction, params, variant, suffix, dy.shape, bits, _pointer(dx), _pointer(dy),
                _pointer(mask) if use_mask else None, mask.size if use_mask else 0,
                "dropout.backward")
    return dx


def mask(n, p, *, seed, stream, first=0, out=None, broadcast_dims=None, variant="standard"):
    """The packed keep mask of mask elements [first, first + m) of (seed,
    stream) at drop probability p: ceil(m / 8) uint8 bytes, least significant
    bit first; unused high bits of the last byte are zero.

    n is the number of elements m, or a shape: then m is the number of mask
    elements of that shape with broadcast_dims shared (the mask a forward of
    that shape uses).  The alpha variant has the standard variant's keep bits;
    the gaussian one has none (ValueError)."""
    if _variant(variant, "dropout.mask") == "gaussian":
        raise ValueError("dropout.mask: the gaussian variant has no keep mask")
    if isinstance(n, (tuple, list)):
        shape = tuple(_arguments.size(d, "n") for d in n)
        n = _family.mask_elements(shape, _family.broadcast_bits(broadcast_dims, len(shape)))
    elif broadcast_dims is not None:
        raise TypeError("dropout.mask: broadcast_dims needs n to be a shape (a tuple)")
    n = _arguments.size(n, "n")
    params = _arguments.params(p, seed, stream, first, True)
    result = _mask_output(out, n)
    status = _library.mask(ctypes.byref(params), n, result.ctypes.data, result.size)
    _library.check(status, "dropout.mask")
    return result


def bias_dropout_residual(x, bias, residual, p, *, training=True, seed, stream, first=0,
                          out=None, return_mask=False):
    """y = residual + dropout(x + bias), one pass (the fused C op), bitwise
    the three steps each rounded to the dtype: t = x + bias, u = forward(t),
    y = residual + u.  bias has x.shape[-1] elements, broadcast along the last
    dimension; residual has x's shape and dtype.  out may be x or residual.
    Evaluation: y = residual + (x + bias).  Returns y, or (y, mask)."""
    suffix = _suffix(x, "x")
    for array, name in ((bias, "bias"), (residual, "residual")):
        if _suffix(array, name) != suffix:
            raise TypeError("dropout.bias_dropout_residual: %s has dtype %s, x %s"
                            % (name, array.dtype, x.dtype))
    if x.ndim == 0 or bias.shape != x.shape[-1:] or residual.shape != x.shape:
        raise ValueError("dropout.bias_dropout_residual: need bias of shape %s and residual of "
                         "shape %s, got %s and %s" % (x.shape[-1:], x.shape, bias.shape,
                                                      residual.shape))
    params = _arguments.params(p, seed, stream, first, training)
    y = _output(out, x, "out")
    mask = np.empty(_arguments.mask_bytes(x.size), dtype=np.uint8) if return_mask else None
    if x.size:
        _family.run_residual_forward(params, suffix, _pointer(y), _pointer(x), _pointer(bias),
                                     _pointer(residual), x.size, bias.size,
                                     None if mask is None else _pointer(mask),
                                     0 if mask is None else mask.size,
                                     "dropout.bias_dropout_residual")
    if not return_mask:
        return y
    if not training:
        mask[:] = _all_kept(x.size)
    return y, mask


def bias_dropout_residual_backward(dy, p, d, *, mask=None, seed=None, stream=None, first=0):
    """Gradients of bias_dropout_residual: (dx, dbias); dresidual is dy.
    dx = keep ? dy * s : +0.0; dbias[j] = the sum of dx over the rows (of d
    elements), in row order, accumulated in double and rounded once.  The mask
    as in backward: packed (mask=) or regenerated (seed=, stream=, first=)."""
    suffix = _suffix(dy, "dy")
    d = _arguments.size(d, "d")
    if mask is not None:
        if seed is not None or stream is not None:
            raise TypeError("dropout.bias_dropout_residual_backward: give either mask or "
                            "(seed, stream), not both")
        _check_mask_array(mask, "mask")
        params = _arguments.params(p, None, None, first, True)
    elif seed is None or stream is None:
        raise TypeError("dropout.bias_dropout_residual_backward: needs mask= or both seed= "
                        "and stream=")
    else:
        params = _arguments.params(p, seed, stream, first, True)
    dx = _output(None, dy, "dx")
    dbias = np.zeros(d, dtype=dy.dtype)
    if dy.size:
        _family.run_residual_backward(params, suffix, _pointer(dx), _pointer(dbias), _pointer(dy),
                                      dy.size, d, None if mask is None else _pointer(mask),
                                      0 if mask is None else mask.size,
                                      "dropout.bias_dropout_residual_backward")
    return dx, dbias


def keep(seed, stream, index, p):
    """The keep bit (True/False) of one element of the mask stream."""
    probability = _arguments.check_p(p)
    return bool(_library.keep(_arguments.u64(seed, "seed"), _arguments.u64(stream, "stream"),
                              _arguments.u64(index, "index"), probability))
