"""
Loading and installing the package: where libdropout is looked for, what the
error says when it is nowhere, a copy of the package with the library next to
it, and the import of dropout.torch.  (test_install.py installs it with pip.)
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

SOURCE = os.environ.get("DROPOUT_SOURCE_DIR",
                        os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
PACKAGE = os.path.join(SOURCE, "python")
LIBRARY_DIRS = [d for d in os.environ.get("DROPOUT_LIBRARY_PATH", "").split(os.pathsep) if d]

PROBE = ("import dropout; print(dropout.library_path); "
         "print(dropout.mask(64, 0.5, seed=0, stream=0).tobytes().hex())")
FIRST_SPEC_MASK = "4c45a0d2a9aee1f3"  # docs/SPEC.md section 4, first row


def built_library():
    for directory in LIBRARY_DIRS:
        path = os.path.join(directory, "libdropout.so")
        if os.path.exists(path):
            return os.path.realpath(path)
    raise AssertionError("DROPOUT_LIBRARY_PATH=%r holds no libdropout.so"
                         % os.environ.get("DROPOUT_LIBRARY_PATH"))


def run_python(code, env_changes, cwd=None):
    env = dict(os.environ)
    env.pop("DROPOUT_LIBRARY_PATH", None)
    env.pop("PYTHONPATH", None)
    env.update(env_changes)
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd or tempfile.gettempdir(),
                          capture_output=True, text=True, timeout=120)


class Loading(unittest.TestCase):
    def test_from_the_build_through_dropout_library_path(self):
        result = run_python(PROBE, {"PYTHONPATH": PACKAGE,
                                    "DROPOUT_LIBRARY_PATH": os.pathsep.join(["/nonexistent"] + LIBRARY_DIRS)})
        self.assertEqual(result.returncode, 0, result.stderr)
        path, mask = result.stdout.split()
        self.assertEqual(os.path.realpath(path), built_library())
        self.assertEqual(mask, FIRST_SPEC_MASK)

    def test_nowhere_says_where_it_looked(self):
        result = run_python(PROBE, {"PYTHONPATH": PACKAGE,
                                    "DROPOUT_LIBRARY_PATH": "/nonexistent/a" + os.pathsep + "/nonexistent/b"})
        if result.returncode == 0:
            # Only possible with a copy next to the package or a system-wide
            # install: it must come from there, never from the bad directories.
            loaded = result.stdout.split()[0]
            self.assertNotIn("/nonexistent", loaded)
            self.assertTrue(loaded.startswith("libdropout")
                            or loaded == os.path.join(PACKAGE, "dropout", "libdropout.so"), loaded)
            return
        self.assertIn("ImportError: dropout: cannot load the C library libdropout", result.stderr)
        for expected in ("next to the package: " + os.path.join(PACKAGE, "dropout", "libdropout.so"),
                         "DROPOUT_LIBRARY_PATH: /nonexistent/a/libdropout.so (no such file)",
                         "DROPOUT_LIBRARY_PATH: /nonexistent/b/libdropout.so (no such file)",
                         "system loader: libdropout.so"):
            self.assertIn(expected, result.stderr)

    def test_library_next_to_the_package(self):
        with tempfile.TemporaryDirectory() as root:
            shutil.copytree(os.path.join(PACKAGE, "dropout"), os.path.join(root, "dropout"),
                            ignore=shutil.ignore_patterns("__pycache__", "libdropout.so*"))
            shutil.copy(built_library(), os.path.join(root, "dropout", "libdropout.so"))
            result = run_python(PROBE, {"PYTHONPATH": root, "DROPOUT_LIBRARY_PATH": "/nonexistent"})
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(result.stdout.split(),
                             [os.path.join(root, "dropout", "libdropout.so"), FIRST_SPEC_MASK])
            # DROPOUT_LIBRARY_PATH, when it holds one, wins over the copy.
            result = run_python(PROBE, {"PYTHONPATH": root,
                                        "DROPOUT_LIBRARY_PATH": os.pathsep.join(LIBRARY_DIRS)})
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(os.path.realpath(result.stdout.split()[0]), built_library())

    def test_import_dropout_does_not_import_torch(self):
        code = "import sys, dropout; print('torch' in sys.modules); import dropout.torch; print(dropout.torch.Dropout)"
        result = run_python(code, {"PYTHONPATH": PACKAGE, "DROPOUT_LIBRARY_PATH": os.pathsep.join(LIBRARY_DIRS)})
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.split()[0], "False")
        self.assertIn("dropout.torch.Dropout", result.stdout)

    def test_lazy_attribute_dropout_torch(self):
        code = "import dropout; print(dropout.torch.Dropout(0.5))"
        result = run_python(code, {"PYTHONPATH": PACKAGE, "DROPOUT_LIBRARY_PATH": os.pathsep.join(LIBRARY_DIRS)})
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.strip(), "Dropout(p=0.5, inplace=False)")


if __name__ == "__main__":
    unittest.main()
