"""
dropout.torch.functional — the dropout family as functions, drop-ins for
torch.nn.functional's (and torchvision.ops.stochastic_depth) on CPU tensors.

    import dropout.torch.functional as DF
    y = DF.dropout2d(x, 0.2, training=True)          # was F.dropout2d
    y = DF.dropout(x, 0.1, True, first=k * x[0].numel())   # a shard of a batch

Every function has torch's positional parameters and, keyword-only:
  seed=None     None: seed torch.initial_seed() and one stream drawn from
                torch's default CPU generator per training call; an integer:
                that seed, and stream= (default 0), nothing drawn
  stream=None   the stream of a seeded call
  first=0       the flat mask index of element 0 (a shard of a larger tensor)
  broadcast_dims=None  dimensions sharing one mask, in addition to the ones
                the function shares anyway (channel dropout: the spatial
                dimensions; stochastic depth: all but the batch, or all)
  save_mask=False  keep the packed 1-bit mask for backward instead of
                regenerating it (not for gaussian_dropout: no mask exists)

The mask of a call is mask stream v1 (docs/SPEC.md) at (seed, stream,
first + index, p), index counted in the mask's shape (the input's shape with
the shared dimensions collapsed to 1).  docs/python.md has the details.
"""
import collections
import warnings

import torch  # the real PyTorch: absolute import

from dropout import _arguments, _family, _library
from dropout.torch import _recompute

_U64_MASK = (1 << 64) - 1

_SUFFIX = {torch.float32: "f32", torch.float64: "f64",
           torch.float16: "f16", torch.bfloat16: "bf16"}

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
           "feature_alpha_dropout", "stochastic_depth", "gaussian_dropout",
           "bias_dropout_residual", "supported_dtypes"]


def supported_dtypes():
    """The torch dtypes this build of the library accepts."""
    return tuple(d for d, s in _SUFFIX.items() if s in _library.KERNELS)


def _suffix(tensor, name):
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
    return suffix


def _pointer(tensor):
    return tensor.data_ptr() if tensor.numel() else None


def _new_output(shape, dtype):
    """An uninitialized contiguous tensor for the library to write."""
    out = torch.empty(shape, dtype=dtype)
    _library.advise_huge_pages(out.data_ptr(), out.numel() * out.element_size())
    return out


class _Spec(collections.namedtuple("_Spec", "p variant seed stream first bits")):
    """Everything that defines one call's mask: plain numbers, which is all
    that backward keeps (besides the packed mask with save_mask)."""

    def params(self):
        return _library.Params(self.p, self.seed, self.stream, self.first, _library.TRAIN)


def _mask_buffer(spec, shape):
    return torch.empty(_family.mask_bytes(shape, spec.bits), dtype=torch.uint8)


def _kernel(direction, spec, out, source, mask, what):
    _family.run(direction, spec.params(), spec.variant, _suffix(source, "input"),
                tuple(source.shape), spec.bits, _pointer(out), _pointer(source),
                None if mask is None else _pointer(mask), 0 if mask is None else mask.numel(),
                what)


def _empty_in_memory_order(x):
    """A dense tensor shaped like x whose dimensions are laid out in the order
    of x's strides (largest first; broadcast dimensions outermost)."""
    order = sorted(range(x.dim()), key=lambda d: (x.stride(d) != 0, -x.stride(d), d))
    base = torch.empty([x.shape[d] for d in order], dtype=x.dtype)
    return base.permute([order.index(d) for d in range(x.dim())])


def _forward(x, spec, inplace, mask, what):
    """y = the op on x, written into x itself if inplace.  No autograd here."""
    if x.is_contiguous():
        y = x if inplace else _new_output(x.shape, x.dtype)
        _kernel(_family.FORWARD, spec, y, x, mask, what)
        return y
    # Any other layout: run on a row-major copy, so that the mask index of an
    # element is its row-major index whatever the strides.  The result then
    # goes back into x (in place) or into a dense tensor whose dimensions are
    # in x's memory order (channels_last stays channels_last), as PyTorch's
    # own element-wise operators lay out their outputs.
    y = x.contiguous()
    _kernel(_family.FORWARD, spec, y, y, mask, what)
    if inplace:
        return x.copy_(y)
    out = _empty_in_memory_order(x)
    return y if out.is_contiguous() else out.copy_(y)


def _backward(dy, spec, mask, what):
    """dx from dy: the forward's mask (or noise) regenerated from spec, or
    read from its packed copy `mask`."""
    dy = dy.contiguous()  # e.g. the stride-0 gradient of a sum()
    dx = _new_output(dy.shape, dy.dtype)
    _kernel(_family.BACKWARD_REGEN if mask is None else _family.BACKWARD_MASK,
            spec, dx, dy, mask, what + " (backward)")
    return dx


class DropoutFunction(torch.autograd.Function):
    """Autograd node of every member but the fused op.  Saves the _Spec (p,
    variant, seed, stream, first, broadcast bits) and, only with save_mask,
    the packed 1-bit mask: backward then reads it instead of recomputing."""

    @staticmethod
    def forward(ctx, x, spec, inplace, save_mask):
        ctx.spec = spec
        if inplace:
            ctx.mark_dirty(x)
        mask = _mask_buffer(spec, x.shape) if save_mask else None
        y = _forward(x, spec, inplace, mask, "dropout.torch")
        if save_mask:
            ctx.save_for_backward(mask)
        return y

    @staticmethod
    def backward(ctx, dy):
        spec = ctx.spec
        mask = ctx.saved_tensors[0] if ctx.saved_tensors else None
        if not torch.is_grad_enabled():
            dx = _backward(dy, spec, mask, "dropout.torch")
        elif spec.variant == "standard":
            # create_graph=True: the gradient of standard dropout is the same
            # dropout of dy, so build it as a differentiable node.
            dx = DropoutFunction.apply(dy.contiguous(), spec, False, False)
        else:
            # alpha / gaussian: dx = dy * m with m the derivative (keep ? a : 0,
            # or the noise), a linear function of dy for double backward.
            dx = dy * _backward(torch.ones_like(dy), spec, mask, "dropout.torch")
        return dx, None, None, None


class BiasDropoutResidualFunction(torch.autograd.Function):
    """Autograd node of residual + dropout(x + bias), the fused C op."""

    @staticmethod
    def forward(ctx, x, bias, residual, spec, save_mask):
        ctx.spec = spec
        suffix = _suffix(x, "input")
        x, bias, residual = x.contiguous(), bias.contiguous(), residual.contiguous()
        n, d = x.numel(), bias.numel()
        y = _new_output(x.shape, x.dtype)
        mask = _mask_buffer(spec, x.shape) if save_mask else None
        if n:
            _family.run_residual_forward(spec.params(), suffix, _pointer(y), _pointer(x),
                                         _pointer(bias), _pointer(residual), n, d,
                                         None if mask is None else _pointer(mask),
                                         0 if mask is None else mask.numel(),
                                         "dropout.torch.bias_dropout_residual")
        if save_mask:
            ctx.save_for_backward(mask)
        ctx.bias_shape = bias.shape
        return y

    @staticmethod
    def backward(ctx, dy):
        spec = ctx.spec
        mask = ctx.saved_tensors[0] if ctx.saved_tensors else None
        if torch.is_grad_enabled():
            dx = DropoutFunction.apply(dy.contiguous(), spec, False, False)
            dbias = dx.reshape(-1, ctx.bias_shape.numel()).sum(0).reshape(ctx.bias_shape)
            return dx, dbias, dy, None, None
        dy = dy.contiguous()
        dx = _new_output(dy.shape, dy.dtype)
        dbias = _new_output(ctx.bias_shape, dy.dtype)
        n, d = dy.numel(), dbias.numel()
        if n:
            _family.run_residual_backward(spec.params(), _suffix(dy, "grad_output"), _pointer(dx),
                                          _pointer(dbias), _pointer(dy), n, d,
                                          None if mask is None else _pointer(mask),
                                          0 if mask is None else mask.numel(),
                                          "dropout.torch.bias_dropout_residual (backward)")
        else:
            dbias.zero_()
        return dx, dbias, dy, None, None


# ---- choosing (seed, stream) -------------------------------------------------

def _drawn_stream():
    """One 64-bit draw from torch's default CPU generator."""
    return torch.randint(-(1 << 63), (1 << 63) - 1, ()).item() & _U64_MASK


def _u64(value, name):
    if isinstance(value, bool):
        raise TypeError("%s must be an integer, not bool" % name)
    return _arguments.u64(value, name)


def _stream_source(seed, stream, owner):
    """A function giving (seed, stream) for one training call, called only
    once the call's arguments are known to be good (a call that raises draws
    nothing).  owner: the module whose counter a seeded call takes."""
    if seed is None:
        if stream is not None:
            _u64(stream, "stream")
        fixed = None if stream is None else stream
        return lambda: (torch.initial_seed(), _drawn_stream() if fixed is None else fixed)
    seed = _u64(seed, "seed")
    if owner is not None:
        def take():
            stream = owner.next_stream
            owner.next_stream = (stream + 1) & _U64_MASK
            return seed, stream
        return take
    stream = 0 if stream is None else _u64(stream, "stream")
    return lambda: (seed, stream)


def _apply(input, p, training, inplace, variant, bits, seed, stream, first, save_mask,
           owner, what):
    """The one path of every function and module but the fused op."""
    p = _arguments.check_p(p)  # ValueError for p outside [0, 1], in eval too
    _suffix(input, "input")
    first = _u64(first, "first")
    source = _stream_source(seed, stream, owner)
    if variant == "gaussian":
        if save_mask:
            raise ValueError("%s: gaussian dropout has no keep mask; save_mask must be False" % what)
        if p == 1.0:
            raise ValueError("%s: p must be < 1 for gaussian dropout (the noise variance "
                             "p / (1 - p) is infinite), got 1.0" % what)
    if not training:
        return input  # the identity, as torch.nn.functional's in evaluation
    seed, stream = _recompute.streams(source)
    if owner is not None:
        owner.last_seed, owner.last_stream = seed, stream
    spec = _Spec(p, variant, seed, stream, first, bits)
    if torch.is_grad_enabled() and input.requires_grad or inplace:
        # Autograd needs the node; in-place needs it too, so that x's version
        # counter moves and a stale saved x is caught, as with nn.Dropout.
        y = DropoutFunction.apply(input, spec, bool(inplace), bool(save_mask))
        return input if inplace else y  # apply() returns an alias in place
    return _forward(input, spec, False, None, what)


def _bits(input, dims, extra):
    _suffix(input, "input")
    return _family.broadcast_bits(dims, input.dim()) | extra


def _from(start, ndim):
    """Broadcast bits of dimensions start, start + 1, ..., ndim - 1."""
    return ((1 << ndim) - 1) & ~((1 << start) - 1) if ndim > start else 0


# ---- input-shape rules of torch.nn.functional (PyTorch 1.13) ----------------

def _feature_bits(input, what):
    """_VF.feature_dropout's rule: (N, C, ...), the mask shared from dim 2 on."""
    _suffix(input, "input")
    if input.dim() < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return _from(2, input.dim())


def _dropout1d_bits(input):
    _suffix(input, "input")
    ndim = input.dim()
    if ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {ndim}D input. "
                           "Note that dropout1d exists to provide channel-wise dropout on inputs with 1 "
                           "spatial dimension, a channel dimension, and an optional batch dimension "
                           "(i.e. 2D or 3D inputs).")
    return _from(ndim - 1, ndim)  # (C, L) unbatched: shared along L only


def _warn_unusual_ndim(spatial, ndim):
    """PyTorch 1.13's warning for dropout2d / dropout3d on an input of other
    than spatial + 1 or spatial + 2 dimensions (same text)."""
    if ndim in (spatial + 1, spatial + 2):
        return
    name = "dropout%dd" % spatial
    warnings.warn(f"{name}: Received a {ndim}-D input to {name}, which is deprecated "
                  "and will result in an error in a future release. To retain the behavior "
                  f"and silence this warning, please use dropout instead. Note that {name} "
                  f"exists to provide channel-wise dropout on inputs with {spatial} spatial dimensions, "
                  "a channel dimension, and an optional batch dimension "
                  f"(i.e. {spatial + 1}D or {spatial + 2}D inputs).", stacklevel=5)


def _dropout2d_bits(input):
    _suffix(input, "input")
    ndim = input.dim()
    _warn_unusual_ndim(2, ndim)
    if ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
                      "1D dropout behavior is desired - input is interpreted as shape (N, C, L), where C "
                      "is the channel dim. This behavior will change in a future release to interpret the "
                      "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
                      "channel-wise dropout behavior, please switch to using dropout1d instead.",
                      stacklevel=4)
    return _feature_bits(input, "dropout2d")


def _dropout3d_bits(input):
    _suffix(input, "input")
    ndim = input.dim()
    _warn_unusual_ndim(3, ndim)
    if ndim == 5:
        return _from(2, ndim)
    # Anything else is taken as unbatched (C, ...) as PyTorch does: a batch
    # dimension in front, then feature dropout.
    if ndim + 1 < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return _from(1, ndim)


# ---- the functions ----------------------------------------------------------

def dropout(input, p=0.5, training=True, inplace=False, *, seed=None, stream=None, first=0,
            broadcast_dims=None, save_mask=False):
    """torch.nn.functional.dropout: y = keep ? x / (1 - p) : 0 per element
    (per mask element with broadcast_dims)."""
    return _apply(input, p, training, inplace, "standard", _bits(input, broadcast_dims, 0),
                  seed, stream, first, save_mask, None, "dropout")


def dropout1d(input, p=0.5, training=True, inplace=False, *, seed=None, stream=None, first=0,
              broadcast_dims=None, save_mask=False):
    """torch.nn.functional.dropout1d: whole channels of (N, C, L) or (C, L)."""
    bits = _dropout1d_bits(input)
    return _apply(input, p, training, inplace, "standard", _bits(input, broadcast_dims, bits),
                  seed, stream, first, save_mask, None, "dropout1d")


def dropout2d(input, p=0.5, training=True, inplace=False, *, seed=None, stream=None, first=0,
              broadcast_dims=None, save_mask=False):
    """torch.nn.functional.dropout2d: whole channels of (N, C, H, W) (and,
    with PyTorch's warnings, of any input of 2 or more dimensions)."""
    bits = _dropout2d_bits(input)
    return _apply(input, p, training, inplace, "standard", _bits(input, broadcast_dims, bits),
                  seed, stream, first, save_mask, None, "dropout2d")


def dropout3d(input, p=0.5, training=True, inplace=False, *, seed=None, stream=None, first=0,
              broadcast_dims=None, save_mask=False):
    """torch.nn.functional.dropout3d: whole channels of (N, C, D, H, W) or
    (C, D, H, W)."""
    bits = _dropout3d_bits(input)
    return _apply(input, p, training, inplace, "standard", _bits(input, broadcast_dims, bits),
                  seed, stream, first, save_mask, None, "dropout3d")


def alpha_dropout(input, p=0.5, training=False, inplace=False, *, seed=None, stream=None,
                  first=0, broadcast_dims=None, save_mask=False):
    """torch.nn.functional.alpha_dropout (note: training defaults to False,
    as in PyTorch): keep ? a x + b : a alpha' + b, mean 0 and variance 1
    kept for standard-normal x."""
    return _apply(input, p, training, inplace, "alpha", _bits(input, broadcast_dims, 0),
                  seed, stream, first, save_mask, None, "alpha_dropout")


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False, *, seed=None,
                          stream=None, first=0, broadcast_dims=None, save_mask=False):
    """torch.nn.functional.feature_alpha_dropout: alpha dropout of whole
    channels of (N, C, ...)."""
    bits = _feature_bits(input, "feature_alpha_dropout")
    return _apply(input, p, training, inplace, "alpha", _bits(input, broadcast_dims, bits),
                  seed, stream, first, save_mask, None, "feature_alpha_dropout")


def _stochastic_depth_bits(input, mode):
    _suffix(input, "input")
    if mode not in ("batch", "row"):
        raise ValueError(f"mode has to be either 'batch' or 'row', but got {mode}")
    if mode == "batch":
        return (1 << input.dim()) - 1
    if input.dim() == 0:
        raise ValueError("stochastic_depth: mode 'row' needs an input with a batch dimension, "
                         "got a 0-dimensional one")
    return _from(1, input.dim())


def stochastic_depth(input, p, mode, training=True, *, seed=None, stream=None, first=0,
                     broadcast_dims=None, save_mask=False):
    """torchvision.ops.stochastic_depth: drop path.  mode "row" drops whole
    samples of the batch (one mask bit per sample), "batch" the whole input
    (one bit); survivors are scaled by 1 / (1 - p)."""
    bits = _stochastic_depth_bits(input, mode)
    if not training or _arguments.check_p(p) == 0.0:
        _suffix(input, "input")
        return input  # torchvision returns its input itself here
    return _apply(input, p, training, False, "standard", _bits(input, broadcast_dims, bits),
                  seed, stream, first, save_mask, None, "stochastic_depth")


def gaussian_dropout(input, p=0.5, training=True, inplace=False, *, seed=None, stream=None,
                     first=0, broadcast_dims=None):
    """Keras GaussianDropout(rate=p): y = x * (1 + sqrt(p / (1 - p)) z), z
    standard normal (docs/SPEC.md section 5); 0 <= p < 1."""
    return _apply(input, p, training, inplace, "gaussian", _bits(input, broadcast_dims, 0),
                  seed, stream, first, False, None, "gaussian_dropout")


def bias_dropout_residual(input, bias, residual, p=0.5, training=True, *, seed=None,
                          stream=None, first=0, broadcast_dims=None, save_mask=False):
    """residual + dropout(input + bias), bias of input.shape[-1] elements
    broadcast along the last dimension: the fused C op, bitwise the three
    separate steps each rounded to the dtype."""
    return _bias_dropout_residual(input, bias, residual, p, training, seed, stream, first,
                                  broadcast_dims, save_mask, None)


def _bias_dropout_residual(input, bias, residual, p, training, seed, stream, first,
                           broadcast_dims, save_mask, owner):
    what = "bias_dropout_residual"
    p = _arguments.check_p(p)
    for tensor, name in ((input, "input"), (bias, "bias"), (residual, "residual")):
        _suffix(tensor, name)
        if tensor.dtype != input.dtype:
            raise TypeError("%s: %s has dtype %s, input %s" % (what, name, tensor.dtype, input.dtype))
    if input.dim() == 0 or bias.shape != input.shape[-1:]:
        raise ValueError("%s: bias must have shape (input.shape[-1],) = %s, got %s"
                         % (what, tuple(input.shape[-1:]), tuple(bias.shape)))
    if residual.shape != input.shape:
        raise ValueError("%s: residual must have the input's shape %s, got %s"
                         % (what, tuple(input.shape), tuple(residual.shape)))
    bits = _bits(input, broadcast_dims, 0)
    if not training:
        return residual + (input + bias)
    if bits and any(bits >> d & 1 and size != 1 for d, size in enumerate(input.shape)):
        # A shared mask: the three steps, bitwise what the fused op computes.
        return residual + _apply(input + bias, p, True, False, "standard", bits, seed, stream,
                                 first, save_mask, owner, what)
    first = _u64(first, "first")
    seed, stream = _recompute.streams(_stream_source(seed, stream, owner))
    if owner is not None:
        owner.last_seed, owner.last_stream = seed, stream
    spec = _Spec(p, "standard", seed, stream, first, 0)
    return BiasDropoutResidualFunction.apply(input, bias, residual, spec, bool(save_mask))
