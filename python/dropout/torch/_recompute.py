"""
_recompute.py — the same mask in the recomputed forward of activation
checkpointing (torch.utils.checkpoint, use_reentrant=True and False).

Checkpointing runs a segment's forward twice: once without keeping
activations, and again during backward to rebuild them; the gradient comes
from the second run (reentrant) or from the first run's graph with the second
run's saved tensors (non-reentrant).  Both runs must therefore draw the same
masks.  torch.utils.checkpoint restores torch's CPU generator before the
recompute, which keeps nn.Dropout's draws equal, but not a counter such as a
seeded module's next_stream, and not a draw made with preserve_rng_state=False.

So every training call asks streams(fresh) for its (seed, stream):
  * in a first run (inside checkpoint's forward), it calls fresh(), and
    records the pair on that checkpoint's own context object (the autograd
    ctx of CheckpointFunction, the storage of the non-reentrant checkpoint);
  * in a recompute (inside checkpoint's backward or its unpack hook), it
    returns the pair recorded by the n-th call of the first run for the n-th
    call of the recompute (a recompute repeats the first run's calls in
    order), without calling fresh(): no stream is taken twice and nothing is
    drawn from torch;
  * anywhere else, it calls fresh().
Where the checkpoint is, is read from the Python call stack: the code objects
of torch.utils.checkpoint's functions in the installed PyTorch.  If they are
not found (another PyTorch), SUPPORTED is False and every call takes fresh().
A checkpoint inside a recompute records into its own context too, so nested
checkpoints replay as well.
"""
import sys
import types

# code object -> name of its local variable that identifies the checkpoint
_FIRST_RUN = {}
_RECOMPUTE = {}
_ATTRIBUTE = "_dropout_torch_streams"


def _learn():
    try:
        from torch.utils import checkpoint
    except ImportError:
        return
    function = getattr(checkpoint, "CheckpointFunction", None)
    if function is not None:
        _FIRST_RUN[function.forward.__code__] = "ctx"
        _RECOMPUTE[function.backward.__code__] = "ctx"
    without = getattr(checkpoint, "_checkpoint_without_reentrant", None)
    if without is not None:
        for const in without.__code__.co_consts:
            if isinstance(const, types.CodeType) and const.co_name == "unpack":
                _FIRST_RUN[without.__code__] = "storage"
                _RECOMPUTE[const] = "storage"


_learn()
#: True when this PyTorch's checkpoint functions were recognized.
SUPPORTED = len(_FIRST_RUN) == 2 and len(_RECOMPUTE) == 2


def _record(context, value):
    entry = getattr(context, _ATTRIBUTE, None)
    if entry is None:
        entry = [[], 0]
        setattr(context, _ATTRIBUTE, entry)
    entry[0].append(value)


def streams(fresh):
    """(seed, stream) for one training call: fresh() or the first run's."""
    if not SUPPORTED:
        return fresh()
    first_runs = []
    frame = sys._getframe(1)
    value = None
    while frame is not None:
        code = frame.f_code
        name = _FIRST_RUN.get(code)
        if name is not None:
            first_runs.append(frame.f_locals[name])
        else:
            name = _RECOMPUTE.get(code)
            if name is not None:
                entry = getattr(frame.f_locals[name], _ATTRIBUTE, None)
                if entry is not None and entry[0]:
                    values, cursor = entry
                    value = values[cursor % len(values)]
                    entry[1] = cursor + 1
                break
        frame = frame.f_back
    if value is None:
        value = fresh()
    for context in first_runs:
        _record(context, value)
    return value
