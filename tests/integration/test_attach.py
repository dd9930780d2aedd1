"""`memray attach PID` / `memray detach PID` on real targets of the interpreter under test:
what the capture contains, the life cycle (detach, attach again, --duration, the target's exit),
and that the borrowed thread never notices: blocking calls neither wake early nor fail with
EINTR, and every register is back as it was. (tests/cmake/attach.cmake)"""

import errno
import os
import shutil
import signal
import sys
import threading
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import memray_testlib as lib  # noqa: E402
from attach_testlib import (ATTACH_PROBE, Target, attach, detach, held, maps_text, payload_loaded,  # noqa: E402
                            tracer_pid)

ATTACHED_OPTION = 1 << 3


def line_of(script, marker):
    for number, text in enumerate(Path(script).read_text().splitlines(), 1):
        if marker in text:
            return number
    raise AssertionError("no line with %r" % marker)


def bytearrays(capture, length):
    """Allocations of bytearray(length): malloc(length + 1)."""
    return [a for a in capture.allocations if a["allocator"] == "malloc" and a["size"] == length + 1]


def script_frames(capture, allocation, script):
    return [(name, line) for name, file, line in capture.stack(allocation["stack"])
            if Path(file).name == Path(script).name]


class AttachTests(lib.TempDirTestCase):
    def attach_ok(self, target, output, *options):
        result = attach(target.pid, output, *options)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result

    def detach_ok(self, target):
        result = detach(target.pid)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("Stopped tracking process %d" % target.pid, result.stderr)
        return result

    def test_frames_entered_before_the_attach_appear_in_the_capture(self):
        target = Target(self.tmp, """
            import sys
            def baz():
                return bytearray(3_000_017)  # allocation
            def bar():
                print("ready", flush=True)
                while sys.stdin.readline().strip() == "go":
                    keep = baz()  # call baz
                    print("allocated", flush=True)
            def foo():
                bar()  # call bar
            foo()  # call foo
            print("bye", flush=True)
        """)
        script = self.tmp / "target.py"
        target.wait_for("ready")
        output = self.tmp / "capture.bin"
        result = self.attach_ok(target, output)
        self.assertIn("Attached to process %d" % target.pid, result.stderr)
        self.assertIn("memray detach %d" % target.pid, result.stderr)
        target.send("go\n")
        target.wait_for("allocated")
        self.detach_ok(target)
        self.assertEqual(target.finish(), 0, target.stderr())
        self.assertEqual(target.lines, ["ready", "allocated", "bye"])

        capture = lib.parse_capture(output)
        self.assertEqual(capture.end["state"], "complete")
        self.assertTrue(capture.header["options"] & ATTACHED_OPTION)
        self.assertEqual(capture.header["pid"], target.pid)
        [allocation] = bytearrays(capture, 3_000_017)
        self.assertEqual(script_frames(capture, allocation, script),
                         [("baz", line_of(script, "# allocation")),
                          ("bar", line_of(script, "# call baz")),
                          ("foo", line_of(script, "# call bar")),
                          ("<module>", line_of(script, "# call foo"))])
        # memray's own threads record nothing.
        names = [r["name"] for r in capture.of_kind("THREAD_NAME")]
        self.assertFalse([n for n in names if n.startswith("memray-")], names)

    def test_detach_then_attach_again_many_times(self):
        target = Target(self.tmp, """
            import sys
            def allocate(size):
                return bytearray(size)
            print("ready", flush=True)
            for line in sys.stdin:
                keep = allocate(int(line))
                print("allocated", line.strip(), flush=True)
        """)
        target.wait_for("ready")
        for cycle in range(3):
            output = self.tmp / ("capture%d.bin" % cycle)
            self.attach_ok(target, output)
            target.send("%d\n" % (2_000_000 + cycle))
            target.wait_for("allocated")
            self.detach_ok(target)
            target.send("%d\n" % (4_000_000 + cycle))  # not tracked any more
            target.wait_for("allocated")
            capture = lib.parse_capture(output)
            self.assertEqual(capture.end["state"], "complete")
            self.assertEqual(len(bytearrays(capture, 2_000_000 + cycle)), 1)
            self.assertEqual(bytearrays(capture, 4_000_000 + cycle), [])
        # Nothing left to detach from.
        result = detach(target.pid)
        self.assertEqual(result.returncode, 1)
        self.assertIn("no capture started by `memray attach` is running in process %d" % target.pid,
                      result.stderr)
        self.assertEqual(target.finish(), 0, target.stderr())
        # The payload stayed loaded (never unloaded), once.
        self.assertEqual(target.stderr(), "")

    def test_python_allocator_stacks_are_exact_through_frames_entered_before_the_attach(self):
        # --trace-python-allocators subscribes to every frame's exit (3.12+) to re-walk only
        # what changed; frames that were already running when the subscription began must
        # report their exits too, and detach must give the sys.monitoring tool id back.
        self.check_stacks_through_frames_entered_before_the_attach(20, "--trace-python-allocators")

    def test_deep_stacks_are_exact_through_frames_entered_before_the_attach(self):
        # Without --trace-python-allocators only the code of frames found deep in a stack
        # reports its exits (local sys.monitoring events, 3.12+): `level`'s here. Detach must
        # turn those off too.
        self.check_stacks_through_frames_entered_before_the_attach(60)

    def test_stacks_are_exact_while_a_recursion_entered_before_the_attach_unwinds(self):
        # The target is 80 frames deep when the capture starts; then every level allocates on
        # the way back up. Before 3.12 the thread's profile function (put in its slot at the
        # first deep allocation) must report the exits of frames that began before it, or a
        # cached stack would keep frames that are gone. Detach must leave no thread with it.
        depth = 80
        shutil.copy(str(Path(__file__).resolve().parent / "profile_slots.py"), str(self.tmp))
        target = Target(self.tmp, """
            import sys
            from profile_slots import occupied_profile_slots
            OFFSET = %r
            def report():
                slots = "-" if OFFSET is None else occupied_profile_slots(OFFSET)
                print("slots", slots, "getprofile", sys.getprofile(), flush=True)
            def bottom():
                print("deep", flush=True)
                for line in sys.stdin:
                    if line.strip() == "up":
                        return
                    [bytearray(600) for i in range(int(line))]  # at the bottom
                    report()
            def leaf():
                for i in range(50):
                    bytearray(600)  # in leaf
            def climb(depth):
                if depth == 0:
                    return bottom()  # call bottom
                climb(depth - 1)  # recurse
                leaf()  # after return
            climb(%d)  # call climb
            report()
            sys.stdin.readline()
            report()
        """ % (lib.profile_slot_offset(), depth))
        script = self.tmp / "target.py"
        target.wait_for("deep")
        output = self.tmp / "capture.bin"
        self.attach_ok(target, output)
        target.send("500\n")
        during = target.wait_for("slots")
        target.send("up\n")
        climbed = target.wait_for("slots")
        self.detach_ok(target)
        target.send("report\n")
        after = target.wait_for("slots")
        self.assertEqual(target.finish(), 0, target.stderr())
        profiled = lib.python_version() < (3, 12)
        self.assertEqual(during, "slots 1 getprofile None" if profiled else "slots - getprofile None")
        self.assertEqual(climbed, during)
        self.assertEqual(after, "slots 0 getprofile None" if profiled else "slots - getprofile None")

        capture = lib.parse_capture(output)
        # The same leaf function is called at every level on the way up: where a frame's
        # storage is reused by the next call (3.7-3.10 keep one spare frame per code object),
        # an exit gone unseen would show as a stack one level too deep.
        in_leaf, after_return = ("leaf", line_of(script, "# in leaf")), line_of(script, "# after return")
        recurse = line_of(script, "# recurse")
        outermost = [("<module>", line_of(script, "# call climb"))]
        by_level = {}
        for allocation in bytearrays(capture, 600):
            frames = script_frames(capture, allocation, script)
            if frames[:1] != [in_leaf]:
                continue
            levels = len(frames) - 2
            self.assertEqual(frames, [in_leaf, ("climb", after_return)] + [("climb", recurse)] * (levels - 1) + outermost)
            by_level[levels] = by_level.get(levels, 0) + 1
        # Every level from the one above the bottom up to the outermost allocated its 50.
        self.assertEqual(sorted(by_level), list(range(1, depth + 1)))
        self.assertTrue(all(count >= 50 for count in by_level.values()), by_level)

    def check_stacks_through_frames_entered_before_the_attach(self, depth, *options):
        target = Target(self.tmp, """
            import sys
            def leaf(n):
                return [n, str(n), bytearray(600)]  # allocation (malloc-sized too)
            def level(depth, n):
                if depth == 0:
                    return leaf(n)  # call leaf
                return level(depth - 1, n)  # recurse
            def serve():
                print("ready", flush=True)
                for line in sys.stdin:
                    if line.strip() == "tool":
                        monitoring = getattr(sys, "monitoring", None)
                        local = monitoring and monitoring.get_local_events(4, level.__code__)
                        print("tool", monitoring and monitoring.get_tool(4), "local", bool(local), flush=True)
                        continue
                    keep = [level(%d, i) for i in range(int(line))]  # keep
                    print("done", flush=True)
            serve()  # call serve
        """ % depth)
        script = self.tmp / "target.py"
        monitored = lib.python_version() >= (3, 12)
        local_events = monitored and not options
        target.wait_for("ready")
        expected = ([("leaf", line_of(script, "# allocation")), ("level", line_of(script, "# call leaf"))]
                    + [("level", line_of(script, "# recurse"))] * depth
                    + ([] if monitored else [("<listcomp>", line_of(script, "# keep"))])
                    + [("serve", line_of(script, "# keep")), ("<module>", line_of(script, "# call serve"))])
        for cycle in range(2):
            output = self.tmp / ("capture%d.bin" % cycle)
            self.attach_ok(target, output, *options)
            target.send("3000\n")
            target.wait_for("done")
            target.send("tool\n")
            target.wait_for("tool")
            self.detach_ok(target)
            target.send("tool\n")
            target.wait_for("tool")
            capture = lib.parse_capture(output)
            stacks = [script_frames(capture, a, script) for a in capture.allocations]
            in_leaf = [frames for frames in stacks if frames and frames[0][0] == "leaf"]
            self.assertGreaterEqual(len(in_leaf), 3000)
            # leaf's own line may be its `def` line: allocations the interpreter makes on entry,
            # before the first instruction (3.10's opcache for a hot function, say).
            entry = ("leaf", line_of(script, "def leaf"))
            wrong = [frames for frames in in_leaf if frames != expected and frames != [entry] + expected[1:]]
            self.assertEqual(wrong[:1], [], "%d of %d stacks differ from %r" % (len(wrong), len(in_leaf), expected))
        tools = [line for line in target.lines if line.startswith("tool")]
        during = "tool memray local %s" % local_events if monitored else "tool None local False"
        after = "tool None local False"
        self.assertEqual(tools, [during, after] * 2)
        self.assertEqual(target.finish(), 0, target.stderr())

    def test_duration_stops_the_capture_by_itself(self):
        target = Target(self.tmp, """
            import sys, time
            print("ready", flush=True)
            for line in sys.stdin:
                keep = bytearray(int(line))
                print("allocated", flush=True)
        """)
        target.wait_for("ready")
        output = self.tmp / "capture.bin"
        # Long enough for the allocation below to land inside it on a loaded machine.
        result = self.attach_ok(target, output, "--duration", "5")
        self.assertIn("after 5 s", result.stderr)
        target.send("2000001\n")
        target.wait_for("allocated")
        # The capture ends by itself, and its file is finished, without a detach.
        deadline = time.monotonic() + 120
        while lib.parse_capture(output).end["state"] != "complete" and time.monotonic() < deadline:
            time.sleep(0.1)
        capture = lib.parse_capture(output)
        self.assertEqual(capture.end["state"], "complete")
        self.assertEqual(len(bytearrays(capture, 2_000_001)), 1)
        # The session is gone with it.
        result = detach(target.pid)
        self.assertEqual(result.returncode, 1)
        self.assertIn("no capture started by `memray attach`", result.stderr)
        target.send("2000002\n")
        target.wait_for("allocated")
        self.assertEqual(target.finish(), 0)
        self.assertEqual(bytearrays(lib.parse_capture(output), 2_000_002), [])
        # Nothing printed into the target's output.
        self.assertEqual(target.lines, ["ready", "allocated", "allocated"])
        self.assertEqual(target.stderr(), "")

    def test_the_target_exit_status_is_unaffected(self):
        source = """
            import sys, os
            print("ready", flush=True)
            sys.stdin.readline()
            keep = bytearray(2_000_003)
            sys.exit(int(sys.argv[1]))
        """
        # Exits while the capture runs: the file is finished at exit.
        target = Target(self.tmp, source, args=[7])
        target.wait_for("ready")
        output = self.tmp / "running.bin"
        self.attach_ok(target, output)
        target.send("\n")
        self.assertEqual(target.finish(), 7)
        capture = lib.parse_capture(output)
        self.assertEqual(capture.end["state"], "complete")
        self.assertEqual(len(bytearrays(capture, 2_000_003)), 1)

        # Exits after a detach.
        target = Target(self.tmp, source, args=[3], name="other.py")
        target.wait_for("ready")
        self.attach_ok(target, self.tmp / "detached.bin")
        self.detach_ok(target)
        target.send("\n")
        self.assertEqual(target.finish(), 3)

    def test_output_is_resolved_against_the_cli_directory_and_never_overwritten(self):
        target = Target(self.tmp, """
            import sys
            print("ready", flush=True)
            sys.stdin.readline()
        """)
        target.wait_for("ready")
        (self.tmp / "sub").mkdir()
        result = lib.run_memray(["attach", "-o", "sub/relative.bin", target.pid], cwd=self.tmp)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(str(self.tmp / "sub" / "relative.bin"), result.stderr)
        self.detach_ok(target)
        self.assertTrue((self.tmp / "sub" / "relative.bin").exists())
        # An existing file: refused without -f (the target untouched), replaced with it.
        result = lib.run_memray(["attach", "-o", "sub/relative.bin", target.pid], cwd=self.tmp)
        self.assertEqual(result.returncode, 1)
        self.assertIn("File already exists, will not overwrite without --force", result.stderr)
        result = lib.run_memray(["attach", "-f", "-o", "sub/relative.bin", target.pid], cwd=self.tmp)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.detach_ok(target)
        self.assertEqual(target.finish(), 0)

    def test_live_view_refused_without_a_terminal_leaves_the_target_alone(self):
        # The live view is a later issue; until then, no -o is a usage error (status 2) that
        # says so, decided before the target is looked at: nothing loaded, nothing traced,
        # nothing written, and the target answers as before.
        target = Target(self.tmp, """
            import sys
            print("ready", flush=True)
            for line in sys.stdin:
                print("pong", line.strip(), flush=True)
        """)
        target.wait_for("ready")
        maps_before = maps_text(target.pid)
        # Without -o, attach shows the live view, which needs a terminal (tests/integration/
        # test_live.py drives it through tmux); here there is none.
        for options, message in (([], "the live view needs a terminal"), (["-v"], "the live view needs a terminal"),
                                 (["-f", "--duration", "5"], "--force needs an output file")):
            result = lib.run_memray(["attach"] + options + [target.pid], cwd=self.tmp)
            self.assertEqual(result.returncode, 2, result.stderr)
            self.assertIn(message, result.stderr)
            self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
            self.assertEqual(result.stdout, "")
        self.assertEqual(tracer_pid(target.pid), 0)
        self.assertFalse(payload_loaded(target.pid))
        self.assertEqual(maps_text(target.pid), maps_before)
        self.assertEqual(list(self.tmp.glob("*.bin")), [])
        self.assertEqual(detach(target.pid).returncode, 1)  # no session was started
        target.send("ping\n")
        self.assertEqual(target.wait_for("pong"), "pong ping")
        self.assertEqual(target.finish(), 0)
        self.assertEqual(target.stderr(), "")


# Each runs in the target's main thread for BLOCK_MS (the reads: until the test writes a byte,
# BLOCK_MS after the call began); the attach lands in the middle. The C variants make the system
# call once and return -errno instead of retrying (Python would retry on EINTR, PEP 475).
# BLOCK_MS is many times what an attach and a detach take even on a loaded machine: the test
# must not depend on the machine keeping up with a short call.
BLOCK_MS = 15000
BLOCKING_CALLS = {
    "time.sleep": "time.sleep(BLOCK); result = 0",
    "os.read on a pipe": "result = len(os.read(READ_FD, 1))",
    "select.select": "result = len(select.select([READ_FD], [], [], BLOCK)[0])",
    "Lock.acquire(timeout)": "lock = threading.Lock(); lock.acquire(); result = int(lock.acquire(timeout=BLOCK))",
    "C nanosleep": "result = probe.probe_nanosleep_ms(BLOCK_MS)",
    "C read on a pipe": "result = probe.probe_read_byte(READ_FD)",
    "C poll": "result = probe.probe_poll_ms(BLOCK_MS)",
    "C select": "result = probe.probe_select_ms(BLOCK_MS)",
}
READS = {"os.read on a pipe": 1, "C read on a pipe": ord("x")}


class BorrowedThreadTests(lib.TempDirTestCase):
    def test_blocking_calls_in_the_main_thread_neither_wake_early_nor_fail(self):
        # All targets block at once; each is attached to and detached from while it waits
        # (in parallel, so that a loaded machine still gets them all done in time).
        targets = {}
        for index, (name, call) in enumerate(BLOCKING_CALLS.items()):
            read_fd, write_fd = os.pipe()
            target = Target(self.tmp, """
                import ctypes, os, select, sys, threading, time
                probe = ctypes.CDLL(sys.argv[1])
                READ_FD = int(sys.argv[2])
                BLOCK_MS = %d
                BLOCK = BLOCK_MS / 1000
                print("blocking", flush=True)
                start = time.monotonic()
                %s
                print("done", result, "%%.3f" %% (time.monotonic() - start), flush=True)
            """ % (BLOCK_MS, call), args=[ATTACH_PROBE, read_fd], pass_fds=[read_fd], name="block%d.py" % index)
            os.close(read_fd)
            targets[name] = [target, write_fd, None]
        for entry in targets.values():
            entry[0].wait_for("blocking")
            entry[2] = time.monotonic()  # the call began before this
        time.sleep(0.3)  # well inside the calls
        outcomes = {}

        def attach_and_detach(name, target, seen):
            attached = attach(target.pid, self.tmp / ("%d.bin" % target.pid))
            detached = detach(target.pid)
            outcomes[name] = (attached, detached, time.monotonic() - seen)

        workers = [threading.Thread(target=attach_and_detach, args=(name, entry[0], entry[2]))
                   for name, entry in targets.items()]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        for name, (attached, detached, when) in outcomes.items():
            with self.subTest(call=name):
                self.assertEqual(attached.returncode, 0, attached.stderr)
                self.assertEqual(held(attached)[0], targets[name][0].pid, "the main thread was expected to be borrowed")
                self.assertEqual(detached.returncode, 0, detached.stderr)
                self.assertLess(when, BLOCK_MS / 1000, "inconclusive: the attach came after the call ended")
        # The readers get their byte when their time is up, not before.
        for name, (target, write_fd, seen) in targets.items():
            if name in READS:
                time.sleep(max(0.0, seen + BLOCK_MS / 1000 - time.monotonic()))
                os.write(write_fd, b"x")
        for name, (target, write_fd, seen) in targets.items():
            with self.subTest(call=name):
                self.assertEqual(target.finish(), 0, target.stderr())
                _, result, elapsed = target.lines[-1].split()
                self.assertEqual(int(result), READS.get(name, 0), "%s failed or was cut short" % name)
                self.assertGreaterEqual(float(elapsed), BLOCK_MS / 1000 - 0.01, "%s woke up early" % name)
                self.assertEqual(target.stderr(), "")
            os.close(write_fd)

    @unittest.skipUnless(os.path.exists("/proc/cpuinfo") and " avx2" in open("/proc/cpuinfo").read(),
                         "the register canaries need AVX2")
    def test_every_register_is_restored_bit_for_bit(self):
        # A hand-written loop keeps canaries in every general-purpose register, every ymm
        # register, DF, MXCSR and the x87 control word and checks them all the time; another
        # holds them across a raw nanosleep system call. Both run in the main thread, which
        # is the thread the attach borrows.
        # The spin lasts until the test's SIGALRM (the probe's own handler ends it); the sleep,
        # a raw nanosleep that must resume with its time left, lasts SLEEP_MS.
        SLEEP_MS = 15000
        for mode, call in (("spinning", "result = probe.probe_canary_spin_ms(3600 * 1000)"),
                           ("in a system call", "result = probe.probe_canary_nanosleep_ms(%d)" % SLEEP_MS)):
            with self.subTest(mode=mode):
                target = Target(self.tmp, """
                    import ctypes, sys, threading, time
                    probe = ctypes.CDLL(sys.argv[1])
                    print("running", flush=True)
                    start = time.monotonic()
                    %s
                    print("result", result, "%%.3f" %% (time.monotonic() - start), flush=True)
                """ % call, args=[ATTACH_PROBE], name="canary.py")
                target.wait_for("running")
                started = time.monotonic()
                time.sleep(0.3)
                for cycle in range(2):
                    result = attach(target.pid, self.tmp / ("canary%d.bin" % cycle), "-f")
                    self.assertEqual(result.returncode, 0, result.stderr)
                    self.assertEqual(held(result)[0], target.pid)
                    self.assertEqual(detach(target.pid).returncode, 0)
                if mode == "spinning":
                    os.kill(target.pid, signal.SIGALRM)
                else:
                    self.assertLess(time.monotonic() - started, SLEEP_MS / 1000,
                                    "inconclusive: the attach came after the sleep ended")
                self.assertEqual(target.finish(), 0, target.stderr())
                _, result, elapsed = target.lines[-1].split()
                self.assertEqual(int(result), 0, "register check %s failed" % result)
                if mode != "spinning":
                    self.assertGreaterEqual(float(elapsed), SLEEP_MS / 1000 - 0.01, "the sleep was cut short")

    @unittest.skipUnless(os.path.exists("/proc/cpuinfo") and " avx2" in open("/proc/cpuinfo").read(),
                         "the register canaries need AVX2")
    def test_the_canaries_do_catch_a_changed_register(self):
        # The same loop, with a signal handler that flips a bit of rbx and xmm3 in the
        # interrupted context: the loop must notice.
        target = Target(self.tmp, """
            import ctypes, sys
            probe = ctypes.CDLL(sys.argv[1])
            print("running", flush=True)
            print("result", probe.probe_canary_spin_ms(3600 * 1000), flush=True)
        """, args=[ATTACH_PROBE], name="corrupt.py")
        target.wait_for("running")
        time.sleep(0.2)
        os.kill(target.pid, signal.SIGUSR2)  # the loop notices, and ends at once
        self.assertEqual(target.finish(), 0, target.stderr())
        self.assertIn(target.lines[-1], ("result 1", "result 33"))

    def test_the_eintr_checks_do_catch_an_interrupted_call(self):
        # A signal with a (non-restarting) Python handler does interrupt the C nanosleep, and
        # the probe reports -EINTR: what an attach must never cause.
        target = Target(self.tmp, """
            import ctypes, signal, sys
            probe = ctypes.CDLL(sys.argv[1])
            signal.signal(signal.SIGUSR1, lambda *args: None)
            print("blocking", flush=True)
            print("result", probe.probe_nanosleep_ms(600 * 1000), flush=True)
        """, args=[ATTACH_PROBE], name="eintr.py")
        target.wait_for("blocking")
        time.sleep(0.2)
        os.kill(target.pid, signal.SIGUSR1)
        self.assertEqual(target.finish(), 0, target.stderr())
        self.assertEqual(target.lines[-1], "result -%d" % errno.EINTR)


if __name__ == "__main__":
    unittest.main()
