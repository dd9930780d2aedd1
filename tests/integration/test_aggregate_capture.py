"""`memray run --aggregate` on a real interpreter, read back with `memray parse`: checkpoints
instead of allocation records (docs/capture-format.md, "Aggregated captures"). Runs once per
interpreter under test (tests/cmake/aggregate.cmake)."""

import os
import signal
import sys
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import memray_testlib as lib  # noqa: E402

MIB = 1 << 20
# Capture options (format/include/memray/format/capture_format.h).
AGGREGATED = 1 << 4
WITH_RECORDS = 1 << 5

# Keeps a 5 MiB bytearray from a function of its own, then churns malloc-sized bytearrays
# (over pymalloc's 512-byte limit) until memray has written PERIODIC more checkpoints (argv[2];
# argv[1] is the memray executable, which counts them), and at least 20,000 of them.
CHURN = """
    import os, signal, sys, time
    from capture_waits import count_checkpoints

    def make_kept():
        return bytearray(5 * 1024 * 1024)

    def churn(memray, periodic):
        junk = []
        # One more than asked: a checkpoint under way now may have begun before the churn.
        wanted = count_checkpoints(memray) + periodic + 1
        rounds = 0
        deadline = time.monotonic() + 120
        while rounds < 20 or rounds % 10 != 0 or count_checkpoints(memray) < wanted:
            assert time.monotonic() < deadline, "no periodic checkpoint within 120 s"
            for i in range(1000):
                junk.append(bytearray(600 + i % 100))
            del junk[:]
            # Paced: enough records for checkpoints to change, few enough that the test can
            # parse the verify-mode capture (every record) in seconds.
            time.sleep(0.005)
            rounds += 1

    kept = make_kept()
    churn(sys.argv[1], int(sys.argv[2]))
    if sys.argv[3:] == ["kill"]:
        os.kill(os.getpid(), signal.SIGKILL)
"""

# Allocation-heavy: many short-lived malloc-sized objects from a few lines.
HEAVY = """
    import sys
    kept = bytearray(5 * 1024 * 1024)
    junk = []
    for i in range(int(sys.argv[1])):
        junk.append(bytearray(600 + i % 200))
        if len(junk) > 100:
            del junk[:]
"""


def location_key(record):
    return (record["tid"], record["stack"], record.get("native_stack", 0), record["allocator"])


def checkpoints(capture):
    """The complete checkpoints in file order: (begin record, {key: location as of then}).
    A location record replaces what earlier checkpoints said about the same location."""
    done = []
    locations = {}
    begin = None
    pending = []
    for record in capture.records:
        if record.kind == "AGGREGATE_BEGIN":
            begin, pending = record, []
        elif record.kind == "AGGREGATE_LOCATION" and begin is not None:
            pending.append(record)
        elif record.kind == "AGGREGATE_END" and begin is not None:
            for location in pending:
                locations[location_key(location)] = location
            done.append((begin, dict(locations)))
            begin = None
    return done


def kept_location(capture, locations, function="make_kept"):
    """The location whose Python stack runs through `function`, holding the most bytes."""
    found = [l for l in locations.values()
             if any(name == function for name, _, _ in capture.stack(l["stack"]))]
    return max(found, key=lambda l: l["live_bytes"], default=None)


class AggregateCaptureTest(lib.TempDirTestCase):

    def run_churn(self, periodic_checkpoints, *args, options=("--aggregate",), env=None):
        return lib.run_script(self.tmp, CHURN, args=[lib.memray_binary(), str(periodic_checkpoints)] + list(args),
                              options=options, env=env)

    def test_checkpoints_instead_of_allocation_records(self):
        result = self.run_churn(1)
        self.assertEqual(result.process.returncode, 0, result.process.stderr)
        capture = lib.parse_capture(result.capture)
        self.assertEqual(capture.header["options"] & (AGGREGATED | WITH_RECORDS), AGGREGATED)
        self.assertEqual(capture.end["state"], "complete")
        self.assertEqual(capture.allocations, [])
        self.assertEqual(capture.deallocations, [])
        self.assertEqual(capture.of_kind("TRAILER")[0]["allocations"], 0)

        done = checkpoints(capture)
        # At least one periodic checkpoint, and the final one.
        self.assertGreaterEqual(len(done), 2, [r.kind for r in capture.records if r.kind.startswith("AGG")])
        self.assertEqual(len(capture.of_kind("AGGREGATE_BEGIN")), len(done))
        begin, locations = done[-1]
        kept = kept_location(capture, locations)
        self.assertIsNotNone(kept, "no location allocates in make_kept")
        self.assertGreaterEqual(kept["live_bytes"], 5 * MIB)
        self.assertEqual(kept["live_count"], 1)
        self.assertEqual(kept["allocator"], "malloc")
        # The totals agree with the locations.
        self.assertEqual(begin["current_bytes"], sum(l["live_bytes"] for l in locations.values()))
        self.assertGreaterEqual(begin["peak_bytes"], 5 * MIB)
        self.assertGreater(begin["allocations"], 10000)
        self.assertLessEqual(begin["peak_events"], begin["events"])
        # Every stack a location names was defined before it (0: no Python frame, as for an
        # allocation of the bootstrap's last steps, whose frames the capture hides).
        for location in locations.values():
            if location["stack"] != 0:
                self.assertIn(location["stack"], capture.stacks)
        # Memory records carry the tracked heap: the kept buffer once it exists.
        memory = capture.of_kind("MEMORY")
        self.assertTrue(memory)
        self.assertTrue(all("heap" in m for m in memory))
        self.assertGreaterEqual(memory[-1]["heap"], 5 * MIB)

    def test_sigkill_keeps_the_last_complete_checkpoint(self):
        result = self.run_churn(1, "kill")
        self.assertEqual(result.process.returncode, -signal.SIGKILL)
        process = lib.run_parse(result.capture)
        # Read up to the last complete chunk: no corruption.
        self.assertEqual(process.returncode, 0, process.stderr)
        capture = lib.Capture([lib.parse_line(line) for line in process.stdout.splitlines() if line])
        self.assertNotEqual(capture.end["state"], "corrupt")
        self.assertEqual(capture.of_kind("TRAILER"), [])
        done = checkpoints(capture)
        self.assertGreaterEqual(len(done), 1)
        begin, locations = done[-1]
        kept = kept_location(capture, locations)
        self.assertIsNotNone(kept)
        self.assertGreaterEqual(kept["live_bytes"], 5 * MIB)
        self.assertGreater(begin["events"], 0)

    def test_verify_mode_writes_records_and_checkpoints_in_one_order(self):
        env = lib.memray_env(extra={"MEMRAY_AGGREGATE_VERIFY": "1"})
        result = self.run_churn(1, env=env)
        self.assertEqual(result.process.returncode, 0, result.process.stderr)
        capture = lib.parse_capture(result.capture)
        self.assertEqual(capture.header["options"] & (AGGREGATED | WITH_RECORDS), AGGREGATED | WITH_RECORDS)
        self.assertTrue(capture.allocations)
        # Each checkpoint's totals count exactly the records before it.
        allocations = events = 0
        seen = 0
        for record in capture.records:
            if record.kind == "ALLOCATION":
                allocations += 1
                events += 1
            elif record.kind == "DEALLOCATION":
                events += 1
            elif record.kind == "AGGREGATE_BEGIN":
                seen += 1
                self.assertEqual(record["allocations"], allocations)
                self.assertEqual(record["events"], events)
        self.assertGreaterEqual(seen, 2)
        kept = kept_location(capture, checkpoints(capture)[-1][1])
        self.assertGreaterEqual(kept["live_bytes"], 5 * MIB)

    def test_follow_fork_child_writes_its_own_checkpoints(self):
        source = """
            import os, sys
            kept = bytearray(5 * 1024 * 1024)
            pid = os.fork()
            if pid == 0:
                def child_kept():
                    return bytearray(3 * 1024 * 1024)
                mine = child_kept()
                sys.exit(0)
            os.waitpid(pid, 0)
        """
        result = lib.run_script(self.tmp, source, options=["--aggregate", "--follow-fork"])
        self.assertEqual(result.process.returncode, 0, result.process.stderr)
        children = [p for p in self.tmp.iterdir() if p.name.startswith("capture.bin.")]
        self.assertEqual(len(children), 1, list(self.tmp.iterdir()))
        child = lib.parse_capture(children[0])
        self.assertEqual(child.allocations, [])
        done = checkpoints(child)
        self.assertTrue(done)
        begin, locations = done[-1]
        mine = kept_location(child, locations, "child_kept")
        self.assertIsNotNone(mine)
        self.assertGreaterEqual(mine["live_bytes"], 3 * MIB)
        # The parent's 5 MiB was allocated before the child's capture: not in its heap.
        self.assertLess(begin["current_bytes"], 5 * MIB)

    def test_aggregate_file_is_far_smaller_than_a_full_capture(self):
        iterations = "300000"
        full = lib.run_script(self.tmp / "full", HEAVY, args=[iterations])
        started = time.monotonic()
        aggregated = lib.run_script(self.tmp / "aggregated", HEAVY, args=[iterations], options=["--aggregate"])
        aggregated_s = time.monotonic() - started
        self.assertEqual(full.process.returncode, 0, full.process.stderr)
        self.assertEqual(aggregated.process.returncode, 0, aggregated.process.stderr)
        full_size = full.capture.stat().st_size
        aggregated_size = aggregated.capture.stat().st_size
        sys.stderr.write("\n%s: full capture %d bytes, aggregated %d bytes (%.1fx smaller; aggregated run %.2f s)\n"
                         % (lib.test_python(), full_size, aggregated_size, full_size / aggregated_size, aggregated_s))
        self.assertLess(aggregated_size * 20, full_size)
        capture = lib.parse_capture(aggregated.capture)
        begin = checkpoints(capture)[-1][0]
        self.assertGreaterEqual(begin["allocations"], 300000)


# memray attach --aggregate (with and without verification) is tested end to end in
# test_aggregate_reports.py: AttachAggregateTests.


class AggregateCommandLineTest(unittest.TestCase):

    def test_attach_aggregate_without_output_is_an_error(self):
        process = lib.run_memray(["attach", "--aggregate", str(os.getpid())])
        self.assertEqual(process.returncode, 2)
        self.assertIn("Can't use aggregated mode without an output file.", process.stderr)  # memray's words
        self.assertEqual(process.stdout, "")

    def test_help_mentions_aggregate(self):
        for command in ("run", "attach"):
            process = lib.run_memray([command, "--help"])
            self.assertEqual(process.returncode, 0, process.stderr)
            self.assertIn("--aggregate", process.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
