"""The issue's stress test of `memray attach` / `memray detach`: a target with eight threads
hammering malloc/free (and its main thread too) and one thread loading and unloading a shared
library through ctypes survives 50 attach/detach cycles with no hang, no crash, and its own
output unchanged. Its own ctest per interpreter (tests/cmake/attach.cmake): it is the longest
attach test, and a loaded machine must not push the others past their time limit."""

import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import memray_testlib as lib  # noqa: E402
from attach_testlib import (ATTACH_PROBE, COMMAND_TIMEOUT, LOADABLE, Target, assert_untouched, attach,  # noqa: E402
                            detach, held, thread_stacks)

# The 50 cycles, on every interpreter. A cycle costs ~0.5 s here, not the ~0.1 s of an
# attach and a detach on a quiet machine: the target keeps ten threads runnable on purpose, so
# the two memray commands (each ~25 ms of CPU to start, page faults mostly, plus ~15 ms to
# parse the target's ELF files) get a fraction of a core. MEMRAY_ATTACH_STRESS_CYCLES overrides.
STRESS_CYCLES = int(os.environ.get("MEMRAY_ATTACH_STRESS_CYCLES") or 50)


class StressTests(lib.TempDirTestCase):
    def test_allocator_and_loader_hammering_target_survives_many_cycles(self):
        # Eight threads and the main thread in a malloc/free/realloc loop (in C, without the
        # GIL); one Python thread loading and unloading a library with ctypes (the loader
        # busy, its lock taken and released all the time). No thread ever sleeps for long, so
        # the attach has to find safe points among busy threads.
        target = Target(self.tmp, """
            import ctypes, sys, threading, _ctypes
            probe = ctypes.CDLL(sys.argv[1])
            loadable = sys.argv[2]
            stop = threading.Event()
            loads = []
            def loader():
                count = 0
                while not stop.is_set():
                    library = ctypes.CDLL(loadable)
                    assert library.attach_loadable_answer() == 42
                    _ctypes.dlclose(library._handle)
                    count += 1
                loads.append(count)
            thread = threading.Thread(target=loader, name="loader")
            thread.start()
            probe.probe_hammer_stop_on_sigusr1()
            assert probe.probe_hammer_start(8) == 0
            print("ready", flush=True)
            probe.probe_hammer_here()  # until SIGUSR1
            stop.set()
            threads = probe.probe_hammer_stop()
            thread.join()
            print("hammer threads that ran:", threads)
            print("the loader ran:", loads[0] > 0)
            print("bye")
        """, args=[ATTACH_PROBE, LOADABLE])
        target.wait_for("ready")
        output = self.tmp / "stress.bin"
        slowest = 0.0
        longest_hold = 0.0
        try:
            for cycle in range(STRESS_CYCLES):
                start = time.monotonic()
                result = attach(target.pid, output, "-f", timeout=COMMAND_TIMEOUT)
                if result.returncode != 0:
                    self.fail("cycle %d: %s\n%s" % (cycle, result.stderr, thread_stacks(target.pid)))
                longest_hold = max(longest_hold, held(result)[2])
                result = detach(target.pid, timeout=COMMAND_TIMEOUT)
                if result.returncode != 0:
                    self.fail("cycle %d: %s\n%s" % (cycle, result.stderr, thread_stacks(target.pid)))
                slowest = max(slowest, time.monotonic() - start)
                self.assertIsNone(target.process.poll(), "the target died in cycle %d: %s" % (cycle, target.stderr()))
                assert_untouched(self, target.pid)
        finally:
            os.kill(target.pid, signal.SIGUSR1)
        self.assertEqual(target.finish(), 0, target.stderr())
        self.assertEqual(target.lines, ["ready", "hammer threads that ran: 8", "the loader ran: True", "bye"])
        self.assertEqual(target.stderr(), "")
        self.assertEqual(lib.parse_capture(output).end["state"], "complete")
        print("\n%d cycles: slowest attach+detach %.2f s, longest hold %.1f ms"
              % (STRESS_CYCLES, slowest, longest_hold), file=sys.stderr)


if __name__ == "__main__":
    import unittest
    unittest.main()
