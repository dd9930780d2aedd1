"""Benchmark of `memray attach` / `memray detach` (not a test; run by hand):

    MEMRAY_BUILD_DIR=build python3 tests/integration/bench_attach.py [--cycles 20] [--all]
        [--markdown benchmarks/results/attach.md] [PYTHON...]

For each interpreter (those given, every one the tests use with --all, else the one under
test), two targets: "busy" (the main thread runs Python code that allocates all the time, and
a second thread does too) and "idle" (the main thread blocked reading a pipe). Per cycle: the
wall time of `memray attach -v -o FILE PID`, the time the borrowed thread was held (from -v),
and the wall time of `memray detach PID`. One warm-up cycle first (warm page cache, payload
already loaded: the steady state of a service being profiled repeatedly); that first, cold
attach is reported separately. --markdown also writes the results, with the machine they were
measured on, as the checked-in benchmark results page."""

import argparse
import datetime
import glob
import os
import platform
import re
import resource
import statistics
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

# The goals (memray 1.19 through gdb: attach 1.15 s, detach 1.18 s).
GOALS_MS = {"attach": 300, "hold": 20, "detach": 200}


def every_test_python():
    """The interpreters tests/CMakeLists.txt discovers: pyenv's 3.7-3.13, Debian's static 3.11."""
    found = []
    for minor in range(7, 14):
        matches = sorted(glob.glob("/root/.pyenv/versions/3.%d.*/bin/python3.%d" % (minor, minor)))
        found += matches[:1]
    if os.path.exists("/usr/bin/python3.11"):
        found.append("/usr/bin/python3.11")
    return found


def label(python):
    version = "%d.%d" % lib.python_version(python)
    return version + (" static" if python.startswith("/usr/bin/") else " shared")


class Series:
    """The cycles of one target: attach, hold and detach times in ms."""

    def __init__(self):
        self.attach, self.hold, self.window, self.detach = [], [], [], []
        self.attach_cpu, self.detach_cpu = [], []  # CPU time of the commands: what load cannot inflate
        self.cold = None

    @staticmethod
    def spread(values):
        values = sorted(values)
        p90 = values[min(len(values) - 1, int(round(0.9 * (len(values) - 1))))]
        return statistics.median(values), values[0], p90, values[-1]


def children_cpu_ms():
    """User + system CPU time of this process's waited-for children so far, in ms."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000


def hijack_window(result):
    """Milliseconds the borrowed thread ran our calls: its hold minus the safe-point check."""
    match = re.search(r"of which ([0-9.]+) ms checking the safe point", result.stderr)
    if not match:
        raise SystemExit("no safe-point check time in %r" % result.stderr)
    return held(result)[1] - float(match.group(1))


def bench(python, kind, cycles, directory):
    target = Target(directory, TARGETS[kind], python=python, name="%s.py" % kind)
    target.wait_for("ready")
    output = Path(directory) / ("%s.bin" % kind)
    series = Series()
    try:
        for cycle in range(cycles + 1):
            start, cpu = time.monotonic(), children_cpu_ms()
            result = attach(target.pid, output, "-f")
            elapsed, attach_cpu = (time.monotonic() - start) * 1000, children_cpu_ms() - cpu
            if result.returncode != 0:
                raise SystemExit("attach failed: %s" % result.stderr)
            hold = held(result)[2]  # the longest any thread was stopped
            window = hijack_window(result)
            start, cpu = time.monotonic(), children_cpu_ms()
            stopped = detach(target.pid)
            detached, detach_cpu = (time.monotonic() - start) * 1000, children_cpu_ms() - cpu
            if stopped.returncode != 0:
                raise SystemExit("detach failed: %s" % stopped.stderr)
            if cycle == 0:
                series.cold = (elapsed, hold, detached)
                continue
            series.attach.append(elapsed)
            series.hold.append(hold)
            series.window.append(window)
            series.detach.append(detached)
            series.attach_cpu.append(attach_cpu)
            series.detach_cpu.append(detach_cpu)
    finally:
        target.kill()
    return series


def print_series(python, kind, cycles, series):
    print("%s, %s target (%d cycles)" % (python, kind, cycles))
    print("  first attach (cold)  %6.1f ms, held %5.1f ms, detach %6.1f ms" % series.cold)
    for name, values in (("attach wall time", series.attach), ("thread held", series.hold),
                         ("hijack window", series.window), ("detach wall time", series.detach),
                         ("attach CPU time", series.attach_cpu), ("detach CPU time", series.detach_cpu)):
        print("  %-20s median %6.1f ms  min %6.1f  p90 %6.1f  max %6.1f" % ((name,) + Series.spread(values)))
    sys.stdout.flush()


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            model = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"nproc": os.cpu_count(), "kernel": platform.release(), "cpu": model,
            "load": "%.2f %.2f %.2f" % os.getloadavg()}


def markdown(results, cycles, before, after):
    """The results page: what was run, where, and every figure with its spread."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# `memray attach` / `memray detach` benchmark",
        "",
        "Written by `tests/integration/bench_attach.py --markdown` (do not edit by hand; rerun it).",
        "",
        "- date: %s" % now,
        "- machine: %d CPUs (`nproc`), kernel `%s`, %s" % (before["nproc"], before["kernel"], before["cpu"]),
        "- load average (1, 5, 15 min) before / after the run: %s / %s (the machine is shared: other"
        " builds and tests may run alongside)" % (before["load"], after["load"]),
        "- %d cycles per target after one warm-up cycle; times in ms, as median (min / p90 / max)" % cycles,
        "- busy target: the main thread and a second thread allocate in Python all the time; idle"
        " target: the main thread blocked reading a pipe",
        "- attach: wall time of `memray attach -v -o FILE PID`, until the capture is confirmed"
        " running; held: the longest any target thread was stopped (from `-v`); detach: wall time"
        " of `memray detach PID`, until the file is finished; window: the part of the borrowed"
        " thread's hold spent running our calls with our registers (the hold minus the safe-point"
        " check), the time in which a SIGKILL to `memray attach` would kill the target; CPU: the"
        " user + system time of the `memray attach` and `memray detach` commands themselves, which"
        " the machine's load does not inflate (a command waiting for a CPU does not use one)",
        "- goals (issue 3): attach < %d ms (median, busy target), held < %d ms, detach < %d ms;"
        " memray 1.19 through gdb takes 1150 ms to attach and 1180 ms to detach"
        % (GOALS_MS["attach"], GOALS_MS["hold"], GOALS_MS["detach"]),
        "",
        "| interpreter | target | attach | held | window | detach | CPU attach / detach (median) |"
        " first (cold) attach / held / detach |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def cell(values):
        median, low, p90, high = Series.spread(values)
        return "%.1f (%.1f / %.1f / %.1f)" % (median, low, p90, high)

    for (python, kind), series in results:
        lines.append("| %s | %s | %s | %s | %s | %s | %.1f / %.1f | %.1f / %.1f / %.1f |" % (
            label(python), kind, cell(series.attach), cell(series.hold), cell(series.window),
            cell(series.detach), statistics.median(series.attach_cpu), statistics.median(series.detach_cpu),
            *series.cold))
    lines.append("")
    busy = [s for (p, k), s in results if k == "busy"]
    checks = [
        ("attach median, busy target", max(statistics.median(s.attach) for s in busy), GOALS_MS["attach"]),
        ("longest hold, any target, warm", max(max(s.hold) for _, s in results), GOALS_MS["hold"]),
        ("detach median, any target", max(statistics.median(s.detach) for _, s in results), GOALS_MS["detach"]),
    ]
    lines.append("Against the goals (worst interpreter):")
    lines.append("")
    for name, value, goal in checks:
        lines.append("- %s: %.1f ms, goal < %d ms: %s" % (name, value, goal, "met" if value < goal else "NOT MET"))
    lines.append("")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--all", action="store_true", help="every interpreter the tests use")
    parser.add_argument("--markdown", type=Path, help="also write the results page here")
    parser.add_argument("pythons", nargs="*")
    args = parser.parse_args()
    pythons = args.pythons or (every_test_python() if args.all else [lib.test_python()])
    before = machine()
    results = []
    with tempfile.TemporaryDirectory(prefix="memray-bench-") as directory:
        for python in pythons:
            for kind in TARGETS:
                series = bench(python, kind, args.cycles, directory)
                print_series(python, kind, args.cycles, series)
                results.append(((python, kind), series))
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown(results, args.cycles, before, machine()))
        print("wrote %s" % args.markdown)


if __name__ == "__main__":
    main()
