"""
examples/python/mnist_mlp.py runs end to end on synthetic digits and the
drop-in trains as well as torch.nn.Dropout: both learn (>= 80% on ten
classes, chance is 10%) and their accuracies differ by less than 5 sigma of
the sampling noise that the example itself reports.  Fixed seeds throughout.
"""
import os
import re
import subprocess
import sys
import unittest

SOURCE = os.environ.get("DROPOUT_SOURCE_DIR",
                        os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
EXAMPLE = os.path.join(SOURCE, "examples", "python", "mnist_mlp.py")


class Example(unittest.TestCase):
    def test_synthetic_run(self):
        result = subprocess.run(
            [sys.executable, EXAMPLE, "--synthetic", "--epochs", "3", "--train-limit", "4000",
             "--hidden", "128", "--threads", "1"],
            capture_output=True, text=True, timeout=240)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        final = re.search(r"torch\.nn\.Dropout ([\d.]+)%, dropout\.torch\.Dropout ([\d.]+)%, "
                          r"difference (-?[\d.]+) points \(one sigma of sampling noise: ([\d.]+)",
                          result.stdout)
        self.assertIsNotNone(final, result.stdout)
        reference, drop_in, difference, sigma = map(float, final.groups())
        print(result.stdout)
        self.assertGreaterEqual(reference, 80.0)
        self.assertGreaterEqual(drop_in, 80.0)
        self.assertLess(abs(difference), 5 * sigma)

    def test_bad_data_directory_is_one_error_line(self):
        result = subprocess.run([sys.executable, EXAMPLE, "--data", "/nonexistent"],
                                capture_output=True, text=True, timeout=120)
        self.assertNotEqual(result.returncode, 0)
        self.assertEqual(result.stderr.count("\n"), 1, result.stderr)
        self.assertIn("lacks train-images-idx3-ubyte", result.stderr)


if __name__ == "__main__":
    unittest.main()
