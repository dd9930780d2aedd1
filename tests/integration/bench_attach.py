"""Benchmark of `memray attach` / `memray detach` (not a test; run by hand):

    MEMRAY_BUILD_DIR=build python3 tests/integration/bench_attach.py [--cycles 20] [PYTHON...]

For each interpreter, two targets: "busy" (the main thread runs Python code that allocates
all the time, and a second thread does too) and "idle" (the main thread blocked reading a
pipe). Per cycle: the wall time of `memray attach -v -o FILE PID`, the time the borrowed thread
was held (from -v), and the wall time of `memray detach PID`. One warm-up cycle first (warm
page cache, payload already loaded: the steady state of a service being profiled repeatedly);
the first, cold attach is reported separately."""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import memray_testlib as lib  # noqa: E402
from attach_testlib import Target, attach, detach, held  # noqa: E402

TARGETS = {
    "busy": """
        import sys, threading
        def churn():
            while True:
                data = [str(i) * 3 for i in range(2000)]
                table = {i: bytearray(64) for i in range(500)}
        threading.Thread(target=churn, daemon=True).start()
        print("ready", flush=True)
        churn()
    """,
    "idle": """
        import sys
        print("ready", flush=True)
        sys.stdin.readline()
    """,
}


def describe(values, unit="ms"):
    values = sorted(values)
    p90 = values[min(len(values) - 1, int(round(0.9 * (len(values) - 1))))]
    return "median %6.1f %s  p90 %6.1f  max %6.1f" % (statistics.median(values), unit, p90, values[-1])


def bench(python, kind, cycles, directory):
    target = Target(directory, TARGETS[kind], python=python, name="%s.py" % kind)
    target.wait_for("ready")
    output = Path(directory) / ("%s.bin" % kind)
    attach_ms, hold_ms, detach_ms = [], [], []
    cold = None
    try:
        for cycle in range(cycles + 1):
            start = time.monotonic()
            result = attach(target.pid, output, "-f")
            elapsed = (time.monotonic() - start) * 1000
            if result.returncode != 0:
                raise SystemExit("attach failed: %s" % result.stderr)
            hold = held(result)[1]
            start = time.monotonic()
            stopped = detach(target.pid)
            detached = (time.monotonic() - start) * 1000
            if stopped.returncode != 0:
                raise SystemExit("detach failed: %s" % stopped.stderr)
            if cycle == 0:
                cold = (elapsed, hold, detached)
                continue
            attach_ms.append(elapsed)
            hold_ms.append(hold)
            detach_ms.append(detached)
    finally:
        target.kill()
    return cold, attach_ms, hold_ms, detach_ms


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("pythons", nargs="*")
    args = parser.parse_args()
    pythons = args.pythons or [lib.test_python()]
    with tempfile.TemporaryDirectory(prefix="memray-bench-") as directory:
        for python in pythons:
            for kind in TARGETS:
                cold, attach_ms, hold_ms, detach_ms = bench(python, kind, args.cycles, directory)
                print("%s, %s target (%d cycles)" % (python, kind, args.cycles))
                print("  first attach (cold)  %6.1f ms, held %5.1f ms, detach %6.1f ms" % cold)
                print("  attach wall time     %s" % describe(attach_ms))
                print("  thread held          %s" % describe(hold_ms))
                print("  detach wall time     %s" % describe(detach_ms))
                sys.stdout.flush()


if __name__ == "__main__":
    main()
