"""`memray run --aggregate` end to end, on the interpreter under test.

* A busy program (threads, big and small blocks, realloc growth, mmap with partial munmaps,
  frees of memory allocated long before, by another thread) is captured with
  MEMRAY_AGGREGATE_VERIFY=1, which writes the allocation records next to the checkpoints, and
  memray-aggregate-check must find that both give the same peak and leaks snapshots.
* A program that allocates 10 MiB, frees it and keeps 5 MiB is captured with --aggregate
  alone: `tree` and `summary` show the 10 MiB at the peak and the 5 MiB with --leaks.
* What needs every allocation (stats, temporary allocations, --temporal) refuses the capture
  with one line and exit status 1; flamegraph and table still write their HTML.
* A process killed after its checkpoints is read as of the last one.
* `memray attach --aggregate` (and with MEMRAY_AGGREGATE_VERIFY=1) on a running target.
"""

import re
import subprocess
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import memray_testlib as lib  # noqa: E402

PROBES = lib.BUILD_DIR / "tests" / "lib"
ALLOCATORS_PROBE = PROBES / "libmemray_test_allocators.so"
CHECK = lib.BUILD_DIR / "bin" / "memray-aggregate-check"

BUSY_PROGRAM = """\
import ctypes
import mmap
import threading
import time

probe = ctypes.CDLL(%(probe)r)
for name in ("malloc", "realloc", "mmap", "free", "munmap"):
    getattr(probe, "probe_" + name).restype = ctypes.c_void_p
    getattr(probe, "probe_" + name).argtypes = None
V = ctypes.c_void_p
S = ctypes.c_size_t
PAGE = mmap.PAGESIZE
MiB = 1024 * 1024

early = [bytearray(100_000 + i) for i in range(40)]  # freed much later, some by a thread

def small_churn(n):
    kept = []
    for i in range(n):
        kept.append(bytearray(600 + i %% 300))
        if i %% 3 == 0:
            kept.pop(0)
    return kept

def realloc_growth():
    block = probe.probe_malloc(S(1000))
    for size in (10_000, 200_000, 3 * MiB, 7 * MiB, 50_000):
        block = probe.probe_realloc(V(block), S(size))
    return block

def mappings():
    region = probe.probe_mmap(S(16 * PAGE))
    probe.probe_munmap(V(region + 4 * PAGE), S(4 * PAGE))    # a hole in the middle
    probe.probe_munmap(V(region), S(2 * PAGE))               # the head
    probe.probe_munmap(V(region + 15 * PAGE), S(PAGE))       # the tail
    whole = probe.probe_mmap(S(8 * PAGE))
    probe.probe_munmap(V(whole), S(8 * PAGE))
    m = mmap.mmap(-1, 32 * PAGE)
    m.write(b"x" * PAGE)
    m.close()
    return region

def big_peak():
    data = bytearray(24 * MiB)
    data[-1] = 1
    del data

def worker(index, out):
    out.append(small_churn(2000 + 500 * index))
    out.append(bytearray((index + 1) * 1_000_003))
    if index == 1:
        del early[::2]  # memory the main thread allocated
    time.sleep(0.05)

results = []
threads = [threading.Thread(target=worker, args=(i, results), name="worker-%%d" %% i) for i in range(3)]
for t in threads:
    t.start()
kept = small_churn(5000)
grown = realloc_growth()
region = mappings()
for t in threads:
    t.join()
big_peak()
time.sleep(1.3)  # at least one periodic checkpoint while running
del results[:2]
probe.probe_free(V(grown))
tail = [bytearray(3_000 + i) for i in range(100)]
"""

TEN_THEN_FIVE = """\
MiB = 1024 * 1024

def temporary():
    data = bytearray(10 * MiB)
    del data

def keep():
    return bytearray(5 * MiB)

def main():
    temporary()
    return keep()

result = main()
"""
TEMPORARY_LINE, KEEP_LINE = 4, 8


def run_check(capture):
    return subprocess.run([str(CHECK), str(capture)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=lib.DEFAULT_TIMEOUT)


class AggregateTests(lib.SharedCaptureTestCase):
    """One --aggregate capture of TEN_THEN_FIVE for the report tests."""

    PROGRAM = TEN_THEN_FIVE
    OPTIONS = ("--aggregate",)
    maxDiff = None

    def report(self, *args):
        process = lib.run_memray(list(args))
        self.assertEqual(process.returncode, 0, process.stderr)
        self.assertEqual(process.stderr, "")
        return process.stdout

    def frame(self, function, line):
        return "%s  %s:%d" % (function, self.script, line)

    # --- verification against the records ------------------------------------------------

    def test_checkpoints_agree_with_the_records_of_a_busy_program(self):
        tmp = self.tmp / "verify"
        env = lib.memray_env(extra={"MEMRAY_AGGREGATE_VERIFY": "1"})
        for index, options in enumerate((["--aggregate"], ["--aggregate", "--trace-python-allocators"],
                                         ["--aggregate", "--native"])):
            with self.subTest(options=options):
                result = lib.run_script(tmp, BUSY_PROGRAM % {"probe": str(ALLOCATORS_PROBE)}, options=options,
                                        env=env, output="verify-%d.bin" % index)
                self.assertEqual(result.process.returncode, 0, result.process.stderr)
                header = lib.run_parse(result.capture).stdout.splitlines()[0]
                self.assertIn(" aggregated=1 aggregate_with_records=1 ", header)
                check = run_check(result.capture)
                self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
                self.assertIn("records and checkpoints agree", check.stdout)
                locations = int(re.search(r"(\d+) locations", check.stdout).group(1))
                self.assertGreater(locations, 10, check.stdout)

    def test_check_refuses_a_capture_without_records(self):
        check = run_check(self.capture)
        self.assertEqual(check.returncode, 2, check.stdout)
        self.assertIn("MEMRAY_AGGREGATE_VERIFY=1", check.stderr)

    # --- what the capture holds -------------------------------------------------------------

    def test_parse_prints_checkpoints_and_no_allocation(self):
        process = lib.run_parse(self.capture)
        self.assertEqual(process.returncode, 0, process.stderr)
        kinds = [line.split(" ", 1)[0] for line in process.stdout.splitlines()]
        self.assertIn(" aggregated=1 aggregate_with_records=0 ", process.stdout.splitlines()[0])
        self.assertNotIn("ALLOCATION", kinds)
        self.assertNotIn("DEALLOCATION", kinds)
        self.assertIn("AGGREGATE_BEGIN", kinds)
        self.assertIn("AGGREGATE_LOCATION", kinds)
        self.assertEqual(kinds[-3:], ["AGGREGATE_END", "TRAILER", "END"])
        self.assertEqual(kinds.count("AGGREGATE_BEGIN"), kinds.count("AGGREGATE_END"))

    # --- reports ----------------------------------------------------------------------------

    def test_tree_of_the_peak_and_of_leaks(self):
        text = self.report("tree", self.capture)
        self.assertTrue(text.startswith("Peak memory usage: 10.4"), text)
        self.assertIn(self.frame("temporary", TEMPORARY_LINE), text)
        self.assertIn("10.486MB", text)
        self.assertNotIn(self.frame("keep", KEEP_LINE), text)

        text = self.report("tree", "--leaks", self.capture)
        self.assertTrue(text.startswith("Leaked memory: 5.2"), text)
        self.assertIn(self.frame("keep", KEEP_LINE), text)
        self.assertIn("5.243MB", text)
        self.assertNotIn("temporary", text)

    def test_summary_of_the_peak_and_of_leaks(self):
        for options, function, size, absent in (([], "temporary", "10.486MB", "keep at "),
                                                (["--leaks"], "keep", "5.243MB", "temporary at ")):
            text = self.report("summary", *options, self.capture)
            rows = [line for line in text.splitlines() if "%s at " % function in line]
            self.assertEqual(len(rows), 1, text)
            self.assertIn(size, rows[0])
            self.assertNotIn(absent, text)

    def test_html_reports_render_and_say_the_capture_is_aggregated(self):
        for command, options, function in (("flamegraph", [], "temporary"),
                                           ("flamegraph", ["--leaks", "--split-threads"], "keep"),
                                           ("table", [], "temporary")):
            with self.subTest(command=command, options=options):
                output = self.tmp / ("%s-%d.html" % (command, len(options)))
                process = lib.run_memray([command, "-f", "-o", output] + options + [self.capture])
                self.assertEqual(process.returncode, 0, process.stderr)
                data = re.search(r'<script type="application/json" id="memray-data">(.*?)</script>',
                                 output.read_text(), re.S).group(1)
                self.assertIn('"aggregated":true', data)
                self.assertIn('"%s"' % function, data)
                # The memory plot: the heap of the memory records, up to the 10 MiB peak.
                heap = [int(x) for x in re.search(r'"heap":\[([\d,]*)\]', data).group(1).split(",")]
                self.assertGreaterEqual(max(heap), 10 * 1024 * 1024)

    # --- refusals ---------------------------------------------------------------------------

    def assertRefused(self, command, args, what):
        process = lib.run_memray([command] + args + [self.capture])
        self.assertEqual(process.returncode, 1, process.stderr)
        lines = process.stderr.splitlines()
        self.assertEqual(len(lines), 1, process.stderr)
        self.assertEqual(
            lines[0],
            "memray %s: error: %s was captured with --aggregate, which keeps only what peak and leaks reports "
            "need; %s needs every allocation" % (command, self.capture, what))

    def test_what_needs_every_allocation_is_refused(self):
        temporary = "a temporary allocations report"
        cases = [
            ("stats", [], "stats"),
            ("stats", ["--json", "-f", "-o", str(self.tmp / "stats.json")], "stats"),
            ("tree", ["--temporary-allocations"], temporary),
            ("summary", ["--temporary-allocation-threshold", "3"], temporary),
            ("flamegraph", ["-f", "-o", str(self.tmp / "t.html"), "--temporary-allocations"], temporary),
            ("table", ["-f", "-o", str(self.tmp / "t.html"), "--temporary-allocations"], temporary),
            ("flamegraph", ["-f", "-o", str(self.tmp / "t.html"), "--temporal"], "a --temporal flame graph"),
            ("flamegraph", ["-f", "-o", str(self.tmp / "t.html"), "--temporal", "--leaks"],
             "a --temporal flame graph"),
        ]
        for command, args, what in cases:
            with self.subTest(command=command, args=args):
                self.assertRefused(command, args, what)

    # --- a killed process -------------------------------------------------------------------

    def test_killed_process_is_read_as_of_its_last_checkpoint(self):
        result = lib.run_script(self.tmp / "killed", """\
            import os, signal, sys; from capture_waits import wait_for_checkpoints
            def keep():
                return bytearray(4 * 1024 * 1024)
            kept = keep()
            wait_for_checkpoints(sys.argv[1])  # one taken after keep()
            os.kill(os.getpid(), signal.SIGKILL)
        """, args=[lib.memray_binary()], options=["--aggregate"])
        self.assertIn(result.process.returncode, (-9, 128 + 9), result.process.stderr)
        process = lib.run_memray(["tree", "--leaks", result.capture])
        self.assertEqual(process.returncode, 0, process.stderr)
        self.assertIn("ended abruptly", process.stderr)
        self.assertIn("keep", process.stdout)
        self.assertIn("4.194MB", process.stdout)


class AttachAggregateTests(lib.TempDirTestCase):
    def setUp(self):
        super().setUp()
        help_text = lib.run_memray(["attach", "--help"]).stdout
        if "--aggregate" not in help_text:
            self.skipTest("memray attach has no --aggregate")

    def test_attach_aggregate_verifies_and_reports_the_leak(self):
        from attach_testlib import Target, attach, detach  # noqa: E402 (only where attach is tested)
        target = Target(self.tmp, """
            import sys
            kept = []
            def grow(size):
                kept.append(bytearray(size))
            def churn():
                for i in range(2000):
                    junk = bytearray(100 + i)
            print("ready", flush=True)
            for line in sys.stdin:
                grow(int(line))
                churn()
                print("done", flush=True)
        """)
        try:
            target.wait_for("ready")
            for verify in ("1", None):
                output = self.tmp / ("attached-%s.bin" % verify)
                env = lib.memray_env(extra={"MEMRAY_AGGREGATE_VERIFY": verify})
                result = attach(target.pid, output, "--aggregate", env=env)
                self.assertEqual(result.returncode, 0, result.stderr)
                target.send("3000001\n")
                target.wait_for("done")
                result = detach(target.pid)
                self.assertEqual(result.returncode, 0, result.stderr)
                capture = lib.parse_capture(output)
                self.assertEqual(capture.header["aggregated"], 1)
                self.assertEqual(capture.header["aggregate_with_records"], 1 if verify else 0)
                self.assertEqual(capture.end["state"], "complete")
                self.assertEqual(bool(capture.allocations), bool(verify))
                if verify:
                    check = run_check(output)
                    self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
                process = lib.run_memray(["tree", "--leaks", output])
                self.assertEqual(process.returncode, 0, process.stderr)
                self.assertIn("grow", process.stdout)
                self.assertIn("3.000MB", process.stdout)
            target.send("1\n")
            target.wait_for("done")
        finally:
            target.kill()


if __name__ == "__main__":
    unittest.main(verbosity=2)
