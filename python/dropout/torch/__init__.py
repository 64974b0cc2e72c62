"""
dropout.torch — drop-ins for torch.nn's dropout modules (and torchvision's
StochasticDepth) on CPU tensors, over libdropout.

    import dropout.torch as dt
    layer = dt.Dropout(0.5)                 # instead of torch.nn.Dropout(0.5)
    block = dt.Dropout2d(0.1)               # torch.nn.Dropout2d
    dt.replace(model)                       # swap every dropout of a model

Modules: Dropout, Dropout1d, Dropout2d, Dropout3d, AlphaDropout,
FeatureAlphaDropout (each a subclass of its torch.nn counterpart, with the
same constructor and input-shape rules), StochasticDepth(p, mode) as
torchvision.ops.StochasticDepth, GaussianDropout(p) as Keras's, and
BiasDropoutResidual(p): residual + dropout(x + bias), the fused C op.
Functions: dropout.torch.functional (dropout, dropout1d, ... bias_dropout_residual).

What differs from torch.nn is what is kept for backward and where the random
bits come from:
  * backward keeps a few integers (p, seed, stream, first, the broadcast bits)
    and regenerates the mask from them; save_mask=True keeps the packed 1-bit
    mask instead (mask elements / 8 bytes) and backward reads it;
  * the mask is mask stream v1 of docs/SPEC.md: mask element k is dropped or
    kept by (seed, stream, first + k, p) alone, the same for every thread
    count, CPU and dtype.

Extra keyword-only constructor arguments of every module:
  seed=None   None: each training forward uses seed torch.initial_seed() and a
              stream drawn from torch's default CPU generator (reproducible
              under torch.manual_seed, like nn.Dropout).  An integer S: training
              forwards use (S, next_stream) and increment next_stream, like
              the C dropout_layer; nothing is drawn from torch.
  first=0     the flat mask index of element 0: a shard of a larger tensor
              (sample k of a global batch: first = k * numel_per_sample)
  broadcast_dims=None  dimensions that share one mask (Flax's broadcast_dims),
              in addition to the module's own (channel dropout: the spatial
              dims; stochastic depth: all but the batch dim)
  save_mask=False  (not GaussianDropout)
Every module records last_seed and last_stream of its latest training forward.
Under torch.utils.checkpoint the recomputed forward reuses the first run's
(seed, stream) (see _recompute.py): gradients are those of the run without
checkpointing, and next_stream advances once per forward.
"""
import sys

import torch  # the real PyTorch: absolute import, not this package

from dropout import _arguments
from dropout.torch import functional
from dropout.torch.functional import (DropoutFunction, BiasDropoutResidualFunction,
                                      supported_dtypes, dropout, dropout1d, dropout2d,
                                      dropout3d, alpha_dropout, feature_alpha_dropout,
                                      stochastic_depth, gaussian_dropout, bias_dropout_residual)
from dropout.torch import _recompute

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
           "FeatureAlphaDropout", "StochasticDepth", "GaussianDropout", "BiasDropoutResidual",
           "replace", "functional", "supported_dtypes"]


class _Drop:
    """What every drop-in module adds to its torch.nn base: the mask's place
    in the index space and where its (seed, stream) come from."""

    def _init_drop(self, seed, first, broadcast_dims, save_mask):
        self.seed = None if seed is None else functional._u64(seed, "seed")
        self.first = functional._u64(first, "first")
        if broadcast_dims is not None:
            functional._family.broadcast_bits(broadcast_dims, 64)  # types checked now
        self.broadcast_dims = broadcast_dims
        self.save_mask = bool(save_mask)
        self.next_stream = 0
        self.last_seed = None
        self.last_stream = None

    def _extra(self):
        text = ""
        if self.seed is not None:
            text += ", seed={}".format(self.seed)
        if self.first:
            text += ", first={}".format(self.first)
        if self.broadcast_dims is not None:
            text += ", broadcast_dims={}".format(self.broadcast_dims)
        if self.save_mask:
            text += ", save_mask=True"
        return text

    def extra_repr(self):
        return "p={}, inplace={}".format(self.p, self.inplace) + self._extra()


def _module_apply(module, variant, bits, input, save_mask=None):
    return functional._apply(input, module.p, module.training, getattr(module, "inplace", False),
                             variant, bits,
                             module.seed, None, module.first,
                             module.save_mask if save_mask is None else save_mask,
                             module, type(module).__name__)


def _user_bits(module, input):
    return functional._family.broadcast_bits(module.broadcast_dims, input.dim())


class Dropout(_Drop, torch.nn.Dropout):
    """torch.nn.Dropout(p=0.5, inplace=False)."""

    def __init__(self, p=0.5, inplace=False, *, seed=None, first=0, broadcast_dims=None,
                 save_mask=False):
        torch.nn.Module.__init__(self)
        self.p = _arguments.check_p(p)
        self.inplace = inplace
        self._init_drop(seed, first, broadcast_dims, save_mask)

    def forward(self, input):
        return _module_apply(self, "standard", _user_bits(self, input), input)


class Dropout1d(_Drop, torch.nn.Dropout1d):
    """torch.nn.Dropout1d: whole channels of (N, C, L) or (C, L)."""
    __init__ = Dropout.__init__

    def forward(self, input):
        bits = functional._dropout1d_bits(input)
        return _module_apply(self, "standard", bits | _user_bits(self, input), input)


class Dropout2d(_Drop, torch.nn.Dropout2d):
    """torch.nn.Dropout2d: whole channels of (N, C, H, W) (PyTorch 1.13's
    warnings and its (N, C, L) reading of 3-d inputs included)."""
    __init__ = Dropout.__init__

    def forward(self, input):
        bits = functional._dropout2d_bits(input)
        return _module_apply(self, "standard", bits | _user_bits(self, input), input)


class Dropout3d(_Drop, torch.nn.Dropout3d):
    """torch.nn.Dropout3d: whole channels of (N, C, D, H, W) or (C, D, H, W)."""
    __init__ = Dropout.__init__

    def forward(self, input):
        bits = functional._dropout3d_bits(input)
        return _module_apply(self, "standard", bits | _user_bits(self, input), input)


class AlphaDropout(_Drop, torch.nn.AlphaDropout):
    """torch.nn.AlphaDropout: for SELU networks, mean 0 and variance 1 kept."""
    __init__ = Dropout.__init__

    def forward(self, input):
        return _module_apply(self, "alpha", _user_bits(self, input), input)


class FeatureAlphaDropout(_Drop, torch.nn.FeatureAlphaDropout):
    """torch.nn.FeatureAlphaDropout: alpha dropout of whole channels."""
    __init__ = Dropout.__init__

    def forward(self, input):
        bits = functional._feature_bits(input, "FeatureAlphaDropout")
        return _module_apply(self, "alpha", bits | _user_bits(self, input), input)


class GaussianDropout(_Drop, torch.nn.Module):
    """Keras GaussianDropout(rate=p): y = x * (1 + sqrt(p / (1 - p)) z) in
    training, the identity in evaluation; 0 <= p < 1.  No keep mask, so no
    save_mask: backward regenerates the noise."""

    def __init__(self, p=0.5, inplace=False, *, seed=None, first=0, broadcast_dims=None):
        super().__init__()
        self.p = _arguments.check_p(p)
        if self.p == 1.0:
            raise ValueError("GaussianDropout: p must be < 1 (the noise variance p / (1 - p) "
                             "is infinite), got 1.0")
        self.inplace = inplace
        self._init_drop(seed, first, broadcast_dims, False)

    def forward(self, input):
        return _module_apply(self, "gaussian", _user_bits(self, input), input)


class StochasticDepth(_Drop, torch.nn.Module):
    """torchvision.ops.StochasticDepth(p, mode): drop path.  mode "row" drops
    whole samples (one mask bit per sample: mask index first + sample), mode
    "batch" the whole input (one bit)."""

    def __init__(self, p, mode, *, seed=None, first=0, broadcast_dims=None, save_mask=False):
        super().__init__()
        self.p = _arguments.check_p(p)
        if mode not in ("batch", "row"):
            raise ValueError(f"mode has to be either 'batch' or 'row', but got {mode}")
        self.mode = mode
        self._init_drop(seed, first, broadcast_dims, save_mask)

    def forward(self, input):
        bits = functional._stochastic_depth_bits(input, self.mode)
        if not self.training or self.p == 0.0:
            functional._suffix(input, "input")
            return input
        return _module_apply(self, "standard", bits | _user_bits(self, input), input)

    def __repr__(self):
        return f"{self.__class__.__name__}(p={self.p}, mode={self.mode}{self._extra()})"


class BiasDropoutResidual(_Drop, torch.nn.Module):
    """residual + dropout(input + bias) in one pass (the fused C op); bias has
    input.shape[-1] elements.  forward(input, bias, residual).  Evaluation:
    residual + (input + bias).  Gradients: input (the dropout backward), bias
    (its column sums, rows in order, accumulated in double), residual (dy)."""

    def __init__(self, p=0.5, *, seed=None, first=0, broadcast_dims=None, save_mask=False):
        super().__init__()
        self.p = _arguments.check_p(p)
        self._init_drop(seed, first, broadcast_dims, save_mask)

    def forward(self, input, bias, residual):
        return functional._bias_dropout_residual(input, bias, residual, self.p, self.training,
                                                 self.seed, None, self.first,
                                                 self.broadcast_dims, self.save_mask, self)

    def extra_repr(self):
        return "p={}".format(self.p) + self._extra()


# ---- replace: swap a model's dropout modules ---------------------------------

def _replacements():
    """Exact torch.nn (and torchvision) type -> drop-in type."""
    table = {torch.nn.Dropout: Dropout, torch.nn.Dropout1d: Dropout1d,
             torch.nn.Dropout2d: Dropout2d, torch.nn.Dropout3d: Dropout3d,
             torch.nn.AlphaDropout: AlphaDropout,
             torch.nn.FeatureAlphaDropout: FeatureAlphaDropout}
    ops = sys.modules.get("torchvision.ops")  # a model holding one imported it
    if ops is not None and hasattr(ops, "StochasticDepth"):
        table[ops.StochasticDepth] = StochasticDepth
    return table


def replace(model, **options):
    """Replace, in place, every torch.nn dropout module (Dropout, Dropout1d,
    Dropout2d, Dropout3d, AlphaDropout, FeatureAlphaDropout) and every
    torchvision.ops.StochasticDepth inside `model` with its drop-in, keeping
    p, inplace (mode for StochasticDepth) and the training flag; returns how
    many were replaced.  Only those exact types are replaced (a subclass may
    have changed forward).  `options` (seed, first, broadcast_dims,
    save_mask) go to every new module.  The root module itself cannot be
    replaced in place: pass its parent, or use the return value of
    dropout.torch.replace on a torch.nn.Sequential wrapping it."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError("replace: model must be a torch.nn.Module, not %s" % type(model).__name__)
    table = _replacements()
    count = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            new_type = table.get(type(child))
            if new_type is None:
                continue
            if new_type is StochasticDepth:
                new = StochasticDepth(child.p, child.mode, **options)
            else:
                new = new_type(child.p, child.inplace, **options)
            new.train(child.training)
            setattr(parent, name, new)
            count += 1
    return count
