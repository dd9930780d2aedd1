"""The incremental native unwind (payload/src/native_unwinder.cpp) against whole unwinds.

`memray run --native` reuses the outer frames of a thread's previous unwind when it proves them
unchanged. Under MEMRAY_NATIVE_UNWIND_VERIFY=1 the payload also unwinds every stack whole with
libunwind, compares, and prints the counts when the capture stops. Each test drives allocations
from tests/native/unwind_probe.cpp through one way a stack can change between two allocations
(deeper and shallower chains, rbp-based and variable-size frames, signal handlers on the
thread's stack and on an alternate one, longjmp, C++ exceptions, threads, a forked child), and
requires every stack checked to be the whole unwind's."""

import re
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import memray_testlib as lib  # noqa: E402

HERE = Path(__file__).resolve().parent
PROBE = HERE / "unwind_probe.cpp"
DUMP = lib.BUILD_DIR / "bin" / "memray-hybrid-dump"
COUNTS = re.compile(r"\[memray\] native unwinds checked: (\d+), mismatches: (\d+), whole libunwind unwinds: (\d+)")

PRELUDE = """
import ctypes, os, sys
probe = ctypes.CDLL("LIBRARY")
"""


class IncrementalUnwindTests(lib.TempDirTestCase):
    @classmethod
    def setUpClass(cls):
        cls.libdir = Path(tempfile.mkdtemp(prefix="memray-unwind-probe-"))
        cls.library = cls.libdir / "libunwind_probe.so"
        # -O2, as distributions build libraries: frames without frame pointers, sibling calls.
        subprocess.run(["c++", "-g", "-O2", "-fPIC", "-shared", "-pthread", "-o", str(cls.library), str(PROBE)],
                       check=True)

    @classmethod
    def tearDownClass(cls):
        import shutil
        shutil.rmtree(cls.libdir, ignore_errors=True)

    def verified_run(self, body, options=()):
        """Runs PRELUDE + body under --native with verification; the counts lines printed (one
        per capture: a forked child prints its own)."""
        source = (PRELUDE + body).replace("LIBRARY", str(self.library))
        env = lib.memray_env(extra={"MEMRAY_NATIVE_UNWIND_VERIFY": "1"})
        result = lib.run_script(self.tmp, source, options=["--native"] + list(options), env=env)
        stderr = result.process.stderr
        self.assertEqual(result.process.returncode, 0, stderr)
        counts = [tuple(int(n) for n in match) for match in COUNTS.findall(stderr)]
        self.assertTrue(counts, "no verification counts in stderr:\n" + stderr)
        for checked, mismatches, _ in counts:
            self.assertEqual(mismatches, 0, stderr)
            self.assertGreater(checked, 0, stderr)
        return counts, result

    def test_chains_that_grow_shrink_and_branch(self):
        counts, result = self.verified_run("probe.probe_chains(3000)\n")
        (checked, _, _), = counts
        # Each round allocates about 26 times from the probe.
        self.assertGreater(checked, 3000 * 20)
        self.check_climb_stacks(result.capture)

    def check_climb_stacks(self, capture):
        """The capture's stacks themselves: below probe_chains (or with_alloca, which it
        calls), an allocation in climb's recursion has only climb frames down to allocate_here,
        and the recursion appears at every depth the probe reaches (1 to 9 frames)."""
        process = lib.run_explained([str(DUMP), str(capture)], timeout=lib.DEFAULT_TIMEOUT)
        self.assertEqual(process.returncode, 0, process.stderr)
        stacks = []
        for line in process.stdout.splitlines():
            if line.startswith("LOCATION"):
                stacks.append([])
            elif line.startswith("\t") and stacks:
                stacks[-1].append(line[1:].split("\t")[1])
        depths = set()
        for functions in stacks:
            if "probe_chains" not in functions or "climb" not in functions:
                continue
            outer = max(i for i, name in enumerate(functions) if name in ("probe_chains", "with_alloca"))
            below = functions[outer + 1:]
            self.assertEqual(below[-1], "allocate_here", functions)
            self.assertEqual(set(below[:-1]), {"climb"}, functions)
            depths.add(len(below) - 1)
        self.assertEqual(depths, set(range(1, 10)), process.stdout[-4000:])

    def test_signal_handlers_that_allocate(self):
        counts, _ = self.verified_run("assert probe.probe_signals(2000, 0) == 2000\n")
        (checked, _, whole), = counts
        self.assertGreater(checked, 2000 * 8)
        # The handler's stacks cross a signal frame: libunwind unwinds those whole.
        self.assertGreaterEqual(whole, 2000)

    def test_signal_handlers_on_an_alternate_stack(self):
        counts, _ = self.verified_run("assert probe.probe_signals(2000, 1) == 2000\n")
        (checked, _, whole), = counts
        self.assertGreater(checked, 2000 * 8)
        self.assertGreaterEqual(whole, 2000)

    def test_longjmp_out_of_a_deep_chain(self):
        counts, _ = self.verified_run("assert probe.probe_longjmp(3000) == 3000\n")
        self.assertGreater(counts[0][0], 3000 * 4)

    def test_cxx_exceptions_through_allocating_frames(self):
        counts, _ = self.verified_run("assert probe.probe_exceptions(3000) == 3000\n")
        self.assertGreater(counts[0][0], 3000 * 4)

    def test_threads_each_keep_their_own_frames(self):
        counts, _ = self.verified_run("assert probe.probe_threads(4, 2000) == 4\n")
        self.assertGreater(counts[0][0], 4 * 2000 * 5)

    def test_forked_child_reuses_nothing_it_cannot_prove(self):
        # The child starts with the parent's memory of its stack (the same addresses, the
        # same words) and must still get exact stacks.
        counts, _ = self.verified_run("""
probe.probe_chains(300)
pid = os.fork()
if pid == 0:
    probe.probe_chains(300)
    probe.probe_longjmp(300)
    sys.exit(0)
_, status = os.waitpid(pid, 0)
assert status == 0, status
probe.probe_chains(300)
""", options=["--follow-fork"])
        self.assertEqual(len(counts), 2, counts)


if __name__ == "__main__":
    unittest.main()
