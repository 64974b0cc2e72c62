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
    # bool is an int to Python, but p=True is a mistake, not p = 1.0
    if isinstance(value, (str, bytes, bool)) or not hasattr(value, "__float__"):
        raise TypeError("%s must be a real number, not %s" % (name, type(value).__name__))
    try:
        return float(value)
    except OverflowError:
        # e.g. 10**400: beyond every double, so out of range like any p > 1;
        # as an infinity it reaches the library, which says so (ValueError)
        return float("inf") if value > 0 else float("-inf")


def u64(value, name):
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError("%s must be an integer, not %s" % (name, type(value).__name__))
    value = value.__index__()
    if not 0 <= value < _U64_LIMIT:
        raise ValueError("%s must be in [0, 2^64), got %d" % (name, value))
    return value


_UINT_LIMIT = 1 << (8 * ctypes.sizeof(ctypes.c_uint))


def c_unsigned(value, name):
    """An integer for a C unsigned int parameter: ValueError rather than the
    silent truncation of ctypes (2**32 + 5 would become 5)."""
    value = size(value, name)
    if value >= _UINT_LIMIT:
        raise ValueError("%s must be below 2^%d, got %d" % (name, 8 * ctypes.sizeof(ctypes.c_uint), value))
    return value


def c_string(value, name):
    """str -> bytes for a C string parameter; an embedded NUL would cut the
    string short in C ("avx2\0x" read as "avx2"), so it is a ValueError."""
    text = str(value)
    if "\0" in text:
        raise ValueError("%s must not contain a NUL character, got %r" % (name, value))
    return text.encode()


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
    _library.check(_library.mask(ctypes.byref(probe), 0, None, 0), "dropout")
    return probe.p


def mask_bytes(n):
    return (n + 7) // 8
