"""
_library.py — finding libdropout and declaring its C API for ctypes.

Everything the Python package knows about the C library is in this file: where
the shared library is looked for, the C prototypes, and how a status code
becomes a Python exception.  The front ends (_ndarray.py, torch.py) call only
what is defined here.

Where the library is looked for, in this order (the first that loads wins):
  1. every directory of DROPOUT_LIBRARY_PATH (os.pathsep separated): the
     explicit choice comes first, so a build can be tested, or a debug build
     tried, under an installed package,
  2. next to this package: dropout/libdropout.so (how an installed copy ships),
  3. the system loader: "libdropout.so.0.2", then "libdropout.so"
     (LD_LIBRARY_PATH, ld.so.cache, the default directories).
If none loads, ImportError lists every place tried and why it failed.

ctypes.CDLL releases the GIL around every foreign call, so other Python threads
run while the library works (and the library uses its own threads for large
tensors; see set_threads()).
"""
import ctypes
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))

if sys.platform == "darwin":
    _FILE_NAMES = ("libdropout.dylib",)
    _SYSTEM_NAMES = ("libdropout.0.1.dylib", "libdropout.dylib")
elif sys.platform == "win32":
    _FILE_NAMES = ("dropout.dll",)
    _SYSTEM_NAMES = ("dropout.dll",)
else:
    _FILE_NAMES = ("libdropout.so",)
    _SYSTEM_NAMES = ("libdropout.so.0.2", "libdropout.so")


def _candidates():
    """(description, path or name) in search order."""
    directories = [d for d in os.environ.get("DROPOUT_LIBRARY_PATH", "").split(os.pathsep) if d]
    if not directories:
        yield "DROPOUT_LIBRARY_PATH", None
    for directory in directories:
        for name in _FILE_NAMES:
            yield "DROPOUT_LIBRARY_PATH", os.path.abspath(os.path.join(directory, name))
    for name in _FILE_NAMES:
        yield "next to the package", os.path.join(_HERE, name)
    for name in _SYSTEM_NAMES:
        yield "system loader", name


def _load():
    tried = []
    for where, path in _candidates():
        if path is None:
            tried.append("  %s: not set" % where)
            continue
        if os.sep in path and not os.path.exists(path):
            tried.append("  %s: %s (no such file)" % (where, path))
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as error:
            tried.append("  %s: %s (%s)" % (where, path, error))
    raise ImportError(
        "dropout: cannot load the C library libdropout. Tried, in order:\n"
        + "\n".join(tried)
        + "\nBuild it (cmake --build BUILD --target dropout) and set "
        "DROPOUT_LIBRARY_PATH to the directory holding libdropout.so, copy "
        "libdropout.so next to the package, or install it system-wide.")


lib, path = _load()


class Params(ctypes.Structure):
    """struct dropout_params: which slice of which mask."""
    _fields_ = [("p", ctypes.c_double),
                ("seed", ctypes.c_uint64),
                ("stream", ctypes.c_uint64),
                ("first", ctypes.c_uint64),
                ("mode", ctypes.c_int)]


TRAIN = 0  # DROPOUT_TRAIN
EVAL = 1   # DROPOUT_EVAL

# Status codes (include/dropout.h).
OK = 0
ERROR_INVALID_P = 1
ERROR_NULL_POINTER = 2
ERROR_MASK_TOO_SMALL = 3
ERROR_INVALID_MODE = 4
ERROR_RANGE = 5
ERROR_INVALID_ARGUMENT = 6
ERROR_UNSUPPORTED_ISA = 7
ERROR_BAD_STATE = 8
ERROR_OVERLAP = 9
ERROR_INVALID_SHAPE = 10
ERROR_INVALID_DTYPE = 11

_c_params_p = ctypes.POINTER(Params)
_c_void_p = ctypes.c_void_p
_c_size = ctypes.c_size_t


def _declare(name, restype, argtypes):
    function = getattr(lib, name)
    function.restype = restype
    function.argtypes = argtypes
    return function


version_string = _declare("dropout_version_string", ctypes.c_char_p, [])
status_string = _declare("dropout_status_string", ctypes.c_char_p, [ctypes.c_int])
isa = _declare("dropout_isa", ctypes.c_char_p, [])
set_isa = _declare("dropout_set_isa", ctypes.c_int, [ctypes.c_char_p])
set_threads = _declare("dropout_set_threads", ctypes.c_int, [ctypes.c_uint])
threads = _declare("dropout_threads", ctypes.c_uint, [])
keep_threshold = _declare("dropout_keep_threshold", ctypes.c_uint64, [ctypes.c_double])
keep = _declare("dropout_keep", ctypes.c_int,
                [ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_double])
mask = _declare("dropout_mask", ctypes.c_int, [_c_params_p, _c_size, _c_void_p, _c_size])


class Kernels:
    """The three element-wise entry points of one element type."""

    def __init__(self, suffix):
        self.suffix = suffix
        # int f(params, y, x, n, mask, mask_size)
        self.forward = _declare("dropout_forward_" + suffix, ctypes.c_int,
                                [_c_params_p, _c_void_p, _c_void_p, _c_size, _c_void_p, _c_size])
        # int f(params, dx, dy, n, mask, mask_size)
        self.backward_mask = _declare("dropout_backward_mask_" + suffix, ctypes.c_int,
                                      [_c_params_p, _c_void_p, _c_void_p, _c_size, _c_void_p, _c_size])
        # int f(params, dx, dy, n)
        self.backward_regen = _declare("dropout_backward_regen_" + suffix, ctypes.c_int,
                                       [_c_params_p, _c_void_p, _c_void_p, _c_size])


def _kernels_if_present(suffix):
    """The element type's kernels, or None when this build of the library
    lacks them (bf16 and f16 arrived after f32 and f64)."""
    try:
        return Kernels(suffix)
    except AttributeError:
        return None


# Element type name -> Kernels; the front ends map their dtypes onto these.
KERNELS = {suffix: k for suffix in ("f32", "f64", "bf16", "f16")
           for k in [_kernels_if_present(suffix)] if k is not None}


# ---- the dropout family (Tier 2b of include/dropout.h) ----------------------
MAX_DIMS = 8  # DROPOUT_MAX_DIMS


class Shape(ctypes.Structure):
    """struct dropout_shape: a row-major tensor and its broadcast bits."""
    _fields_ = [("ndim", ctypes.c_size_t),
                ("dims", ctypes.c_size_t * MAX_DIMS),
                ("broadcast", ctypes.c_uint32)]


# enum dropout_dtype, by the element type names of KERNELS
DTYPE = {"f32": 0, "f64": 1, "bf16": 2, "f16": 3}
# enum dropout_variant
VARIANT = {"standard": 0, "alpha": 1, "gaussian": 2}

_c_shape_p = ctypes.POINTER(Shape)
_c_int = ctypes.c_int


def _declare_if_present(name, restype, argtypes):
    try:
        return _declare(name, restype, argtypes)
    except AttributeError:
        return None


# int f(params, variant, dtype, shape, y, x, mask, mask_size)
shaped_forward = _declare_if_present(
    "dropout_shaped_forward", _c_int,
    [_c_params_p, _c_int, _c_int, _c_shape_p, _c_void_p, _c_void_p, _c_void_p, _c_size])
# int f(params, variant, dtype, shape, dx, dy, mask, mask_size)
shaped_backward_mask = _declare_if_present(
    "dropout_shaped_backward_mask", _c_int,
    [_c_params_p, _c_int, _c_int, _c_shape_p, _c_void_p, _c_void_p, _c_void_p, _c_size])
# int f(params, variant, dtype, shape, dx, dy)
shaped_backward_regen = _declare_if_present(
    "dropout_shaped_backward_regen", _c_int,
    [_c_params_p, _c_int, _c_int, _c_shape_p, _c_void_p, _c_void_p])
# int f(params, dtype, y, x, bias, residual, n, d, mask, mask_size)
bias_residual_forward = _declare_if_present(
    "dropout_bias_residual_forward", _c_int,
    [_c_params_p, _c_int, _c_void_p, _c_void_p, _c_void_p, _c_void_p, _c_size, _c_size,
     _c_void_p, _c_size])
# int f(params, dtype, dx, dbias, dresidual, dy, n, d, mask, mask_size)
bias_residual_backward_mask = _declare_if_present(
    "dropout_bias_residual_backward_mask", _c_int,
    [_c_params_p, _c_int, _c_void_p, _c_void_p, _c_void_p, _c_void_p, _c_size, _c_size,
     _c_void_p, _c_size])
# int f(params, dtype, dx, dbias, dresidual, dy, n, d)
bias_residual_backward_regen = _declare_if_present(
    "dropout_bias_residual_backward_regen", _c_int,
    [_c_params_p, _c_int, _c_void_p, _c_void_p, _c_void_p, _c_void_p, _c_size, _c_size])


def message(status):
    return status_string(status).decode("utf-8", "replace")


class DropoutError(RuntimeError):
    """A status from the library that is not a bad argument (should not happen)."""


# Which Python exception each status becomes.  Bad values (p, sizes, ranges,
# overlapping buffers, names) are ValueError; bad arrays are caught as
# TypeError by the front ends before the library is called.
_EXCEPTIONS = {
    ERROR_INVALID_P: ValueError,
    ERROR_MASK_TOO_SMALL: ValueError,
    ERROR_INVALID_MODE: ValueError,
    ERROR_RANGE: ValueError,
    ERROR_INVALID_ARGUMENT: ValueError,
    ERROR_UNSUPPORTED_ISA: ValueError,
    ERROR_BAD_STATE: ValueError,
    ERROR_OVERLAP: ValueError,
    ERROR_INVALID_SHAPE: ValueError,
    ERROR_INVALID_DTYPE: TypeError,
    ERROR_NULL_POINTER: TypeError,
}


def check(status, what, detail=""):
    """Raise the exception for a non-zero status; `what` names the call."""
    if status == OK:
        return
    text = "%s: %s (dropout status %d)" % (what, message(status), status)
    if detail:
        text += "; " + detail
    error = _EXCEPTIONS.get(status, DropoutError)(text)
    error.status = status
    raise error


# ---- large outputs on transparent huge pages --------------------------------
# A fresh output of tens of MiB comes from mmap and is faulted in 4 KiB page by
# page as the kernel writes it: at 2^24 floats that costs several times the
# dropout itself.  Where Linux offers transparent huge pages "on request"
# (madvise mode, the common default), asking for them on the 2 MiB-aligned
# interior of a new, untouched output makes those faults 512 times rarer.
# Purely a hint: any failure is ignored and changes no result.
HUGE_PAGE = 1 << 21
HUGE_PAGE_MIN_BYTES = 1 << 22
_MADV_HUGEPAGE = 14


def _load_madvise():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        function = libc.madvise
    except (OSError, AttributeError):
        return None
    function.restype = ctypes.c_int
    function.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    return function


_madvise = _load_madvise()


def advise_huge_pages(address, size):
    """Hint that [address, address + size), not yet written, be backed by
    huge pages (only its whole 2 MiB pages; small buffers are left alone)."""
    if _madvise is None or size < HUGE_PAGE_MIN_BYTES:
        return
    begin = (address + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1)
    end = (address + size) & ~(HUGE_PAGE - 1)
    if end > begin:
        _madvise(begin, end - begin, _MADV_HUGEPAGE)
