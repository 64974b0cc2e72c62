"""
An offline install of python/ with Debian's pip and setuptools, the library
copied inside the package, then imported from the install target alone.
Registered by tests/python.cmake only where pip and setuptools import (it
says so at configure time otherwise).
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from test_package import FIRST_SPEC_MASK, PACKAGE, PROBE, built_library, run_python


class Install(unittest.TestCase):
    def test_offline_pip_install_with_the_library_inside(self):
        with tempfile.TemporaryDirectory() as root:
            source = os.path.join(root, "python")
            shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns(
                "__pycache__", "build", "*.egg-info", "libdropout.so*"))
            shutil.copy(built_library(), os.path.join(source, "dropout", "libdropout.so"))
            site = os.path.join(root, "site")
            install = subprocess.run(
                [sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-index",
                 "--no-deps", "--disable-pip-version-check", "--target", site, source],
                capture_output=True, text=True, timeout=300, cwd=root)
            self.assertEqual(install.returncode, 0, install.stdout + install.stderr)
            self.assertTrue(glob.glob(os.path.join(site, "dropout-*.dist-info")))
            result = run_python(PROBE, {"PYTHONPATH": site})
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(result.stdout.split(),
                             [os.path.join(site, "dropout", "libdropout.so"), FIRST_SPEC_MASK])


if __name__ == "__main__":
    unittest.main()
