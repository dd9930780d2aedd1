"""The command line of a `memray run` program, as `ps` and /proc/PID/cmdline show it, is the
program's: `PYTHON script.py ARGS`, `PYTHON -m module ARGS`, `PYTHON -c code ARGS`, byte for
byte what plain python shows -- not memray's bootstrap (payload/src/process_title.h)."""

import os
import subprocess
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import memray_testlib as lib  # noqa: E402

PYTHON = lib.test_python()

# Prints its pid, then waits for a line on stdin.
WAITING = "import os, sys\nprint(os.getpid(), flush=True)\nsys.stdin.readline()\n"


class CommandLineTests(lib.TempDirTestCase):
    def setUp(self):
        super().setUp()
        lib.write_file(self.tmp / "waiting.py", WAITING)

    def command_line_of(self, command, env):
        """Starts COMMAND (its program runs WAITING); returns its program's /proc/PID/cmdline
        and `ps -o args=` while it waits."""
        process = subprocess.Popen([str(c) for c in command], cwd=str(self.tmp), env=env,
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, universal_newlines=True)
        try:
            pid = int(lib.read_line(process))
            cmdline = Path("/proc/%d/cmdline" % pid).read_bytes()
            ps = subprocess.run(["ps", "-ww", "-o", "args=", "-p", str(pid)], stdout=subprocess.PIPE,
                                universal_newlines=True).stdout
        finally:
            _, err = lib.communicate_explained(process, "\n")
        self.assertEqual(process.returncode, 0, err)
        return cmdline, ps

    def check(self, args):
        expected = self.command_line_of([PYTHON] + args, lib.memray_env())
        actual = self.command_line_of(
            [lib.memray_binary(), "run", "--python", PYTHON, "-q", "-f", "-o", self.tmp / "out.bin"] + args,
            lib.memray_env())
        self.assertEqual(actual, expected)
        self.assertEqual(actual[0], b"\0".join(os.fsencode(str(a)) for a in [PYTHON] + args) + b"\0")
        self.assertGreater((self.tmp / "out.bin").stat().st_size, 0)

    def test_script(self):
        self.check(["waiting.py", "one", "two words", "", "--opt=é"])

    def test_module(self):
        self.check(["-m", "waiting", "-c", "x"])

    def test_code(self):
        self.check(["-c", WAITING, "arg"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
