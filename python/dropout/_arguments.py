"""
_arguments.py — turning Python scalars into the C call's parameters.

Shared by the NumPy and PyTorch front ends so that both accept and reject
exactly the same values: p is any real number (the library decides whether it
is in [0, 1] and says so with a status, which becomes ValueError); seed,
stream and first are integers in [0, 2^64).
"""
import ctypes

from dropout import _library

_U64_LIMIT = 1 << 64


def real(value, name):
    if isinstance(value, (str, bytes)) or not hasattr(value, "__float__"):
        raise TypeError("%s must be a real number, not %s" % (name, type(value).__name__))
    return float(value)


def u64(value, name):
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError("%s must be an integer, not %s" % (name, type(value).__name__))
    value = value.__index__()
    if not 0 <= value < _U64_LIMIT:
        raise ValueError("%s must be in [0, 2^64), got %d" % (name, value))
    return value


def size(value, name):
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError("%s must be an integer, not %s" % (name, type(value).__name__))
    value = value.__index__()
    if value < 0:
        raise ValueError("%s must be >= 0, got %d" % (name, value))
    return value


def params(p, seed, stream, first, training):
    """A dropout_params for one call.  In evaluation mode seed and stream are
    not used and may be None."""
    mode = _library.TRAIN if training else _library.EVAL
    return _library.Params(real(p, "p"),
                           0 if seed is None else u64(seed, "seed"),
                           0 if stream is None else u64(stream, "stream"),
                           u64(first, "first"), mode)


def check_p(p):
    """ValueError (from the library's own validation) unless 0 <= p <= 1."""
    probe = _library.Params(real(p, "p"), 0, 0, 0, _library.TRAIN)
    # n = 0: the library validates the parameters and touches nothing.
    _library.check(_library.mask(ctypes.byref(probe), None, 0, 0), "dropout")
    return probe.p


def mask_bytes(n):
    return (n + 7) // 8
