"""
_family.py — one entry point for every member of the dropout family, at the
level of raw pointers, shared by the NumPy and PyTorch front ends.

A call names a variant ("standard", "alpha", "gaussian"), an element type
("f32", "f64", "bf16", "f16"), the row-major shape of the tensor and the set
of its dimensions that share one mask (broadcast bits, as Flax's
broadcast_dims).  The standard variant with nothing shared goes to the
element-wise kernels (dropout_forward_<t> ...); everything else to
dropout_shaped_* with the shape reduced to what determines the mask index
(include/dropout.h, "shaped dropout").
"""
import ctypes
import operator

from dropout import _library

FORWARD = "forward"
BACKWARD_MASK = "backward_mask"
BACKWARD_REGEN = "backward_regen"

VARIANTS = tuple(_library.VARIANT)


def variant_code(variant):
    if variant not in _library.VARIANT:
        raise ValueError("variant must be one of %s, got %r"
                         % (", ".join(repr(v) for v in VARIANTS), variant))
    return _library.VARIANT[variant]


def broadcast_bits(dims, ndim, name="broadcast_dims"):
    """Bit d set for each dimension d of `dims` (an int or a sequence of
    ints, negative ones counted from the end) of an ndim-dimensional tensor."""
    if dims is None:
        return 0
    if hasattr(dims, "__index__") and not isinstance(dims, bool):
        dims = (dims,)
    try:
        dims = tuple(dims)
    except TypeError:
        raise TypeError("%s must be an int or a sequence of ints, not %s"
                        % (name, type(dims).__name__)) from None
    bits = 0
    for d in dims:
        if isinstance(d, bool) or not hasattr(d, "__index__"):
            raise TypeError("%s must hold ints, not %s" % (name, type(d).__name__))
        d = operator.index(d)
        if not -ndim <= d < ndim:
            raise ValueError("%s: dimension %d is out of range for a %d-dimensional input"
                             % (name, d, ndim))
        bits |= 1 << (d % ndim)
    return bits


def dims_from_bits(bits):
    return tuple(d for d in range(bits.bit_length()) if bits >> d & 1)


def mask_elements(shape, bits):
    """Elements of the mask: the product of the dimensions not shared."""
    count = 1
    for d, size in enumerate(shape):
        if not bits >> d & 1:
            count *= size
    return count


def mask_bytes(shape, bits):
    return (mask_elements(shape, bits) + 7) // 8


def _c_shape(shape, bits):
    """The dropout_shape giving the same mask indices: dimensions of size 1
    dropped (they change no index) and neighbours of the same kind merged."""
    merged = []
    for d, size in enumerate(shape):
        if size == 1:
            continue
        shared = bool(bits >> d & 1)
        if merged and merged[-1][1] == shared:
            merged[-1][0] *= size
        else:
            merged.append([size, shared])
    if not merged:
        merged = [[1, False]]
    if len(merged) > _library.MAX_DIMS:
        raise ValueError("broadcast_dims: the shared and unshared dimensions alternate %d times; "
                         "the library takes at most %d runs" % (len(merged), _library.MAX_DIMS))
    c_shape = _library.Shape()
    c_shape.ndim = len(merged)
    for i, (size, shared) in enumerate(merged):
        c_shape.dims[i] = size
        if shared:
            c_shape.broadcast |= 1 << i
    return c_shape


def _elementwise(variant, shape, bits):
    """True when the call is plain element-wise dropout."""
    return variant == "standard" and not any(
        bits >> d & 1 and size != 1 for d, size in enumerate(shape))


def run(direction, params, variant, suffix, shape, bits, out, source, mask, mask_size, what):
    """out = the family op of `source` (pointers; None for empty), the packed
    mask written (FORWARD) or read (BACKWARD_MASK) at `mask` if not None."""
    code = variant_code(variant)
    n = 1
    for size in shape:
        n *= size
    if _elementwise(variant, shape, bits) and suffix in _library.KERNELS:
        kernels = _library.KERNELS[suffix]
        if direction == FORWARD:
            status = kernels.forward(ctypes.byref(params), out, source, n, mask, mask_size)
        elif direction == BACKWARD_MASK:
            status = kernels.backward_mask(ctypes.byref(params), out, source, n, mask, mask_size)
        else:
            status = kernels.backward_regen(ctypes.byref(params), out, source, n)
        _library.check(status, what)
        return
    if _library.shaped_forward is None:
        raise TypeError("%s: the loaded libdropout has no dropout_shaped_* (too old)" % what)
    if n == 0:
        return  # nothing to compute; the library would validate and return
    c_shape = _c_shape(shape, bits)
    dtype = _library.DTYPE[suffix]
    if direction == FORWARD:
        status = _library.shaped_forward(ctypes.byref(params), code, dtype, ctypes.byref(c_shape),
                                         out, source, mask, mask_size)
    elif direction == BACKWARD_MASK:
        status = _library.shaped_backward_mask(ctypes.byref(params), code, dtype,
                                               ctypes.byref(c_shape), out, source, mask, mask_size)
    else:
        status = _library.shaped_backward_regen(ctypes.byref(params), code, dtype,
                                                ctypes.byref(c_shape), out, source)
    _library.check(status, what)


def run_residual_forward(params, suffix, y, x, bias, residual, n, d, mask, mask_size, what):
    """y = residual + dropout(x + bias), bias of d elements along rows of d."""
    status = _library.bias_residual_forward(ctypes.byref(params), _library.DTYPE[suffix], y, x,
                                            bias, residual, n, d, mask, mask_size)
    _library.check(status, what)


def run_residual_backward(params, suffix, dx, dbias, dy, n, d, mask, mask_size, what):
    """dx = dropout backward of dy, dbias = column sums of dx (rows in order,
    in double); dresidual is dy itself and not written."""
    if mask is None:
        status = _library.bias_residual_backward_regen(ctypes.byref(params), _library.DTYPE[suffix],
                                                       dx, dbias, None, dy, n, d)
    else:
        status = _library.bias_residual_backward_mask(ctypes.byref(params), _library.DTYPE[suffix],
                                                      dx, dbias, None, dy, n, d, mask, mask_size)
    _library.check(status, what)
