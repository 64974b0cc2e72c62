"""
NumPy front end: dropout.forward / backward / mask against docs/SPEC.md.

Known answers are the packed masks of SPEC section 4 (the first rows of
tests/data/mask_v1_kat.txt); the element rules are
SPEC section 1 checked bit for bit; errors are the library's status codes
mapped to ValueError / TypeError.
"""
import math
import threading
import unittest

import numpy as np

import dropout
from test_kat import KAT_FILE, read_cases

# SPEC section 4's table: the first 10 cases of tests/data/mask_v1_kat.txt
# (seed, stream, first, n, p, packed mask in hex), read as test_kat reads them.
KNOWN_MASKS = read_cases(KAT_FILE)[:10]

FLOAT_TYPES = (np.float32, np.float64)


def bits(mask, n):
    return np.unpackbits(mask, count=n, bitorder="little").astype(bool)


def scale(p, dtype):
    """s = 1 / (1 - p) in double, rounded once to the element type."""
    return dtype(1.0 / (1.0 - p))


def same_bits(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def awkward_values(n, dtype, seed=1):
    """Normal values plus the ones SPEC section 1 singles out."""
    x = np.random.default_rng(seed).standard_normal(n).astype(dtype)
    x[:6] = [np.nan, np.inf, -np.inf, -0.0, 0.0, -1.5]
    return x


class KnownMasks(unittest.TestCase):
    def setUp(self):
        # a short or reordered file must fail, not check fewer rows
        self.assertEqual(len(KNOWN_MASKS), 10)
        self.assertEqual(KNOWN_MASKS[0], (0, 0, 0, 64, 0.5, "4c45a0d2a9aee1f3"))
        self.assertEqual(KNOWN_MASKS[9], (7, 0, 0, 16, 0.0, "ffff"))

    def test_spec_section_4(self):
        for seed, stream, first, n, p, expected in KNOWN_MASKS:
            with self.subTest(seed=seed, stream=stream, first=first, p=p):
                got = dropout.mask(n, p, seed=seed, stream=stream, first=first)
                self.assertEqual(got.dtype, np.uint8)
                self.assertEqual(got.tobytes().hex(), expected)

    def test_forward_returns_the_same_masks(self):
        for seed, stream, first, n, p, expected in KNOWN_MASKS:
            with self.subTest(seed=seed, stream=stream, first=first, p=p):
                x = np.ones(n, np.float64)
                y, mask = dropout.forward(x, p, seed=seed, stream=stream, first=first,
                                          return_mask=True)
                self.assertEqual(mask.tobytes().hex(), expected)
                if p < 1.0:
                    want = np.where(bits(mask, n), 1.0 / (1.0 - p), 0.0)
                    self.assertTrue(same_bits(y, want))

    def test_keep_agrees_with_the_packed_mask(self):
        seed, stream, first, n, p = 0x2A, 0x7, 288, 16, 0.1
        mask = bits(dropout.mask(n, p, seed=seed, stream=stream, first=first), n)
        for k in range(n):
            self.assertEqual(dropout.keep(seed, stream, first + k, p), bool(mask[k]))
        self.assertFalse(dropout.keep(seed, stream, 290, p))  # the tie SPEC names

    def test_unused_high_bits_are_zero(self):
        for n in range(1, 17):
            m = dropout.mask(n, 0.0, seed=1, stream=2)
            self.assertEqual(m.size, (n + 7) // 8)
            self.assertEqual(int(np.unpackbits(m, bitorder="little")[n:].sum()), 0)


class ForwardRules(unittest.TestCase):
    def test_kept_are_x_times_s_dropped_are_positive_zero(self):
        n = 4099
        for dtype in FLOAT_TYPES:
            for p in (0.1, 0.5, 0.9, 1e-6):
                with self.subTest(dtype=dtype.__name__, p=p):
                    x = awkward_values(n, dtype)
                    y, mask = dropout.forward(x, p, seed=11, stream=3, return_mask=True)
                    keep = bits(mask, n)
                    with np.errstate(invalid="ignore", over="ignore"):
                        want = np.where(keep, x * scale(p, dtype), dtype(0.0))
                    self.assertTrue(same_bits(y, want))
                    self.assertFalse(np.signbit(y[~keep]).any())  # +0.0, also for NaN, -0.0

    def test_p_zero_is_bitwise_identity_and_p_one_is_all_positive_zero(self):
        for dtype in FLOAT_TYPES:
            x = awkward_values(1000, dtype)
            y, mask = dropout.forward(x, 0.0, seed=5, stream=5, return_mask=True)
            self.assertTrue(same_bits(y, x))
            self.assertTrue(bits(mask, 1000).all())
            y, mask = dropout.forward(x, 1.0, seed=5, stream=5, return_mask=True)
            self.assertTrue(same_bits(y, np.zeros_like(x)))
            self.assertFalse(bits(mask, 1000).any())

    def test_evaluation_is_bitwise_identity(self):
        for dtype in FLOAT_TYPES:
            x = awkward_values(1000, dtype)
            y, mask = dropout.forward(x, 0.5, training=False, seed=1, stream=1, return_mask=True)
            self.assertIsNot(y, x)
            self.assertTrue(same_bits(y, x))
            self.assertTrue(bits(mask, 1000).all())

    def test_shape_is_kept_and_mask_index_is_row_major(self):
        x = np.arange(1, 61, dtype=np.float32).reshape(3, 4, 5)
        y, mask = dropout.forward(x, 0.4, seed=9, stream=1, return_mask=True)
        self.assertEqual(y.shape, x.shape)
        flat = dropout.forward(x.ravel(), 0.4, seed=9, stream=1)
        self.assertTrue(same_bits(y.ravel(), flat))

    def test_in_place_equals_out_of_place(self):
        for dtype in FLOAT_TYPES:
            x = awkward_values(5000, dtype)
            want = dropout.forward(x, 0.3, seed=2, stream=8)
            out = dropout.forward(x, 0.3, seed=2, stream=8, out=x)
            self.assertIs(out, x)
            self.assertTrue(same_bits(x, want))

    def test_out_argument_is_written(self):
        x = awkward_values(100, np.float64)
        out = np.full_like(x, 7.0)
        y = dropout.forward(x, 0.3, seed=2, stream=8, out=out)
        self.assertIs(y, out)
        self.assertTrue(same_bits(out, dropout.forward(x, 0.3, seed=2, stream=8)))

    def test_unaligned_arrays_work_and_give_the_same_bits(self):
        # NumPy arrays need not be aligned to their element size; the
        # library's streaming stores (outputs of 16 MiB or more, here on one
        # thread) need aligned outputs and fall back to plain stores.
        n = (1 << 22) + 5
        x = awkward_values(n, np.float32)
        want = dropout.forward(x, 0.3, seed=3, stream=9)
        raw_x = np.zeros(4 * n + 1, dtype=np.uint8)
        raw_y = np.zeros(4 * n + 1, dtype=np.uint8)
        ux = raw_x[1:].view(np.float32)
        uy = raw_y[1:].view(np.float32)
        self.assertFalse(ux.flags.aligned)
        ux[:] = x
        before = dropout.threads()
        try:
            dropout.set_threads(1)
            dropout.forward(ux, 0.3, seed=3, stream=9, out=uy)
            self.assertTrue(same_bits(uy, want))
            mask = dropout.mask(n, 0.3, seed=3, stream=9)
            dropout.backward(ux, 0.3, mask=mask, out=uy)
            self.assertTrue(same_bits(uy, want))
        finally:
            dropout.set_threads(before)

    def test_a_slice_with_its_offset_is_that_slice_of_the_whole(self):
        x = awkward_values(10000, np.float32)
        whole = dropout.forward(x, 0.25, seed=3, stream=4)
        for begin, end in ((0, 1), (5, 17), (16, 4096), (4097, 10000)):
            part = dropout.forward(x[begin:end], 0.25, seed=3, stream=4, first=begin)
            self.assertTrue(same_bits(part, whole[begin:end]))

    def test_empty_arrays(self):
        for dtype in FLOAT_TYPES:
            x = np.empty((0, 3), dtype)
            y, mask = dropout.forward(x, 0.5, seed=1, stream=1, return_mask=True)
            self.assertEqual(y.shape, (0, 3))
            self.assertEqual(mask.size, 0)
            self.assertEqual(dropout.backward(x, 0.5, seed=1, stream=1).shape, (0, 3))
            self.assertEqual(dropout.mask(0, 0.5, seed=1, stream=1).size, 0)

    def test_keep_fraction_is_one_minus_p(self):
        # n Bernoulli(1 - p) draws: the kept count has sigma = sqrt(n p (1 - p)).
        # Bound: 6 sigma (a false alarm has probability ~2e-9); fixed seeds.
        n = 1 << 20
        for p in (0.1, 0.5, 0.9):
            kept = int(bits(dropout.mask(n, p, seed=2024, stream=int(p * 10)), n).sum())
            sigma = math.sqrt(n * p * (1 - p))
            self.assertLess(abs(kept - n * (1 - p)), 6 * sigma, "p=%g kept=%d" % (p, kept))

    def test_dtypes_share_the_mask(self):
        x64 = np.random.default_rng(0).standard_normal(3000)
        y64, m64 = dropout.forward(x64, 0.5, seed=4, stream=4, return_mask=True)
        y32, m32 = dropout.forward(x64.astype(np.float32), 0.5, seed=4, stream=4,
                                   return_mask=True)
        self.assertTrue(same_bits(m32, m64))

    def test_float16_rounds_once_from_float32(self):
        # SPEC section 1: (float)x * s_f32, rounded to nearest-even once.
        self.assertIn(np.dtype(np.float16), dropout.supported_dtypes())
        x = np.linspace(-2, 2, 1001).astype(np.float16)
        y, mask = dropout.forward(x, 0.3, seed=1, stream=2, return_mask=True)
        s32 = np.float32(1.0 / (1.0 - 0.3))
        want = np.where(bits(mask, x.size), (x.astype(np.float32) * s32).astype(np.float16),
                        np.float16(0))
        self.assertTrue(same_bits(y, want))
        self.assertTrue(same_bits(mask, dropout.mask(x.size, 0.3, seed=1, stream=2)))
        dx = dropout.backward(x, 0.3, seed=1, stream=2)
        self.assertTrue(same_bits(dx, y))


class BackwardRules(unittest.TestCase):
    def test_regenerated_and_packed_masks_agree_with_forward(self):
        n = 7777
        for dtype in FLOAT_TYPES:
            for p in (0.0, 0.2, 0.7, 1.0):
                with self.subTest(dtype=dtype.__name__, p=p):
                    dy = awkward_values(n, dtype, seed=3)
                    _, mask = dropout.forward(np.ones(n, dtype), p, seed=6, stream=2, first=10,
                                              return_mask=True)
                    regen = dropout.backward(dy, p, seed=6, stream=2, first=10)
                    packed = dropout.backward(dy, p, mask=mask)
                    as_forward = dropout.forward(dy, p, seed=6, stream=2, first=10)
                    self.assertTrue(same_bits(regen, packed))
                    self.assertTrue(same_bits(regen, as_forward))

    def test_evaluation_backward_is_identity_and_in_place_works(self):
        dy = awkward_values(100, np.float64)
        self.assertTrue(same_bits(dropout.backward(dy, 0.5, training=False), dy))
        want = dropout.backward(dy, 0.5, seed=1, stream=2)
        self.assertIs(dropout.backward(dy, 0.5, seed=1, stream=2, out=dy), dy)
        self.assertTrue(same_bits(dy, want))


class Errors(unittest.TestCase):
    x = np.ones(16, np.float32)

    def test_bad_p_is_value_error_with_the_library_message(self):
        for p in (-0.1, 1.0000001, float("nan"), float("inf"), -float("inf")):
            with self.subTest(p=p):
                with self.assertRaisesRegex(ValueError, "invalid p") as caught:
                    dropout.forward(self.x, p, seed=0, stream=0)
                self.assertEqual(caught.exception.status, 1)
                with self.assertRaises(ValueError):
                    dropout.forward(self.x, p, training=False, seed=0, stream=0)
                with self.assertRaises(ValueError):
                    dropout.backward(self.x, p, seed=0, stream=0)
                with self.assertRaises(ValueError):
                    dropout.mask(16, p, seed=0, stream=0)
                with self.assertRaises(ValueError):
                    dropout.keep(0, 0, 0, p)

    def test_non_number_p_is_type_error(self):
        for p in ("0.5", None, [0.5], True, False):  # p=True was taken as 1.0
            with self.subTest(p=p):
                with self.assertRaises(TypeError):
                    dropout.forward(self.x, p, seed=0, stream=0)
                with self.assertRaises(TypeError):
                    dropout.keep(0, 0, 0, p)

    def test_p_beyond_every_double_is_value_error(self):
        # float(10**400) raises OverflowError; it is a bad p like 2.0
        for sign in (1, -1):
            p = sign * 10 ** 400
            with self.subTest(p="%d * 10**400" % sign):
                with self.assertRaisesRegex(ValueError, "invalid p"):
                    dropout.forward(self.x, p, seed=0, stream=0)
                with self.assertRaises(ValueError):
                    dropout.mask(16, p, seed=0, stream=0)

    def test_bad_arrays_are_type_errors(self):
        bad = [
            [1.0, 2.0],                                  # not an ndarray
            np.ones(8, np.int32),                        # not floating
            np.ones(8, np.complex64),
            np.ones((4, 4), np.float32)[:, ::2],         # not contiguous
            np.ones((4, 4), np.float64).T,               # Fortran order
        ]
        for x in bad:
            with self.subTest(x=repr(x)[:40]):
                with self.assertRaises(TypeError):
                    dropout.forward(x, 0.5, seed=0, stream=0)
                with self.assertRaises(TypeError):
                    dropout.backward(x, 0.5, seed=0, stream=0)

    def test_bad_out_is_type_error(self):
        read_only = np.ones(16, np.float32)
        read_only.flags.writeable = False
        for out in (np.ones(16, np.float64), np.ones(15, np.float32),
                    np.ones((4, 4), np.float32), read_only, [0.0] * 16):
            with self.assertRaises(TypeError):
                dropout.forward(self.x, 0.5, seed=0, stream=0, out=out)

    def test_partial_overlap_is_value_error(self):
        buffer = np.arange(32, dtype=np.float32)
        with self.assertRaisesRegex(ValueError, "overlap"):
            dropout.forward(buffer[:16], 0.5, seed=0, stream=0, out=buffer[8:24])

    def test_bad_masks(self):
        dy = np.ones(100, np.float32)
        with self.assertRaisesRegex(ValueError, "mask buffer too small"):
            dropout.backward(dy, 0.5, mask=np.zeros(12, np.uint8))
        with self.assertRaises(TypeError):
            dropout.backward(dy, 0.5, mask=np.zeros(13, np.int8))
        with self.assertRaises(TypeError):
            dropout.backward(dy, 0.5, mask=np.zeros(13, np.uint8), seed=1, stream=1)
        with self.assertRaises(TypeError):
            dropout.backward(dy, 0.5)  # neither mask nor (seed, stream)
        with self.assertRaises(ValueError):
            dropout.mask(100, 0.5, seed=0, stream=0, out=np.zeros(12, np.uint8))

    def test_bad_integers(self):
        with self.assertRaises(ValueError):
            dropout.forward(self.x, 0.5, seed=-1, stream=0)
        with self.assertRaises(ValueError):
            dropout.forward(self.x, 0.5, seed=1 << 64, stream=0)
        with self.assertRaises(TypeError):
            dropout.forward(self.x, 0.5, seed=1.5, stream=0)
        with self.assertRaises(TypeError):
            dropout.forward(self.x, 0.5, seed=True, stream=0)
        with self.assertRaises(TypeError):
            dropout.forward(self.x, 0.5, stream=0)  # seed is required
        with self.assertRaises(ValueError):
            dropout.mask(-1, 0.5, seed=0, stream=0)
        # numpy integers are integers
        dropout.forward(self.x, 0.5, seed=np.uint64(2**64 - 1), stream=np.int8(3))

    def test_index_range_overflow_is_value_error(self):
        with self.assertRaisesRegex(ValueError, "index range overflow"):
            dropout.forward(self.x, 0.5, seed=0, stream=0, first=2**64 - 8)
        # The last 16 indices exactly fit.
        dropout.forward(self.x, 0.5, seed=0, stream=0, first=2**64 - 16)

    def test_unknown_isa_is_value_error_and_changes_nothing(self):
        before = dropout.isa()
        with self.assertRaisesRegex(ValueError, "ISA"):
            dropout.set_isa("no-such-isa")
        self.assertEqual(dropout.isa(), before)
        # C would read "scalar\0x" as "scalar": refused, not truncated
        for name in ("scalar\0x", "\0", "auto\0"):
            with self.subTest(name=name):
                with self.assertRaises(ValueError):
                    dropout.set_isa(name)
                self.assertEqual(dropout.isa(), before)

    def test_thread_counts_beyond_unsigned_are_value_errors(self):
        before = dropout.threads()
        # ctypes would pass 2**32 + 5 as 5 and 2**40 as 0 (all cores)
        for count in (2 ** 32 + 5, 2 ** 40, 2 ** 32, 2 ** 64 + 1):
            with self.subTest(count=count):
                with self.assertRaises(ValueError):
                    dropout.set_threads(count)
                self.assertEqual(dropout.threads(), before)
        with self.assertRaises(ValueError):
            dropout.set_threads(257)  # the library's own limit
        with self.assertRaises(TypeError):
            dropout.set_threads(True)


class Threads(unittest.TestCase):
    def test_library_thread_count_does_not_change_results(self):
        x = awkward_values(1 << 20, np.float32)
        before = dropout.threads()
        try:
            dropout.set_threads(1)
            one = dropout.forward(x, 0.3, seed=77, stream=1)
            dropout.set_threads(2)
            two = dropout.forward(x, 0.3, seed=77, stream=1)
        finally:
            dropout.set_threads(before)
        self.assertTrue(same_bits(one, two))

    def test_python_threads_calling_at_once_get_their_own_results(self):
        # ctypes releases the GIL during each call, so these really overlap.
        x = awkward_values(1 << 18, np.float64)
        want = [dropout.forward(x, 0.5, seed=s, stream=s) for s in range(8)]
        got = [None] * 8
        errors = []

        def work(s):
            try:
                for _ in range(5):
                    got[s] = dropout.forward(x, 0.5, seed=s, stream=s)
            except Exception as error:  # reported below, not lost in the thread
                errors.append(error)

        workers = [threading.Thread(target=work, args=(s,)) for s in range(8)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        self.assertEqual(errors, [])
        for s in range(8):
            self.assertTrue(same_bits(got[s], want[s]))


if __name__ == "__main__":
    unittest.main()


class Family(unittest.TestCase):
    """broadcast_dims=, variant= and the fused bias + dropout + residual."""

    def test_broadcast_dims_share_one_mask_element(self):
        rng = np.random.default_rng(3)
        x = rng.random((4, 5, 6), dtype=np.float32) + 1
        y, packed = dropout.forward(x, 0.5, seed=7, stream=2, broadcast_dims=(2,),
                                    return_mask=True)
        self.assertEqual(packed.size, 3)  # ceil(4 * 5 / 8)
        ratio = y / x
        self.assertTrue(np.array_equal(ratio, np.broadcast_to(ratio[:, :, :1], ratio.shape)))
        kept = bits(dropout.mask(20, 0.5, seed=7, stream=2), 20).reshape(4, 5)
        self.assertTrue(np.array_equal(ratio[:, :, 0] != 0, kept))
        self.assertTrue(same_bits(packed, dropout.mask((4, 5, 6), 0.5, seed=7, stream=2,
                                                       broadcast_dims=-1)))
        dy = rng.random((4, 5, 6), dtype=np.float32)
        from_mask = dropout.backward(dy, 0.5, mask=packed, broadcast_dims=(2,))
        regen = dropout.backward(dy, 0.5, seed=7, stream=2, broadcast_dims=(2,))
        self.assertTrue(same_bits(from_mask, regen))
        self.assertTrue(np.array_equal(regen != 0, ratio != 0))
        # a slice of the batch with its offset in mask space (5 per sample)
        part = dropout.forward(x[2:], 0.5, seed=7, stream=2, first=10, broadcast_dims=(2,))
        self.assertTrue(same_bits(part, y[2:]))
        for bad in ((3,), (-4,), (1.0,)):
            with self.assertRaises((ValueError, TypeError)):
                dropout.forward(x, 0.5, seed=7, stream=2, broadcast_dims=bad)

    def test_variants(self):
        x = np.random.default_rng(4).standard_normal(4096)
        p = 0.5
        a = 1 / np.sqrt((1.7580993408473766 ** 2 * p + 1) * (1 - p))
        b = 1.7580993408473766 * a * p
        y, packed = dropout.forward(x, p, seed=1, stream=0, variant="alpha", return_mask=True)
        kept = bits(packed, x.size).astype(bool)
        self.assertTrue(same_bits(packed, dropout.mask(x.size, p, seed=1, stream=0)))
        self.assertTrue(np.array_equal(y[kept], x[kept] * a + b))
        self.assertTrue(np.all(y[~kept] == -1.7580993408473766 * a + b))
        dx = dropout.backward(np.ones_like(x), p, seed=1, stream=0, variant="alpha")
        self.assertTrue(np.array_equal(dx, np.where(kept, a, 0.0)))
        ones = np.ones(4096)
        noise = dropout.forward(ones, 0.3, seed=2, stream=5, variant="gaussian")
        self.assertTrue(same_bits(dropout.backward(ones, 0.3, seed=2, stream=5,
                                                   variant="gaussian"), noise))
        # mean 1, variance p / (1 - p): 6 sigma of the mean
        self.assertLess(abs(noise.mean() - 1), 6 * np.sqrt(0.3 / 0.7 / 4096))
        with self.assertRaises(ValueError):
            dropout.forward(ones, 0.3, seed=2, stream=5, variant="gaussian", return_mask=True)
        with self.assertRaises(ValueError):
            dropout.forward(ones, 1.0, seed=2, stream=5, variant="gaussian")
        with self.assertRaises(ValueError):
            dropout.mask(8, 0.3, seed=2, stream=5, variant="gaussian")
        with self.assertRaises(ValueError):
            dropout.forward(ones, 0.3, seed=2, stream=5, variant="beta")

    def test_bias_dropout_residual_is_the_three_steps(self):
        rng = np.random.default_rng(5)
        for dtype in (np.float32, np.float64, np.float16):
            x = rng.standard_normal((6, 8)).astype(dtype)
            bias = rng.standard_normal(8).astype(dtype)
            residual = rng.standard_normal((6, 8)).astype(dtype)
            y, packed = dropout.bias_dropout_residual(x, bias, residual, 0.4, seed=3, stream=1,
                                                      return_mask=True)
            t = x + bias
            want = residual + dropout.forward(t, 0.4, seed=3, stream=1)
            self.assertTrue(same_bits(y, want))
            self.assertTrue(same_bits(packed, dropout.mask(48, 0.4, seed=3, stream=1)))
            dy = rng.standard_normal((6, 8)).astype(dtype)
            dx, dbias = dropout.bias_dropout_residual_backward(dy, 0.4, 8, seed=3, stream=1)
            self.assertTrue(same_bits(dx, dropout.backward(dy, 0.4, seed=3, stream=1)))
            sums = dx.astype(np.float64).sum(axis=0)
            if dtype == np.float16:
                sums = sums.astype(np.float32)
            self.assertTrue(same_bits(dbias, sums.astype(dtype)))
            dx2, dbias2 = dropout.bias_dropout_residual_backward(dy, 0.4, 8, mask=packed)
            self.assertTrue(same_bits(dx, dx2) and same_bits(dbias, dbias2))
        evaluation = dropout.bias_dropout_residual(x, bias, residual, 0.4, training=False,
                                                   seed=None, stream=None)
        self.assertTrue(same_bits(evaluation, residual + (x + bias)))
        with self.assertRaises(ValueError):
            dropout.bias_dropout_residual(x, bias[:4], residual, 0.4, seed=3, stream=1)
        with self.assertRaises(TypeError):
            dropout.bias_dropout_residual(x, bias.astype(np.float64), residual, 0.4, seed=3,
                                          stream=1)
