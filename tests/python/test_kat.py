"""
Mask stream v1 known answers through the NumPy API: every case of
tests/data/mask_v1_kat.txt (SPEC section 4's table and the generated cases;
its header says the format) against dropout.mask and the mask that
dropout.forward returns.  The C tests read the same file (test_mask_vectors).
"""
import os
import unittest

import numpy as np

import dropout

KAT_FILE = os.path.join(os.environ.get("DROPOUT_SOURCE_DIR",
                                       os.path.join(os.path.dirname(__file__), "..", "..")),
                        "tests", "data", "mask_v1_kat.txt")


def read_cases(path):
    cases = []
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            seed, stream, first, n, p, mask = line.split()
            cases.append((int(seed, 0), int(stream, 0), int(first), int(n), float.fromhex(p), mask))
    return cases


class KnownAnswers(unittest.TestCase):
    def setUp(self):
        self.cases = read_cases(KAT_FILE)
        self.assertGreaterEqual(len(self.cases), 300, "the KAT file has too few cases")

    def test_mask(self):
        for seed, stream, first, n, p, want in self.cases:
            got = dropout.mask(n, p, seed=seed, stream=stream, first=first)
            self.assertEqual(got.tobytes().hex(), want,
                             "seed %#x stream %#x first %d n %d p %r" % (seed, stream, first, n, p))

    def test_forward_mask(self):
        for seed, stream, first, n, p, want in self.cases:
            x = np.arange(n, dtype=np.float32)
            _, got = dropout.forward(x, p, seed=seed, stream=stream, first=first, return_mask=True)
            self.assertEqual(got.tobytes().hex(), want,
                             "seed %#x stream %#x first %d n %d p %r" % (seed, stream, first, n, p))


if __name__ == "__main__":
    unittest.main()
