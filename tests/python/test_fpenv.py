"""
The floating-point mode is the library's (docs/SPEC.md section 6): with
torch.set_flush_denormal(True) (FTZ and DAZ in the calling thread), a 2^20
forward of subnormal float32 inputs through dropout.torch gives the raw bits
it gives in the default mode, on 1 and 2 threads and every ISA.  Raw bits:
torch.equal itself flushes subnormals under set_flush_denormal and would hide
the difference, so the tensors are compared viewed as int32.
"""
import unittest

import torch

import dropout
import dropout.torch as dt

N = 1 << 20


def subnormal_input():
    bits = torch.arange(N, dtype=torch.int64) * 2654435761 % (1 << 23)  # mantissas
    bits = bits | ((torch.arange(N) % 2) << 31)                           # both signs
    return bits.to(torch.int32).view(torch.float32)


class FlushDenormal(unittest.TestCase):
    def tearDown(self):
        torch.set_flush_denormal(False)
        dropout.set_threads(0)
        dropout.set_isa(None)

    def forward(self, x):
        return dt.functional.dropout(x, 0.5, training=True, seed=7, stream=3)

    def test_flush_denormal_changes_nothing(self):
        x = subnormal_input()
        self.assertTrue(bool((x.view(torch.int32) & 0x7FFFFFFF).ne(0).any()))
        dropout.set_threads(1)
        reference = self.forward(x).view(torch.int32).clone()
        self.assertTrue(bool((reference & 0x7F800000).eq(0).logical_and(reference != 0).any()),
                        "the reference has no subnormal outputs: the test would prove nothing")
        if not torch.set_flush_denormal(True):
            self.fail("torch.set_flush_denormal(True) is not supported on this CPU")
        try:
            for isa in ("scalar", "avx2", "avx512", "neon"):
                try:
                    dropout.set_isa(isa)
                except ValueError:
                    continue  # not on this machine
                for threads in (1, 2):
                    dropout.set_threads(threads)
                    got = self.forward(x).view(torch.int32)
                    differ = int((got != reference).sum())
                    self.assertEqual(differ, 0, "%s, %d thread(s), flush_denormal: %d of %d "
                                     "elements differ from the default mode" % (isa, threads,
                                                                               differ, N))
        finally:
            torch.set_flush_denormal(False)


if __name__ == "__main__":
    unittest.main()
