"""`memray attach` on a target in another mount namespace (a container, `unshare -m`).

The target writes the capture itself, so -o FILE is FILE as the target sees it; memray must
name it as it can be reached from where memray runs: /proc/PID/root/FILE
(tools/memray/target_path.h). The target here runs under `unshare -m` with a private tmpfs on
a directory that also exists, empty, in the test's namespace. Needs root (tests/cmake/attach.cmake)."""

import os
import shutil
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import memray_testlib as lib  # noqa: E402
from attach_testlib import Target, attach, detach  # noqa: E402

TARGET = """
    import sys
    print("ready", flush=True)
    kept = []
    for line in sys.stdin:
        kept.append(bytearray(100000))
        print("pong", line.strip(), flush=True)
"""


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("unshare"), "needs root and unshare(1)")
class MountNamespaceTests(lib.TempDirTestCase):
    def start_in_namespace(self):
        """A target in a mount namespace of its own, with a private tmpfs on self.private."""
        self.private = self.tmp / "private"
        self.private.mkdir()
        # Target runs PYTHON -u SCRIPT ARGS: this wrapper stands in for PYTHON.
        wrapper = lib.write_file(self.tmp / "python-in-namespace", """\
            #!/bin/sh
            exec unshare --mount --propagation private sh -c \\
                'mount -t tmpfs -o size=8m tmpfs "$0" && exec "$@"' %s %s "$@"
        """ % (self.private, lib.test_python()))
        wrapper.chmod(0o755)
        target = Target(self.tmp, TARGET, python=str(wrapper))
        self.addCleanup(target.kill)
        target.wait_for("ready")
        return target

    def test_the_capture_is_named_as_seen_from_memray(self):
        target = self.start_in_namespace()
        seen = "/proc/%d/root%s/out.bin" % (target.pid, self.private)
        result = attach(target.pid, self.private / "out.bin", verbose=False)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("writing profile results into %s\n" % seen, result.stderr)
        self.assertFalse((self.private / "out.bin").exists())  # not in this namespace
        self.assertTrue(os.path.exists(seen))
        target.send("allocate\n")
        target.wait_for("pong")
        result = detach(target.pid)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(" to %s\n" % seen, result.stderr)
        capture = lib.parse_capture(seen)
        self.assertEqual(capture.end["state"], "complete")

    def test_an_existing_capture_is_refused_where_it_is(self):
        target = self.start_in_namespace()
        seen = "/proc/%d/root%s/out.bin" % (target.pid, self.private)
        Path(seen).write_text("precious")
        result = attach(target.pid, self.private / "out.bin", verbose=False)
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stderr, "memray attach: error: File already exists, will not overwrite"
                                        " without --force: %s\n" % seen)
        self.assertEqual(Path(seen).read_text(), "precious")

    def test_same_namespace_paths_are_left_alone(self):
        target = Target(self.tmp, TARGET)
        self.addCleanup(target.kill)
        target.wait_for("ready")
        result = attach(target.pid, self.tmp / "out.bin", verbose=False)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("writing profile results into %s\n" % (self.tmp / "out.bin"), result.stderr)
        result = detach(target.pid)
        self.assertIn(" to %s\n" % (self.tmp / "out.bin"), result.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
