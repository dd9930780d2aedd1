"""The pytest plugin and the IPython magic, as their users meet them: the wheel installed fresh
into a venv of the interpreter under test, then pytest run there on pytest_plugin_cases.py,
whose tests drive pytest itself through pytester (and IPython without a terminal).

Debian ships pytest, pytest-xdist, IPython and anyio for its own /usr/bin/python3.11 only
(python3-pytest, python3-pytest-xdist, python3-ipython, python3-anyio; tools/scripts/setup.sh),
so the venv is made with --system-site-packages: it sees Debian's pytest and its own memray, as a
user's venv would (tests/cmake/pytest_plugin.cmake registers this test where pytest is found).

The wheel is written once per test run by the python_wheel fixture (build/wheel/)."""

import os
import shutil
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import memray_testlib as lib  # noqa: E402

HERE = Path(__file__).resolve().parent
CASES = HERE / "pytest_plugin_cases.py"
WHEEL_DIR = lib.BUILD_DIR / "wheel"
# pytester's subprocess runs and xdist's workers on a loaded 2-core machine: generous.
SUITE_TIMEOUT = 1500


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MEMRAY_", "PYTHON", "PYTEST")) and k != "VIRTUAL_ENV"}
    env.update(extra or {})
    return env


class PytestPluginTests(unittest.TestCase):
    def setUp(self):
        wheels = sorted(WHEEL_DIR.glob("memray-*.whl"))
        self.assertEqual(len(wheels), 1, "expected one wheel in %s (the python_wheel fixture)" % WHEEL_DIR)
        self.root = Path(tempfile.mkdtemp(prefix="memray-pytest-plugin-")).resolve()
        self.addCleanup(shutil.rmtree, self.root, ignore_errors=True)
        venv = self.root / "venv"
        made = lib.run_explained([lib.test_python(), "-m", "venv", "--system-site-packages", venv], env=clean_env())
        self.assertEqual(made.returncode, 0, made.stderr)
        self.python = venv / "bin" / "python"
        installed = lib.run_explained([self.python, "-m", "pip", "install", "--no-index", "--disable-pip-version-check",
                                       wheels[0]], env=clean_env(), timeout=300)
        self.assertEqual(installed.returncode, 0, installed.stdout + installed.stderr)
        self.env = clean_env({"PATH": "%s:%s" % (venv / "bin", os.environ.get("PATH", ""))})

    def test_pytester_suite(self):
        missing = lib.run_explained([self.python, "-c", "import pytest, xdist, IPython, anyio"], env=self.env)
        self.assertEqual(missing.returncode, 0, "%s lacks pytest, pytest-xdist, IPython or anyio (Debian: "
                         "python3-pytest python3-pytest-xdist python3-ipython python3-anyio, "
                         "tools/scripts/setup.sh):\n%s"
                         % (lib.test_python(), missing.stderr))
        work = self.root / "work"
        work.mkdir()
        # The cases' own run: no cache in the source tree, its temporary files under our root.
        result = lib.run_explained(
            [self.python, "-m", "pytest", "-p", "pytester", "-p", "no:cacheprovider", "-rfE", "-v",
             "--rootdir", work, "--basetemp", self.root / "basetemp", CASES],
            cwd=work, env=self.env, timeout=SUITE_TIMEOUT)
        print(result.stdout[-20000:])
        self.assertEqual(result.returncode, 0, "the pytester suite failed (its output above):\n%s"
                         % result.stderr[-5000:])


if __name__ == "__main__":
    unittest.main()
