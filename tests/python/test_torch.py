"""
dropout.torch against the expectations of PyTorch's own dropout tests
(test_nn.py: _test_dropout, _test_dropout_discontiguous,
_test_dropout_stride_mean_preserve, the functional checks), written anew for
the drop-in, plus what the drop-in promises beyond them: the mask is mask
stream v1 (docs/SPEC.md), backward regenerates it from (seed, stream), and the
seeding rules of docs/python.md.

Statistical checks use fixed seeds and bounds of at least 5 sigma; the sigma
is worked out next to each.
"""
import itertools
import math
import threading
import unittest

import numpy as np
import torch
import torch.nn.functional as F

import dropout
import dropout.torch as dt

FLOAT_TYPES = (torch.float32, torch.float64)


def keep_bits(n, p, seed, stream):
    m = dropout.mask(n, p, seed=seed, stream=stream)
    return torch.from_numpy(np.unpackbits(m, count=n, bitorder="little").astype(bool))


def scale(p, dtype):
    return torch.tensor(1.0 / (1.0 - p), dtype=torch.float64).to(dtype)


def same_bits(a, b):
    return (a.dtype == b.dtype and a.shape == b.shape
            and a.contiguous().numpy().tobytes() == b.contiguous().numpy().tobytes())


class PyTorchDropoutExpectations(unittest.TestCase):
    """The checks of PyTorch's test_nn dropout tests, against the drop-in."""

    def check_dropout(self, input):
        # _test_dropout: input filled with 1 - p; output and gradient means
        # close to 1 - p.  Each output element is (1 - p) / (1 - p) = 1 with
        # probability 1 - p, else 0: sigma of the mean = sqrt(p (1 - p) / n).
        p = 0.2
        n = input.numel()
        bound = 6 * math.sqrt(p * (1 - p) / n)  # 6 sigma
        if input.dtype == torch.bfloat16:
            bound += 2 ** -7  # bf16 rounding of 1 - p (exactly representable not)
        input = input.fill_(1 - p)
        module = dt.Dropout(p)
        input_var = input.clone().requires_grad_()
        output = module(input_var)
        self.assertTrue(output.is_contiguous())
        self.assertLess(abs(output.data.double().mean().item() - (1 - p)), bound)
        output.backward(input)
        self.assertTrue(input_var.grad.is_contiguous())
        self.assertLess(abs(input_var.grad.data.double().mean().item() - (1 - p)), bound)

        # In place, on a non-leaf.
        module = dt.Dropout(p, True)
        input_var = input.clone().requires_grad_()
        output = module(input_var + 0)
        self.assertTrue(output.is_contiguous())
        self.assertLess(abs(output.data.double().mean().item() - (1 - p)), bound)
        output.backward(input)
        self.assertTrue(input_var.grad.is_contiguous())
        self.assertLess(abs(input_var.grad.data.double().mean().item() - (1 - p)), bound)

        # Evaluation mode changes nothing, in place or not.
        for inplace in (True, False):
            module = dt.Dropout(p, inplace).eval()
            self.assertTrue(torch.equal(input, module(input)))
        module.__repr__()
        str(module)

    def test_dropout_float32_float64(self):
        # PyTorch uses 1000 elements; 100000 makes 0.05 about 40 sigma and
        # lets the test use a 6 sigma bound instead.
        for dtype in FLOAT_TYPES:
            torch.manual_seed(1)
            self.check_dropout(torch.empty(100000, dtype=dtype))

    def test_dropout_bfloat16_float16(self):
        # PyTorch runs _test_dropout on bfloat16 too; the library has both halves.
        for dtype in (torch.bfloat16, torch.float16):
            with self.subTest(dtype=dtype):
                self.assertIn(dtype, dt.supported_dtypes())
                torch.manual_seed(2)
                self.check_dropout(torch.empty(100000, dtype=dtype))

    def test_half_types_round_once_from_float32(self):
        # SPEC section 1: a kept bf16/f16 element is (float)x * s_f32 rounded
        # to nearest-even once; torch's own conversion is the reference.
        for dtype in (torch.bfloat16, torch.float16):
            x = torch.randn(5000).to(dtype)
            y = dt.dropout(x, 0.3, True, seed=6, stream=1)
            keep = keep_bits(5000, 0.3, 6, 1)
            s32 = torch.tensor(1.0 / (1.0 - 0.3), dtype=torch.float32)
            want = torch.where(keep, (x.float() * s32).to(dtype), torch.zeros((), dtype=dtype))
            self.assertTrue(torch.equal(y, want))
            self.assertFalse(torch.signbit(y[~keep]).any())

    def test_discontiguous_input_keeps_values_for_p_near_zero(self):
        # _test_dropout_discontiguous: p = 0 and p = 1e-10 give back the values;
        # for p != 0 the output is dense in the input's memory format.
        for memory_format in (torch.contiguous_format, torch.channels_last):
            for p in (0.0, 1e-10):
                with self.subTest(memory_format=memory_format, p=p):
                    inp = torch.ones(2, 3, 3, 3)
                    discontiguous = torch.empty(2, 3, 3, 6, memory_format=memory_format)[..., ::2]
                    discontiguous.copy_(inp)
                    out = dt.Dropout(p)(discontiguous)
                    if p != 0:
                        self.assertTrue(out.is_contiguous(memory_format=memory_format))
                    self.assertTrue(torch.equal(discontiguous, out))

    def test_output_keeps_the_stride_order_and_the_mean(self):
        # _test_dropout_stride_mean_preserve.  Mean of 120 (or fewer)
        # elements of 0 or 1/(1-p): PyTorch's tolerance |mean - 1| <= 0.5 + 0.5
        # is > 5 sigma for every p here (sigma = sqrt(p / (1 - p) / n) <= 0.23
        # at p = 0.7, n = 60).
        def invert(perm):
            d = {x: i for i, x in enumerate(perm)}
            return tuple(d[i] for i in range(4))

        torch.manual_seed(3)
        inp = torch.ones(2, 3, 4, 5)
        for perm in itertools.permutations((0, 1, 2, 3), r=4):
            for shift in ((0, 0), (1, 0), (0, 1), (1, 1)):
                for p in (1e-10, 0.3, 0.5, 0.7):
                    permuted = inp.permute(perm).contiguous().permute(invert(perm))
                    permuted = permuted[shift[0]:, shift[1]:, :, :]
                    out = dt.Dropout(p)(permuted)
                    self.assertTrue(out.permute(perm).is_contiguous())
                    self.assertLessEqual(abs(out.mean().item() - 1.0), 0.5 + 0.5 * 1.0)
                    if p == 1e-10:
                        self.assertTrue(torch.equal(permuted, out))
                    else:
                        self.assertFalse(torch.equal(permuted, out))

    def test_invalid_p_raises_value_error(self):
        x = torch.ones(10)
        for p in (-0.1, 1.1, float("nan"), float("inf")):
            with self.subTest(p=p):
                with self.assertRaises(ValueError):
                    dt.Dropout(p)
                for training in (True, False):
                    with self.assertRaises(ValueError):
                        dt.dropout(x, p, training)
                    if not math.isnan(p):  # F.dropout lets NaN through to a RuntimeError
                        with self.assertRaises(ValueError):
                            F.dropout(x, p, training)  # what the drop-in mirrors

    def test_p_zero_and_p_one(self):
        for dtype in FLOAT_TYPES:
            x = torch.randn(1000, dtype=dtype)
            x[0] = float("inf")
            x[1] = float("nan")
            x_var = x.clone().requires_grad_()
            y = dt.dropout(x_var, 0.0, True)
            self.assertTrue(same_bits(y.detach(), x))
            y.backward(torch.ones_like(y))
            self.assertTrue(torch.equal(x_var.grad, torch.ones_like(x)))

            x_var = x.clone().requires_grad_()
            y = dt.dropout(x_var, 1.0, True)
            self.assertTrue(same_bits(y.detach(), torch.zeros_like(x)))  # +0.0, no NaN
            y.backward(torch.ones_like(y))
            self.assertTrue(same_bits(x_var.grad, torch.zeros_like(x)))

    def test_every_value_is_zero_or_x_over_one_minus_p(self):
        for dtype in FLOAT_TYPES:
            for p in (0.1, 0.5, 0.8):
                x = torch.randn(10000, dtype=dtype)
                y = dt.dropout(x, p, True)
                kept = y != 0
                self.assertTrue(torch.equal(y[kept], x[kept] * scale(p, dtype)))
                self.assertTrue(torch.all(y[~kept] == 0))

    def test_evaluation_is_the_identity(self):
        x = torch.randn(100)
        layer = dt.Dropout(0.5)
        layer.eval()
        self.assertIs(layer(x), x)
        self.assertIs(dt.dropout(x, 0.5, False), x)
        x_var = x.clone().requires_grad_()
        layer(x_var).sum().backward()
        self.assertTrue(torch.equal(x_var.grad, torch.ones(100)))
        layer.train()
        self.assertFalse(torch.equal(layer(x), x))

    def test_in_place(self):
        for dtype in FLOAT_TYPES:
            x = torch.randn(4096, dtype=dtype)
            want = dt.dropout(x, 0.4, True, seed=5)
            target = x.clone()
            got = dt.dropout(target, 0.4, True, seed=5, inplace=True)
            self.assertIs(got, target)
            self.assertTrue(same_bits(target, want))
            layer = dt.Dropout(0.4, inplace=True, seed=5)
            target = x.clone()
            self.assertIs(layer(target), target)
            self.assertTrue(same_bits(target, want))

    def test_in_place_on_a_leaf_that_requires_grad_is_refused_like_nn_dropout(self):
        for module in (torch.nn.Dropout(0.5, inplace=True), dt.Dropout(0.5, inplace=True)):
            with self.assertRaisesRegex(RuntimeError, "leaf Variable"):
                module(torch.ones(10, requires_grad=True))

    def test_in_place_moves_the_version_counter(self):
        # w's gradient needs x; changing x in place must be caught by autograd.
        w = torch.ones(10, requires_grad=True)
        x = torch.randn(10)
        y = w * x
        version = x._version
        dt.dropout(x, 0.5, True, inplace=True)
        self.assertGreater(x._version, version)
        with self.assertRaisesRegex(RuntimeError, "modified by an inplace operation"):
            y.sum().backward()

    def test_empty_tensors(self):
        for shape in ((0,), (0, 5), (3, 0, 2)):
            x = torch.empty(shape, requires_grad=True)
            y = dt.Dropout(0.5)(x)
            self.assertEqual(y.shape, x.shape)
            y.sum().backward()
            self.assertEqual(x.grad.shape, x.shape)
            self.assertEqual(F.dropout(torch.empty(shape), 0.5).shape, y.shape)

    def test_non_contiguous_input_is_handled(self):
        base = torch.randn(64, 48, dtype=torch.float64)
        for x in (base.t(), base[:, ::3], base[::2], base.unsqueeze(0).expand(3, 64, 48)):
            with self.subTest(strides=x.stride()):
                self.assertFalse(x.is_contiguous())
                # The mask index is the row-major index, whatever the strides.
                want = dt.dropout(x.contiguous(), 0.3, True, seed=8)
                got = dt.dropout(x, 0.3, True, seed=8)
                self.assertTrue(torch.equal(got, want))
                x_var = x.detach().clone().requires_grad_()
                x_var_t = x_var.t() if x_var.dim() == 2 else x_var
                dt.dropout(x_var_t, 0.3, True, seed=8).sum().backward()
        # In place on a non-contiguous view writes through the view.
        y = base.clone()
        view = y.t()
        want = dt.dropout(view.contiguous(), 0.3, True, seed=9)
        self.assertIs(dt.dropout(view, 0.3, True, seed=9, inplace=True), view)
        self.assertTrue(torch.equal(y.t(), want))

    def test_gradcheck_float64(self):
        for p in (0.0, 0.3, 0.75, 1.0):
            x = torch.randn(5, 7, dtype=torch.float64, requires_grad=True)
            fn = lambda t: dt.dropout(t, p, True, seed=123, stream=4)
            self.assertTrue(torch.autograd.gradcheck(fn, (x,)))
            self.assertTrue(torch.autograd.gradgradcheck(fn, (x,)))
        # In place on a non-contiguous non-leaf, both ways of saving the mask.
        x = torch.randn(6, 8, dtype=torch.float64, requires_grad=True)
        for save_mask in (False, True):
            fn = lambda t: dt.dropout((t * 1).t(), 0.5, True, seed=3, inplace=True,
                                      save_mask=save_mask)
            self.assertTrue(torch.autograd.gradcheck(fn, (x,)))
        layer = dt.Dropout(0.5, seed=99)
        x = torch.randn(6, 6, dtype=torch.float64, requires_grad=True)

        def same_stream(t):
            layer.next_stream = 0  # gradcheck calls it many times: one mask
            return layer(t)

        self.assertTrue(torch.autograd.gradcheck(same_stream, (x,)))

    def test_rejects_what_it_cannot_run(self):
        with self.assertRaisesRegex(TypeError, "dtype"):
            dt.dropout(torch.ones(4, dtype=torch.int32), 0.5, True)
        with self.assertRaisesRegex(TypeError, "torch.Tensor"):
            dt.dropout(np.ones(4), 0.5, True)
        x = torch.ones(64)
        self.assertIs(dt.dropout(x, 0.5, True, True), x)  # F.dropout's 4th argument: inplace
        self.assertEqual(set(x.tolist()), {0.0, 2.0})
        with self.assertRaises(TypeError):
            dt.dropout(x, 0.5, True, False, 7)  # seed is keyword-only
        with self.assertRaises(TypeError):
            dt.Dropout(0.5, seed="1")
        with self.assertRaises(ValueError):
            dt.dropout(torch.ones(4), 0.5, True, seed=-1)


class MaskAndSeeding(unittest.TestCase):
    """What the drop-in promises beyond nn.Dropout (docs/python.md)."""

    def test_forward_is_mask_stream_v1_and_backward_uses_the_same_mask(self):
        for dtype in FLOAT_TYPES:
            x = torch.randn(3, 1000, dtype=dtype, requires_grad=True)
            y = dt.dropout(x, 0.35, True, seed=42, stream=7)
            keep = keep_bits(x.numel(), 0.35, 42, 7).reshape(3, 1000)
            s = scale(0.35, dtype)
            want = torch.where(keep, x.detach() * s, torch.zeros((), dtype=dtype))
            self.assertTrue(same_bits(y.detach(), want))
            dy = torch.randn_like(y)
            y.backward(dy)
            self.assertTrue(same_bits(x.grad, torch.where(keep, dy * s, torch.zeros((), dtype=dtype))))

    def test_functional_without_seed_is_reproducible_under_manual_seed(self):
        x = torch.ones(5000)
        torch.manual_seed(1234)
        a1, a2 = dt.dropout(x, 0.5, True), dt.dropout(x, 0.5, True)
        after_a = torch.rand(1)
        torch.manual_seed(1234)
        b1, b2 = dt.dropout(x, 0.5, True), dt.dropout(x, 0.5, True)
        after_b = torch.rand(1)
        self.assertTrue(torch.equal(a1, b1) and torch.equal(a2, b2))
        self.assertFalse(torch.equal(a1, a2))
        self.assertTrue(torch.equal(after_a, after_b))
        # The rule itself: seed = initial_seed(), stream = one int64 draw.
        torch.manual_seed(1234)
        stream = torch.randint(-(1 << 63), (1 << 63) - 1, ()).item() % (1 << 64)
        want = dt.dropout(x, 0.5, True, seed=1234, stream=stream)
        self.assertTrue(torch.equal(a1, want))

    def test_a_call_that_raises_draws_nothing(self):
        torch.manual_seed(5)
        for bad in ((torch.ones(4), 1.5), (torch.ones(4, dtype=torch.int64), 0.5), ([1.0], 0.5)):
            with self.assertRaises((ValueError, TypeError)):
                dt.dropout(bad[0], bad[1], True)
        dt.dropout(torch.ones(4), 0.5, False)  # evaluation draws nothing either
        after = torch.rand(1)
        torch.manual_seed(5)
        self.assertTrue(torch.equal(after, torch.rand(1)))

    def test_module_without_seed_records_what_it_used(self):
        layer = dt.Dropout(0.25)
        torch.manual_seed(77)
        x = torch.randn(2000)
        y = layer(x)
        self.assertEqual(layer.last_seed, 77)
        want = dt.dropout(x, 0.25, True, seed=layer.last_seed, stream=layer.last_stream)
        self.assertTrue(torch.equal(y, want))

    def test_module_with_seed_counts_streams_like_the_c_layer(self):
        x = torch.randn(2000, dtype=torch.float64)
        layer = dt.Dropout(0.5, seed=2024)
        outputs = [layer(x) for _ in range(3)]
        self.assertEqual(layer.next_stream, 3)
        self.assertEqual(layer.last_stream, 2)
        for stream, y in enumerate(outputs):
            self.assertTrue(torch.equal(y, dt.dropout(x, 0.5, True, seed=2024, stream=stream)))
        layer.eval()
        layer(x)
        self.assertEqual(layer.next_stream, 3)  # evaluation draws nothing
        resumed = dt.Dropout(0.5, seed=2024)
        resumed.next_stream = 1
        self.assertTrue(torch.equal(resumed(x), outputs[1]))

    def test_backward_keeps_two_integers_or_a_one_bit_mask(self):
        x = torch.randn(1001, dtype=torch.float64, requires_grad=True)
        dy = torch.randn(1001, dtype=torch.float64)
        grads = []
        for save_mask in (False, True):
            x.grad = None
            y = dt.dropout(x, 0.4, True, seed=10, stream=20, save_mask=save_mask)
            saved = y.grad_fn.saved_tensors
            if save_mask:
                self.assertEqual(len(saved), 1)
                self.assertEqual((saved[0].dtype, saved[0].numel()), (torch.uint8, 126))  # ceil(1001/8)
                packed = dropout.mask(1001, 0.4, seed=10, stream=20)
                self.assertEqual(saved[0].numpy().tobytes(), packed.tobytes())
            else:
                self.assertEqual(len(saved), 0)  # only (p, seed, stream) as plain numbers
            y.backward(dy)
            grads.append(x.grad.clone())
        self.assertTrue(same_bits(grads[0], grads[1]))
        layer = dt.Dropout(0.4, seed=1, save_mask=True)
        self.assertEqual(repr(layer), "Dropout(p=0.4, inplace=False, seed=1, save_mask=True)")
        fn = lambda t: dt.dropout(t, 0.4, True, seed=3, save_mask=True)
        self.assertTrue(torch.autograd.gradcheck(fn, (x,)))
        self.assertTrue(torch.autograd.gradgradcheck(fn, (x,)))

    def test_threads_do_not_change_results(self):
        x = torch.randn(1 << 20)
        before = dropout.threads()
        try:
            dropout.set_threads(1)
            one = dt.dropout(x, 0.3, True, seed=3)
            dropout.set_threads(2)
            two = dt.dropout(x, 0.3, True, seed=3)
        finally:
            dropout.set_threads(before)
        self.assertTrue(torch.equal(one, two))

    def test_python_threads_with_autograd(self):
        x = torch.randn(1 << 16, dtype=torch.float64)
        errors, grads = [], {}

        def work(s):
            try:
                t = x.clone().requires_grad_()
                dt.dropout(t, 0.5, True, seed=s).sum().backward()
                grads[s] = t.grad
            except Exception as error:
                errors.append(error)

        workers = [threading.Thread(target=work, args=(s,)) for s in range(6)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        self.assertEqual(errors, [])
        for s in range(6):
            keep = keep_bits(x.numel(), 0.5, s, 0)
            self.assertTrue(torch.equal(grads[s], keep.double() * 2.0))

    def test_drop_in_inside_a_model(self):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(8, 16), dt.Dropout(0.5), torch.nn.ReLU(),
                                    torch.nn.Linear(16, 2))
        x = torch.randn(32, 8)
        loss = model(x).pow(2).mean()
        loss.backward()
        self.assertTrue(all(p.grad is not None for p in model.parameters()))
        model.eval()
        reference = torch.nn.Sequential(model[0], torch.nn.Dropout(0.5), model[2], model[3]).eval()
        self.assertTrue(torch.equal(model(x), reference(x)))
        self.assertEqual(set(model.state_dict()), set(reference.state_dict()))


if __name__ == "__main__":
    unittest.main()


class FirstOffset(unittest.TestCase):
    """first=: the flat mask index of element 0, so a shard gets exactly its
    rows of the whole tensor's mask."""

    def test_shards_are_rows_of_the_whole(self):
        x = torch.randn(8, 5, 3)
        whole = dt.dropout(x, 0.5, True, seed=9, stream=4)
        per_sample = x[0].numel()
        for k in range(8):
            row = dt.dropout(x[k:k + 1], 0.5, True, seed=9, stream=4, first=k * per_sample)
            self.assertTrue(same_bits(row, whole[k:k + 1]))
        layer = dt.Dropout(0.5, seed=9, first=3 * per_sample)
        layer.next_stream = 4
        self.assertTrue(same_bits(layer(x[3:5]), whole[3:5]))

    def test_backward_uses_the_shard_mask_and_range_is_checked(self):
        x = torch.randn(4, 6, requires_grad=True)
        y = dt.dropout(x, 0.3, True, seed=2, first=12)
        y.backward(torch.ones_like(y))
        kept = keep_bits(36, 0.3, 2, 0)[12:].reshape(4, 6)
        self.assertTrue(torch.equal(x.grad, kept.float() * scale(0.3, torch.float32)))
        with self.assertRaises(ValueError):
            dt.dropout(x.detach(), 0.3, True, seed=2, first=2 ** 64 - 3)
        with self.assertRaises(TypeError):
            dt.Dropout(0.5, first=1.5)
