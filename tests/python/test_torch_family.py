"""
The dropout family in dropout.torch against torch.nn (PyTorch 1.13),
torchvision.ops.StochasticDepth and the expectations of PyTorch's own dropout
tests (test_nn.py's _test_dropout, _test_dropoutNd, _test_alpha_dropout,
test_FeatureAlphaDropout, the functional checks), written anew: signatures,
input-shape rules and warnings, values, p = 0 and p = 1, invalid p, empty /
0-d / non-contiguous inputs, in place, gradcheck in float64; then what the
drop-ins add: the mask's place in the index space (first=, broadcast_dims=),
recompute-safety under torch.utils.checkpoint, and replace().

Statistical checks use fixed seeds and bounds of at least 5 sigma; the sigma
is worked out next to each.
"""
import inspect
import math
import unittest
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

import dropout
import dropout.torch as dt
import dropout.torch.functional as DF
from dropout.torch import _recompute

ALPHA = 1.7580993408473766  # -SELU's negative saturation value


def alpha_constants(p):
    a = 1.0 / math.sqrt((ALPHA ** 2 * p + 1) * (1 - p))
    b = ALPHA * a * p
    return a, b, -ALPHA * a + b  # scale, shift, dropped value


def keep_bits(n, p, seed, stream, first=0):
    m = dropout.mask(n, p, seed=seed, stream=stream, first=first)
    return torch.from_numpy(np.unpackbits(m, count=n, bitorder="little").astype(bool))


def raw(t):
    t = t.detach().contiguous()
    return (t.view(torch.int16) if t.element_size() == 2 else t).numpy().tobytes()


def same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and raw(a) == raw(b)


# name: (drop-in module, torch module or None, drop-in function, torch function, input shape)
def _torch_stochastic_depth():
    import torchvision.ops
    return torchvision.ops.StochasticDepth, torchvision.ops.stochastic_depth


MEMBERS = {
    "dropout": (dt.Dropout, torch.nn.Dropout, DF.dropout, F.dropout, (4, 6, 5)),
    "dropout1d": (dt.Dropout1d, torch.nn.Dropout1d, DF.dropout1d, F.dropout1d, (4, 6, 5)),
    "dropout2d": (dt.Dropout2d, torch.nn.Dropout2d, DF.dropout2d, F.dropout2d, (4, 6, 5, 3)),
    "dropout3d": (dt.Dropout3d, torch.nn.Dropout3d, DF.dropout3d, F.dropout3d, (4, 6, 2, 3, 2)),
    "alpha_dropout": (dt.AlphaDropout, torch.nn.AlphaDropout, DF.alpha_dropout, F.alpha_dropout,
                      (4, 6, 5)),
    "feature_alpha_dropout": (dt.FeatureAlphaDropout, torch.nn.FeatureAlphaDropout,
                              DF.feature_alpha_dropout, F.feature_alpha_dropout, (4, 6, 5)),
    "gaussian_dropout": (dt.GaussianDropout, None, DF.gaussian_dropout, None, (4, 6, 5)),
}


def make(name, p, **options):
    """A drop-in module of a member, in training mode."""
    if name == "stochastic_depth":
        return dt.StochasticDepth(p, "row", **options)
    return MEMBERS[name][0](p, **options)


ALL = list(MEMBERS) + ["stochastic_depth"]
SHAPE = dict({name: entry[4] for name, entry in MEMBERS.items()}, stochastic_depth=(4, 6, 5))
# Dimensions sharing one mask element, by member, for SHAPE's inputs.
SHARED = {"dropout": (), "dropout1d": (2,), "dropout2d": (2, 3), "dropout3d": (2, 3, 4),
          "alpha_dropout": (), "feature_alpha_dropout": (2,), "gaussian_dropout": (),
          "stochastic_depth": (1, 2)}


def mask_shape(name, shape):
    return tuple(1 if d in SHARED[name] else s for d, s in enumerate(shape))


class Signatures(unittest.TestCase):
    def check_prefix(self, ours, theirs):
        ours = list(inspect.signature(ours).parameters.values())
        theirs = list(inspect.signature(theirs).parameters.values())
        self.assertEqual([(q.name, q.default, q.kind) for q in ours[:len(theirs)]],
                         [(q.name, q.default, q.kind) for q in theirs])
        for extra in ours[len(theirs):]:
            self.assertEqual(extra.kind, inspect.Parameter.KEYWORD_ONLY, extra.name)
        names = {q.name for q in ours}
        self.assertTrue({"seed", "first", "broadcast_dims"} <= names, names)

    def test_constructors_and_functions_start_with_torchs_parameters(self):
        for name, (module, torch_module, function, torch_function, _) in MEMBERS.items():
            with self.subTest(name=name):
                if torch_module is not None:
                    self.check_prefix(module.__init__, torch_module.__init__)
                    self.check_prefix(function, torch_function)
                    self.assertTrue(issubclass(module, torch_module))
        StochasticDepth, stochastic_depth = _torch_stochastic_depth()
        self.check_prefix(dt.StochasticDepth.__init__, StochasticDepth.__init__)
        self.check_prefix(DF.stochastic_depth, stochastic_depth)
        self.check_prefix(dt.GaussianDropout.__init__, torch.nn.Dropout.__init__)
        self.check_prefix(DF.gaussian_dropout, F.dropout)
        # The fused op: forward(input, bias, residual)
        self.assertEqual(list(inspect.signature(dt.BiasDropoutResidual.forward).parameters),
                         ["self", "input", "bias", "residual"])

    def test_repr_and_attributes_like_torch(self):
        for name in ("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
                     "feature_alpha_dropout"):
            ours, theirs = MEMBERS[name][0](0.25, True), MEMBERS[name][1](0.25, True)
            self.assertEqual(repr(ours), repr(theirs))
            self.assertEqual(ours.state_dict().keys(), theirs.state_dict().keys())
        StochasticDepth, _ = _torch_stochastic_depth()
        self.assertEqual(repr(dt.StochasticDepth(0.2, "row")), repr(StochasticDepth(0.2, "row")))
        self.assertEqual(repr(dt.Dropout2d(0.1, seed=3, first=8, broadcast_dims=(0,))),
                         "Dropout2d(p=0.1, inplace=False, seed=3, first=8, broadcast_dims=(0,))")


class InputShapeRules(unittest.TestCase):
    """Which input dimensionalities each channel member takes, what it warns,
    and what it raises: compared with torch.nn.functional's for 0-d to 6-d."""

    def outcome(self, function, x):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                y = function(x, 0.5, True)
                result = ("ok", tuple(y.shape))
            except Exception as error:  # noqa: BLE001 - the type is compared
                result = (type(error).__name__, str(error))
        return result, [str(w.message) for w in caught]

    def test_same_errors_and_warnings_as_torch(self):
        for name in ("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
                     "feature_alpha_dropout"):
            ours, theirs = MEMBERS[name][2], MEMBERS[name][3]
            for ndim in range(7):
                x = torch.ones((2,) * ndim)
                with self.subTest(name=name, ndim=ndim):
                    self.assertEqual(self.outcome(ours, x), self.outcome(theirs, x))
                    module = MEMBERS[name][0](0.5)
                    self.assertEqual(self.outcome(lambda t, p, training: module(t), x)[0][0],
                                     self.outcome(ours, x)[0][0])

    def test_channel_masks_follow_torchs_reading_of_each_shape(self):
        # Which elements share a mask element, read off a tensor of ones: all
        # elements of a shared group come out equal.  (N, C, L) for dropout1d,
        # (C, L) unbatched; dropout2d takes a 3-d input as (N, C, L) (with a
        # warning), dropout3d a 4-d one as unbatched (C, D, H, W).
        cases = [(DF.dropout1d, (3, 4, 5), (2,)), (DF.dropout1d, (4, 5), (1,)),
                 (DF.dropout2d, (3, 4, 5, 6), (2, 3)), (DF.dropout2d, (3, 4, 5), (2,)),
                 (DF.dropout3d, (3, 4, 2, 3, 2), (2, 3, 4)), (DF.dropout3d, (4, 2, 3, 2), (1, 2, 3)),
                 (DF.feature_alpha_dropout, (3, 4, 5, 2), (2, 3))]
        for function, shape, shared in cases:
            with self.subTest(function=function.__name__, shape=shape), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                y = function(torch.ones(shape), 0.5, True, seed=11)
                groups = y.amax(dim=shared) - y.amin(dim=shared)
                self.assertEqual(groups.abs().max().item(), 0.0)
                # the mask shape's elements are mask stream v1 in order
                m = y.amax(dim=shared).flatten()
                kept = keep_bits(m.numel(), 0.5, 11, 0)
                if function is DF.feature_alpha_dropout:
                    self.assertTrue(torch.equal(m > 0, kept))
                else:
                    self.assertTrue(torch.equal(m != 0, kept))


class Values(unittest.TestCase):
    def test_standard_members_give_zero_or_x_over_one_minus_p(self):
        p = 0.3
        s = torch.tensor(1 / (1 - p), dtype=torch.float32)
        for name in ("dropout", "dropout1d", "dropout2d", "dropout3d", "stochastic_depth"):
            with self.subTest(name=name):
                x = torch.randn(SHAPE[name]) + 3
                y = make(name, p, seed=1)(x)
                self.assertTrue(torch.all((y == 0) | (y == x * s)))

    def test_alpha_members_give_the_affine_values(self):
        p = 0.5
        a, b, dropped = (torch.tensor(v, dtype=torch.float32) for v in alpha_constants(p))
        for name in ("alpha_dropout", "feature_alpha_dropout"):
            with self.subTest(name=name):
                x = torch.randn(SHAPE[name])
                y = make(name, p, seed=2)(x)
                kept = y != dropped
                self.assertTrue(torch.equal(y[kept], x[kept] * a + b))
                self.assertGreater(kept.sum().item(), 0)
                self.assertLess(kept.sum().item(), x.numel())

    def test_means_and_variances_are_preserved(self):
        # Inputs of 2^18 standard normals, p = 0.2.  Standard members: E[y] =
        # E[x] = 0 with sd(y) = 1 / sqrt(1 - p); the mean of n elements has
        # sd <= sqrt(G (1 / (1 - p)) / n) with G elements per mask element
        # (elements sharing a bit move together).  Alpha members: mean 0 and
        # variance 1.  Bounds: 6 sigma of the mean; the variance within 6
        # sigma of the spread of per-group variances.
        p = 0.2
        gen = torch.Generator().manual_seed(5)
        for name in ALL:
            with self.subTest(name=name):
                shape = {"stochastic_depth": (4096, 64), "dropout1d": (64, 64, 64),
                         "dropout2d": (64, 64, 8, 8), "dropout3d": (64, 64, 4, 4, 4),
                         "feature_alpha_dropout": (64, 64, 64)}.get(name, (1 << 18,))
                x = torch.randn(shape, generator=gen, dtype=torch.float64)
                y = make(name, p, seed=7)(x)
                n = x.numel()
                group = n // math.prod(mask_shape(name, shape))
                var = 1.0 if name in ("alpha_dropout", "feature_alpha_dropout") else 1 / (1 - p)
                self.assertLess(abs(y.mean().item()), 6 * math.sqrt(group * var / n))
                rows = y.reshape(64, -1)
                spread = rows.var(dim=1).std().item() / math.sqrt(64)
                self.assertLess(abs(rows.var(dim=1).mean().item() - var), 6 * spread + 1e-12)

    def test_gaussian_noise_has_mean_one_and_variance_p_over_one_minus_p(self):
        p, n = 0.3, 1 << 18
        noise = dt.GaussianDropout(p, seed=3)(torch.ones(n, dtype=torch.float64))
        var = p / (1 - p)
        self.assertLess(abs(noise.mean().item() - 1), 6 * math.sqrt(var / n))
        # Var of a sample variance of normals: 2 var^2 / n
        self.assertLess(abs(noise.var().item() - var), 6 * math.sqrt(2 * var * var / n))

    def test_p_zero_and_p_one(self):
        for name in ALL:
            x = torch.randn(SHAPE[name]) + 2
            with self.subTest(name=name, p=0):
                self.assertTrue(torch.equal(make(name, 0.0)(x), x))
            if name == "gaussian_dropout":
                with self.assertRaises(ValueError):
                    make(name, 1.0)
                continue
            with self.subTest(name=name, p=1):
                y = make(name, 1.0)(x)
                self.assertTrue(same_bits(y, torch.zeros_like(x)))  # +0.0, also for alpha

    def test_invalid_p(self):
        for name in ALL:
            for p in (-0.1, 1.1, float("nan"), float("inf"), 10 ** 400):
                with self.subTest(name=name, p=str(p)[:8]):
                    with self.assertRaises(ValueError):
                        make(name, p)
                    with self.assertRaises(ValueError):
                        x = torch.ones(SHAPE[name])
                        if name == "stochastic_depth":
                            DF.stochastic_depth(x, p, "row")
                        else:
                            MEMBERS[name][2](x, p, False)  # also in evaluation
            with self.subTest(name=name, p=True):
                with self.assertRaises(TypeError):
                    make(name, True)
        with self.assertRaises(ValueError):
            dt.StochasticDepth(0.5, "col")
        with self.assertRaises(ValueError):
            DF.stochastic_depth(torch.ones(3), 0.5, "col")

    def test_evaluation_returns_the_input_itself(self):
        for name in ALL:
            with self.subTest(name=name):
                x = torch.randn(SHAPE[name])
                self.assertIs(make(name, 0.4).eval()(x), x)
        self.assertIs(DF.alpha_dropout(x, 0.5), x)  # training=False by default, as torch's

    def test_empty_zero_d_and_non_contiguous_inputs(self):
        for name in ALL:
            with self.subTest(name=name):
                shape = SHAPE[name]
                empty = torch.ones((0,) + shape[1:])
                self.assertEqual(make(name, 0.5)(empty).shape, empty.shape)
                # transposed batch and channel: the mask index is the row-major
                # index of the tensor as the module sees it
                base = torch.randn((shape[1], shape[0]) + shape[2:])
                x = base.transpose(0, 1)
                self.assertFalse(x.is_contiguous())
                self.assertTrue(same_bits(make(name, 0.5, seed=4)(x),
                                          make(name, 0.5, seed=4)(x.contiguous())))
        for function in (DF.dropout, DF.alpha_dropout, DF.gaussian_dropout):
            scalar = torch.tensor(3.0)
            self.assertEqual(function(scalar, 0.5, True, seed=1).shape, ())
        self.assertEqual(DF.stochastic_depth(torch.tensor(3.0), 0.5, "batch", seed=1).shape, ())

    def test_in_place(self):
        for name in ALL:
            if name == "stochastic_depth":
                continue  # no inplace in torchvision's either
            with self.subTest(name=name):
                x = torch.randn(SHAPE[name])
                want = MEMBERS[name][0](0.4, seed=9)(x)
                y = MEMBERS[name][0](0.4, True, seed=9)(x)
                self.assertIs(y, x)
                self.assertTrue(same_bits(x, want))
                # on a non-leaf, with autograd: the same gradient as out of place
                grads = []
                for inplace in (False, True):
                    leaf = torch.randn(SHAPE[name], generator=torch.Generator().manual_seed(1),
                                       requires_grad=True)
                    MEMBERS[name][0](0.4, inplace, seed=9)(leaf * 2).sum().backward()
                    grads.append(leaf.grad)
                self.assertTrue(same_bits(*grads))

    def test_gradcheck_float64(self):
        for name in ALL:
            with self.subTest(name=name):
                x = torch.randn(SHAPE[name], dtype=torch.float64, requires_grad=True)
                layer = make(name, 0.3, seed=12)

                def same_mask(t):
                    layer.next_stream = 0  # gradcheck calls forward repeatedly
                    return layer(t)

                self.assertTrue(torch.autograd.gradcheck(same_mask, (x,)))
                self.assertTrue(torch.autograd.gradgradcheck(same_mask, (x,)))

    def test_every_dtype_shares_the_float32_mask(self):
        for name in ALL:
            for dtype in (torch.float64, torch.bfloat16, torch.float16):
                with self.subTest(name=name, dtype=dtype):
                    x = torch.rand(SHAPE[name]) + 1
                    y32 = make(name, 0.5, seed=6)(x)
                    y = make(name, 0.5, seed=6)(x.to(dtype))
                    self.assertEqual(y.dtype, dtype)
                    if name == "gaussian_dropout":
                        close = torch.allclose(y.double(), y32.double(), rtol=2 ** -6)
                        self.assertTrue(close)
                    else:
                        self.assertTrue(torch.equal(y == 0, y32 == 0) if "alpha" not in name
                                        else torch.equal(y > 0, y32 > 0))

    def test_save_mask_gives_the_same_gradient(self):
        for name in ALL:
            if name == "gaussian_dropout":  # no keep mask to save
                with self.assertRaises(TypeError):
                    DF.gaussian_dropout(torch.ones(3), 0.5, True, save_mask=True)
                continue
            with self.subTest(name=name):
                grads = []
                for save_mask in (False, True):
                    x = torch.randn(SHAPE[name], requires_grad=True)
                    y = make(name, 0.5, seed=8, save_mask=save_mask)(x)
                    self.assertEqual(len(y.grad_fn.saved_tensors), int(save_mask))
                    y.backward(torch.ones_like(y))
                    grads.append(x.grad)
                self.assertTrue(same_bits(*grads))


class PyTorchDropoutNdExpectations(unittest.TestCase):
    """test_dropout.py's checks of the Nd and alpha modules, against the
    drop-ins, with bounds worked out to 6 sigma."""

    def check_dropout(self, cls, input, memory_format=torch.contiguous_format):
        # _test_dropout: input filled with 1 - p; output and gradient means
        # close to 1 - p.  A mask element of G elements keeps all of them with
        # probability 1 - p: sigma of the mean = sqrt(G p (1 - p) / n).
        p = 0.2
        n = input.numel()
        group = n // math.prod(input.shape[:2]) if cls is not dt.Dropout else 1
        bound = 6 * math.sqrt(group * p * (1 - p) / n)
        input = input.fill_(1 - p)
        for inplace in (False, True):
            module = cls(p, inplace)
            input_var = input.clone(memory_format=memory_format).requires_grad_()
            output = module(input_var + 0 if inplace else input_var)
            self.assertTrue(output.is_contiguous(memory_format=memory_format))
            self.assertLess(abs(output.data.double().mean().item() - (1 - p)), bound)
            output.backward(input)
            self.assertTrue(input_var.grad.is_contiguous(memory_format=memory_format))
            self.assertLess(abs(input_var.grad.data.double().mean().item() - (1 - p)), bound)
        for inplace in (True, False):
            module = cls(p, inplace).eval()
            self.assertTrue(torch.equal(input, module(input)))
        str(module)

    def check_discontiguous(self, cls, memory_format=torch.contiguous_format):
        # _test_dropout_discontiguous: p = 0 and p close to 0 keep the values
        # and give an output in the input's memory format.
        for p in (0, 1e-10):
            inp = torch.ones(2, 3, 3, 3)
            discontiguous = torch.empty(2, 3, 3, 6, memory_format=memory_format)[..., ::2]
            discontiguous.copy_(inp)
            out = cls(p=p)(discontiguous)
            if p != 0:
                self.assertTrue(out.is_contiguous(memory_format=memory_format))
            self.assertTrue(torch.equal(out, discontiguous))

    def check_no_batch(self, module, input):
        # _test_dropoutNd_no_batch: an unbatched input gets sample 0's mask
        torch.manual_seed(5)
        unbatched = module(input.clone())
        torch.manual_seed(5)
        batched = module(input.clone().unsqueeze(0)).squeeze(0)
        self.assertTrue(torch.equal(unbatched, batched))

    def check_channel_zero(self, module, input):
        result = module(input)
        per_channel = math.prod(input.shape[2:])
        for b in range(input.shape[0]):
            for c in range(input.shape[1]):
                self.assertIn(result[b, c].count_nonzero().item(), (0, per_channel))

    def test_dropout1d_2d_3d(self):
        self.check_dropout(dt.Dropout, torch.empty(1000))
        self.check_dropout(dt.Dropout, torch.empty(1000).bfloat16())
        self.check_discontiguous(dt.Dropout)
        self.check_discontiguous(dt.Dropout, torch.channels_last)
        self.check_dropout(dt.Dropout1d, torch.empty(12, 13, 14, dtype=torch.float64))
        self.check_dropout(dt.Dropout2d, torch.empty(1000, 3, 4, 2))
        self.check_dropout(dt.Dropout2d, torch.empty(1000, 3, 4, 2), torch.channels_last)
        self.check_discontiguous(dt.Dropout2d)
        self.check_discontiguous(dt.Dropout2d, torch.channels_last)
        self.check_dropout(dt.Dropout3d, torch.empty(1000, 2, 2, 3, 2))
        self.check_discontiguous(dt.Dropout3d)
        for inplace in (False, True):
            self.check_no_batch(dt.Dropout1d(0.5, inplace), torch.rand(50, 2))
            self.check_no_batch(dt.Dropout3d(0.5, inplace), torch.rand(50, 2, 2, 2))
            self.check_channel_zero(dt.Dropout1d(0.5, inplace), torch.ones(10, 4, 2))
            self.check_channel_zero(dt.Dropout2d(0.5, inplace), torch.ones(10, 4, 2, 2))
            self.check_channel_zero(dt.Dropout3d(0.5, inplace), torch.ones(10, 4, 2, 2, 2))
        self.assertEqual(DF.dropout(torch.tensor([])).shape, (0,))

    def test_alpha_dropout_keeps_mean_and_std(self):
        # _test_alpha_dropout: |mean(y) - mean(x)| and |std(y) - std(x)| < 0.1
        # for p = 0.2, 0.5, 0.8 (0.1 is > 6 sigma for these sizes: the mean
        # of 5000 unit-variance values has sigma 0.014; FeatureAlphaDropout's
        # 1000 channels of 50 elements, sigma <= sqrt(50 / 50000) = 0.032).
        torch.manual_seed(0)
        cases = [(dt.AlphaDropout, torch.randn(5000)),
                 (dt.FeatureAlphaDropout, torch.randn(1000, 2, 1, 5, 5)),
                 (dt.FeatureAlphaDropout, torch.randn(50, 20, 16, 16))]
        for cls, input in cases:
            for p in (0.2, 0.5, 0.8):
                with self.subTest(cls=cls.__name__, p=p):
                    input_var = input.clone().requires_grad_()
                    output = cls(p)(input_var)
                    self.assertLess(abs(output.data.mean() - input.mean()).item(), 0.1)
                    self.assertLess(abs(output.data.std() - input.std()).item(), 0.1)
                    output.backward(input)


class BiasDropoutResidual(unittest.TestCase):
    def test_fused_equals_the_three_steps_and_its_gradients(self):
        for dtype in (torch.float32, torch.float64, torch.bfloat16, torch.float16):
            with self.subTest(dtype=dtype):
                x = torch.randn(6, 5, 8).to(dtype).requires_grad_()
                bias = torch.randn(8).to(dtype).requires_grad_()
                residual = torch.randn(6, 5, 8).to(dtype).requires_grad_()
                y = dt.BiasDropoutResidual(0.4, seed=5)(x, bias, residual)
                t = (x + bias).detach()
                want = residual.detach() + DF.dropout(t, 0.4, True, seed=5)
                self.assertTrue(same_bits(y.detach(), want))
                dy = torch.randn(6, 5, 8).to(dtype)
                y.backward(dy)
                dx = DF.dropout(dy, 0.4, True, seed=5)
                self.assertTrue(same_bits(x.grad, dx))
                self.assertTrue(same_bits(residual.grad, dy))
                self.assertTrue(torch.allclose(bias.grad.double(),
                                               dx.double().reshape(-1, 8).sum(0), rtol=1e-2))

    def test_evaluation_shapes_gradcheck_and_broadcast(self):
        layer = dt.BiasDropoutResidual(0.3, seed=2)
        x, bias, residual = torch.randn(4, 3), torch.randn(3), torch.randn(4, 3)
        self.assertTrue(torch.equal(layer.eval()(x, bias, residual), residual + (x + bias)))
        with self.assertRaises(ValueError):
            layer(x, torch.randn(4), residual)
        with self.assertRaises(ValueError):
            layer(x, bias, torch.randn(3))
        args = tuple(t.double().requires_grad_() for t in (x, bias, residual))
        fn = lambda *t: DF.bias_dropout_residual(*t, 0.3, seed=2)
        self.assertTrue(torch.autograd.gradcheck(fn, args))
        self.assertTrue(torch.autograd.gradgradcheck(fn, args))
        # broadcast_dims: the same three steps with a shared mask
        y = DF.bias_dropout_residual(x, bias, residual, 0.5, seed=3, broadcast_dims=(0,))
        want = residual + DF.dropout(x + bias, 0.5, True, seed=3, broadcast_dims=(0,))
        self.assertTrue(same_bits(y, want))


class IndexSpace(unittest.TestCase):
    """first= and broadcast_dims=: where a mask lives (docs/python.md)."""

    def test_shards_and_samples_get_their_rows_of_the_whole_batch_mask(self):
        # Sample k of a global batch: first = k * (mask elements per sample),
        # which is x[0].numel() for element-wise members, C for channel ones,
        # 1 for drop path.  A data-parallel rank with rows [r*B/R, (r+1)*B/R)
        # passes first = r * (B / R) * per_sample.
        for name in ALL:
            with self.subTest(name=name):
                shape = (8,) + SHAPE[name][1:]
                x = torch.randn(shape)
                whole = make(name, 0.5, seed=21)(x)
                per_sample = math.prod(mask_shape(name, shape)[1:])
                for k in range(8):
                    one = make(name, 0.5, seed=21, first=k * per_sample)(x[k:k + 1])
                    self.assertTrue(same_bits(one, whole[k:k + 1]))
                for rank in range(4):
                    rows = slice(2 * rank, 2 * rank + 2)
                    shard = make(name, 0.5, seed=21, first=2 * rank * per_sample)(x[rows])
                    self.assertTrue(same_bits(shard, whole[rows]))

    def test_unseeded_shards_agree_under_the_same_torch_seed(self):
        x = torch.randn(6, 10)
        torch.manual_seed(3)
        whole = dt.Dropout(0.5)(x)
        torch.manual_seed(3)
        half = dt.Dropout(0.5, first=30)(x[3:])
        self.assertTrue(same_bits(half, whole[3:]))

    def test_broadcast_dims(self):
        # time-locked RNN dropout over (T, N, H): one mask for every step
        x = torch.rand(7, 4, 9) + 1
        y = dt.Dropout(0.5, seed=4, broadcast_dims=(0,))(x)
        ratio = y / x
        self.assertTrue(torch.equal(ratio, ratio[:1].expand_as(ratio)))
        self.assertTrue(torch.equal(ratio[0].flatten() != 0, keep_bits(36, 0.5, 4, 0)))
        # negative dims, and the union with a channel module's own
        z = dt.Dropout2d(0.5, seed=4, broadcast_dims=(-4,))(torch.ones(3, 5, 2, 2))
        self.assertTrue(torch.equal(z, z[:1].expand_as(z)))
        self.assertTrue(torch.equal(z[0, :, 0, 0] != 0, keep_bits(5, 0.5, 4, 0)))
        # channel dropout is Dropout with the spatial dims shared
        x = torch.randn(3, 5, 4, 4)
        self.assertTrue(same_bits(DF.dropout2d(x, 0.5, True, seed=8),
                                  DF.dropout(x, 0.5, True, seed=8, broadcast_dims=(2, 3))))
        for bad in ((3,), (-4,), ("a",), 1.5):
            with self.assertRaises((ValueError, TypeError)):
                DF.dropout(torch.ones(2, 2, 2), 0.5, True, broadcast_dims=bad)

    def test_same_masks_as_the_numpy_front_end(self):
        x = torch.rand(3, 4, 5, 2)
        y = dropout.forward(x.numpy(), 0.5, seed=4, stream=0, broadcast_dims=(2, 3))
        self.assertTrue(same_bits(torch.from_numpy(y), DF.dropout2d(x, 0.5, True, seed=4)))
        y = dropout.forward(x.numpy(), 0.5, seed=4, stream=0, variant="alpha")
        self.assertTrue(same_bits(torch.from_numpy(y), DF.alpha_dropout(x, 0.5, True, seed=4)))

    def test_monte_carlo_masks_do_not_depend_on_the_batch(self):
        # MC dropout: sample i's mask at pass t is the same whatever batch it
        # is evaluated in, when its first is its global index's offset.
        data = torch.randn(10, 16)
        for t in range(3):
            full = DF.dropout(data, 0.5, True, seed=100 + t)
            for start, stop in ((0, 4), (4, 10), (7, 8)):
                part = DF.dropout(data[start:stop], 0.5, True, seed=100 + t, first=start * 16)
                self.assertTrue(same_bits(part, full[start:stop]))


class Checkpointing(unittest.TestCase):
    """Under torch.utils.checkpoint the recomputed forward reuses the first
    run's mask: gradients bitwise those without checkpointing."""

    def run_case(self, name, seed, use_reentrant, preserve_rng_state=True, save_mask=False):
        torch.manual_seed(0)
        linear = torch.nn.Linear(SHAPE[name][-1], SHAPE[name][-1])
        layer = make(name, 0.5, seed=seed, **({"save_mask": True} if save_mask else {}))

        def segment(t):
            return torch.tanh(layer(linear(t)))

        x = torch.randn(SHAPE[name], requires_grad=True)
        grads = []
        for checkpointed in (False, True):
            layer.next_stream = 0
            x.grad = None
            linear.zero_grad()
            torch.manual_seed(1)
            if checkpointed:
                y = checkpoint(segment, x, use_reentrant=use_reentrant,
                               preserve_rng_state=preserve_rng_state)
            else:
                y = segment(x)
            (y * torch.arange(y.numel()).reshape(y.shape).sin()).sum().backward()
            grads.append((x.grad.clone(), linear.weight.grad.clone()))
        return grads, layer.next_stream

    def test_gradients_are_bitwise_those_without_checkpointing(self):
        self.assertTrue(_recompute.SUPPORTED)
        for name in ALL:
            for seed in (None, 31):
                for use_reentrant in (True, False):
                    with self.subTest(name=name, seed=seed, use_reentrant=use_reentrant):
                        (plain, again), next_stream = self.run_case(name, seed, use_reentrant)
                        self.assertTrue(same_bits(plain[0], again[0]))
                        self.assertTrue(same_bits(plain[1], again[1]))
                        self.assertEqual(next_stream, 1 if seed is not None else 0)

    def test_with_the_packed_mask_saved(self):
        # save_mask=True: backward reads the mask saved by the recompute
        # (reentrant) or unpacked from it (non-reentrant)
        for name in ("dropout", "dropout2d", "feature_alpha_dropout", "stochastic_depth"):
            for use_reentrant in (True, False):
                with self.subTest(name=name, use_reentrant=use_reentrant):
                    (plain, again), next_stream = self.run_case(name, 31, use_reentrant,
                                                                save_mask=True)
                    self.assertTrue(same_bits(plain[0], again[0]))
                    self.assertEqual(next_stream, 1)

    def test_without_the_rng_restore_too(self):
        # preserve_rng_state=False: nn.Dropout then draws a new mask in the
        # recompute; the drop-in replays the first run's stream.
        for use_reentrant in (True, False):
            (plain, again), _ = self.run_case("dropout", None, use_reentrant, False)
            self.assertTrue(same_bits(plain[0], again[0]))

    def test_the_check_fails_without_the_replay(self):
        # Control: the same comparison with the replay switched off fails for
        # a seeded module (the recompute takes the next stream).
        saved = _recompute.SUPPORTED
        _recompute.SUPPORTED = False
        try:
            (plain, again), next_stream = self.run_case("dropout", 31, True)
        finally:
            _recompute.SUPPORTED = saved
        self.assertFalse(same_bits(plain[0], again[0]))
        self.assertEqual(next_stream, 2)

    def test_several_segments_and_a_module_used_twice(self):
        torch.manual_seed(0)
        linears = torch.nn.ModuleList(torch.nn.Linear(8, 8) for _ in range(3))
        shared = dt.Dropout(0.5, seed=5)
        fused = dt.BiasDropoutResidual(0.5, seed=6)
        bias = torch.randn(8, requires_grad=True)

        def block(t, linear):
            h = shared(linear(t))
            return fused(shared(torch.tanh(h)), bias, t)

        x = torch.randn(4, 8, requires_grad=True)
        results = []
        for mode in ("plain", True, False):
            shared.next_stream = fused.next_stream = 0
            x.grad = bias.grad = None
            h = x
            for linear in linears:
                h = block(h, linear) if mode == "plain" else checkpoint(
                    block, h, linear, use_reentrant=mode)
            h.square().sum().backward()
            results.append((x.grad.clone(), bias.grad.clone(), shared.next_stream,
                            fused.next_stream))
        for other in results[1:]:
            self.assertTrue(same_bits(results[0][0], other[0]))
            self.assertTrue(same_bits(results[0][1], other[1]))
            self.assertEqual(other[2:], (6, 3))


class Replace(unittest.TestCase):
    def test_replace_swaps_every_dropout_and_keeps_settings(self):
        import torchvision.ops
        model = torch.nn.Sequential(
            torch.nn.Conv2d(3, 4, 3), torch.nn.Dropout2d(0.2, inplace=True),
            torch.nn.Sequential(torch.nn.Dropout(0.3), torchvision.ops.StochasticDepth(0.1, "batch")),
            torch.nn.Flatten(), torch.nn.AlphaDropout(0.05), torch.nn.FeatureAlphaDropout(0.4),
            torch.nn.Dropout1d(0.5), torch.nn.Dropout3d(0.6))
        model[2].eval()
        before = [(type(m).__name__, getattr(m, "p", None), getattr(m, "inplace", None),
                   m.training) for m in model.modules()]
        self.assertEqual(dt.replace(model), 7)
        after = [(type(m).__name__, getattr(m, "p", None), getattr(m, "inplace", None),
                  m.training) for m in model.modules()]
        self.assertEqual(before, after)
        self.assertIsInstance(model[1], dt.Dropout2d)
        self.assertIsInstance(model[2][1], dt.StochasticDepth)
        self.assertEqual(model[2][1].mode, "batch")
        self.assertEqual(dt.replace(model), 0)  # nothing left to replace
        seeded = torch.nn.Sequential(torch.nn.Dropout(0.5))
        self.assertEqual(dt.replace(seeded, seed=4, first=8), 1)
        self.assertEqual((seeded[0].seed, seeded[0].first), (4, 8))
        with self.assertRaises(TypeError):
            dt.replace("model")


if __name__ == "__main__":
    unittest.main()
