"""
dropout.torch — a drop-in for torch.nn.Dropout and F.dropout on CPU tensors.

    import dropout.torch
    layer = dropout.torch.Dropout(0.5)          # instead of torch.nn.Dropout(0.5)
    y = dropout.torch.dropout(x, 0.5, training=True)

What differs from torch.nn.Dropout is what is kept for backward and where the
random bits come from:
  * backward keeps two integers, (seed, stream), and regenerates the mask from
    them; no float or bool mask is stored between forward and backward
    (save_mask=True keeps the packed 1-bit mask instead, n / 8 bytes, and
    backward then reads it rather than recomputing it);
  * the mask is mask stream v1 of docs/SPEC.md: element k of the flattened
    (row-major) tensor is dropped or kept by (seed, stream, k, p) alone, the
    same for every thread count, CPU and dtype.

How seed and stream are chosen (for reproducibility under torch.manual_seed):
  * dropout(x, p, training, seed=None): seed = torch.initial_seed(), and each
    training call draws stream = one torch.randint(-2**63, 2**63 - 1, ()) from
    torch's default CPU generator, taken modulo 2**64.  After
    torch.manual_seed(s) the same sequence of calls gives the same masks (and
    the default generator advances by one draw per call).
  * dropout(x, p, training, seed=S): seed S, stream 0 unless stream= is given;
    nothing is drawn from torch.  The same call gives the same mask.
  * Dropout(p) (seed=None): every training forward draws as the functional form.
  * Dropout(p, seed=S): like the C module object dropout_layer: training
    forwards use streams 0, 1, 2, ... (the attribute next_stream counts them).
    Saving and restoring (seed, next_stream) reproduces the masks.
  In every case the module records last_seed and last_stream of its most
  recent training forward; dropout.mask(x.numel(), p, seed=last_seed,
  stream=last_stream) is then that forward's packed keep mask.

Tensors: CPU, float32, float64, bfloat16 or float16 (supported_dtypes() says
which the loaded library has).  Contiguous tensors are passed by pointer (zero copy); other layouts are
made contiguous first (the mask index is still the row-major element index).
"""
import ctypes

import torch  # the real PyTorch: absolute import, not this module

from dropout import _arguments, _library

_U64_MASK = (1 << 64) - 1

_SUFFIX = {torch.float32: "f32", torch.float64: "f64",
           torch.float16: "f16", torch.bfloat16: "bf16"}


def supported_dtypes():
    """The torch dtypes this build of the library accepts."""
    return tuple(d for d, s in _SUFFIX.items() if s in _library.KERNELS)


def _kernels(tensor, name):
    if not isinstance(tensor, torch.Tensor):
        raise TypeError("%s must be a torch.Tensor, not %s" % (name, type(tensor).__name__))
    if tensor.device.type != "cpu":
        raise TypeError("%s is on %s; dropout.torch handles CPU tensors only" % (name, tensor.device))
    if tensor.layout != torch.strided:
        raise TypeError("%s has layout %s; only dense (strided) tensors are supported"
                        % (name, tensor.layout))
    suffix = _SUFFIX.get(tensor.dtype)
    if suffix is None or suffix not in _library.KERNELS:
        raise TypeError("%s has dtype %s; supported: %s" % (
            name, tensor.dtype, ", ".join(str(d) for d in supported_dtypes())))
    return _library.KERNELS[suffix]


def _pointer(tensor):
    return tensor.data_ptr() if tensor.numel() else None


def _new_output(shape, dtype):
    """An uninitialized contiguous tensor for the library to write."""
    out = torch.empty(shape, dtype=dtype)
    _library.advise_huge_pages(out.data_ptr(), out.numel() * out.element_size())
    return out


def _run_forward(kernels, params, out, source, mask):
    """out = dropout of `source` (both contiguous, same size); the packed
    keep mask goes into `mask` (uint8, ceil(n / 8) bytes) unless it is None."""
    n = source.numel()
    status = kernels.forward(ctypes.byref(params), _pointer(out), _pointer(source), n,
                             None if mask is None else _pointer(mask),
                             0 if mask is None else mask.numel())
    _library.check(status, "dropout.torch.dropout")


def _forward(x, params, inplace, mask=None):
    """y = dropout(x), written into x itself if inplace.  No autograd here."""
    kernels = _kernels(x, "input")
    if x.is_contiguous():
        y = x if inplace else _new_output(x.shape, x.dtype)
        _run_forward(kernels, params, y, x, mask)
        return y
    # Any other layout: run on a row-major copy, so that the mask index of an
    # element is its row-major index whatever the strides.  The result then
    # goes back into x (in place) or into a dense tensor whose dimensions are
    # in x's memory order (channels_last stays channels_last), as PyTorch's
    # own element-wise operators lay out their outputs.
    y = x.contiguous()
    _run_forward(kernels, params, y, y, mask)
    if inplace:
        return x.copy_(y)
    out = _empty_in_memory_order(x)
    return y if out.is_contiguous() else out.copy_(y)


def _empty_in_memory_order(x):
    """A dense tensor shaped like x whose dimensions are laid out in the order
    of x's strides (largest first; broadcast dimensions outermost)."""
    order = sorted(range(x.dim()), key=lambda d: (x.stride(d) != 0, -x.stride(d), d))
    base = torch.empty([x.shape[d] for d in order], dtype=x.dtype)
    return base.permute([order.index(d) for d in range(x.dim())])


def _backward(dy, params, mask=None):
    """dx = keep ? dy * s : 0, the forward's mask regenerated from params, or
    read from its packed copy `mask`."""
    kernels = _kernels(dy, "grad_output")
    dy = dy.contiguous()  # e.g. the stride-0 gradient of a sum()
    dx = _new_output(dy.shape, dy.dtype)
    n = dy.numel()
    if mask is None:
        status = kernels.backward_regen(ctypes.byref(params), _pointer(dx), _pointer(dy), n)
    else:
        status = kernels.backward_mask(ctypes.byref(params), _pointer(dx), _pointer(dy), n,
                                       _pointer(mask), mask.numel())
    _library.check(status, "dropout.torch.dropout (backward)")
    return dx


class DropoutFunction(torch.autograd.Function):
    """Autograd node of dropout.  Saves (p, seed, stream) and, only when
    save_mask is true, the packed 1-bit mask (n / 8 bytes): backward then
    reads the mask instead of recomputing it."""

    @staticmethod
    def forward(ctx, x, p, seed, stream, first, inplace, save_mask):
        ctx.rng = (p, seed, stream, first)
        if inplace:
            ctx.mark_dirty(x)
        mask = torch.empty((x.numel() + 7) // 8, dtype=torch.uint8) if save_mask else None
        y = _forward(x, _library.Params(p, seed, stream, first, _library.TRAIN), inplace, mask)
        if save_mask:
            ctx.save_for_backward(mask)
        return y

    @staticmethod
    def backward(ctx, dy):
        p, seed, stream, first = ctx.rng
        if torch.is_grad_enabled():
            # create_graph=True: the gradient is itself dropout of dy with the
            # same mask, so build it as a differentiable node (double backward).
            dx = DropoutFunction.apply(dy.contiguous(), p, seed, stream, first, False, False)
        else:
            mask = ctx.saved_tensors[0] if ctx.saved_tensors else None
            dx = _backward(dy, _library.Params(p, seed, stream, first, _library.TRAIN), mask)
        return dx, None, None, None, None, None, None


def _drawn_stream():
    """One 64-bit draw from torch's default CPU generator."""
    return torch.randint(-(1 << 63), (1 << 63) - 1, ()).item() & _U64_MASK


# Placeholder for "draw the stream from torch", resolved only once the
# arguments are known to be good, so that a call that raises draws nothing.
_DRAW = object()


def _u64(value, name):
    if isinstance(value, bool):
        raise TypeError("%s must be an integer, not bool (pass inplace= by keyword: "
                        "dropout(x, p, training, inplace=True))" % name)
    return _arguments.u64(value, name)


def _run(x, p, training, seed, stream, inplace, save_mask, first=0):
    """The one path of the functional form and the module; returns
    (y, seed, stream) with the seed and stream actually used (None in eval)."""
    p = _arguments.check_p(p)  # ValueError for p outside [0, 1], in eval too
    first = _u64(first, "first")
    _kernels(x, "input")
    if not training:
        return x, None, None  # the identity, as F.dropout(training=False)
    if stream is _DRAW:
        stream = _drawn_stream()
    if torch.is_grad_enabled() and x.requires_grad or inplace:
        # Autograd needs the node; in-place needs it too, so that x's version
        # counter moves and a stale saved x is caught, as with nn.Dropout.
        y = DropoutFunction.apply(x, p, seed, stream, first, bool(inplace), bool(save_mask))
        if inplace:
            y = x  # apply() returns an alias of x when x needs no gradient
    else:
        y = _forward(x, _library.Params(p, seed, stream, first, _library.TRAIN), False)
    return y, seed, stream


def dropout(input, p=0.5, training=True, seed=None, *, stream=None, inplace=False,
            save_mask=False, first=0):
    """Functional dropout, like torch.nn.functional.dropout.

    seed=None: seed = torch.initial_seed() and one stream drawn from torch's
    default generator per training call.  seed given: stream defaults to 0.
    """
    if seed is None:
        seed = torch.initial_seed()
        stream = _DRAW if stream is None else _u64(stream, "stream")
    else:
        stream = 0 if stream is None else _u64(stream, "stream")
    seed = _u64(seed, "seed")
    return _run(input, p, training, seed, stream, inplace, save_mask, first)[0]


class Dropout(torch.nn.Module):
    """Drop-in for torch.nn.Dropout(p, inplace) on CPU tensors.

    seed=None: each training forward uses seed torch.initial_seed() and a
    stream drawn from torch's default generator.  seed=S: training forwards
    use (S, next_stream) and increment next_stream, like dropout_layer in C.
    """

    def __init__(self, p=0.5, inplace=False, seed=None, save_mask=False, first=0):
        super().__init__()
        self.p = _arguments.check_p(p)
        self.inplace = inplace
        self.save_mask = save_mask
        self.seed = None if seed is None else _u64(seed, "seed")
        self.first = _u64(first, "first")
        self.next_stream = 0
        self.last_seed = None
        self.last_stream = None

    def forward(self, input):
        if not self.training:
            return _run(input, self.p, False, None, None, self.inplace, self.save_mask)[0]
        if self.seed is None:
            seed, stream = torch.initial_seed(), _DRAW
        else:
            seed, stream = self.seed, self.next_stream
        y, self.last_seed, self.last_stream = _run(input, self.p, True, seed, stream, self.inplace,
                                                   self.save_mask, self.first)
        if self.seed is not None:
            self.next_stream = (self.next_stream + 1) & _U64_MASK
        return y

    def extra_repr(self):
        text = "p={}, inplace={}".format(self.p, self.inplace)
        if self.seed is not None:
            text += ", seed={}".format(self.seed)
        if self.save_mask:
            text += ", save_mask=True"
        if self.first:
            text += ", first={}".format(self.first)
        return text
