"""The benchmark suite's Live view section: what watching costs.

- Tracking cost, side by side: the program's own wall time (measured inside it, so that the
  view's start-up and quitting do not count) untracked, under `memray run -o FILE` and under
  `memray run --live` with the view on a pseudo-terminal, as ratios to the untracked run of the
  same round.
- Keeping up: `memray live FILE` following a capture that `memray run -o FILE` writes while
  benchmarks/workloads/steady_rate.py allocates about a million blocks a second. The viewer's
  backlog (capture bytes written but not yet read: file size minus the viewer's read offset in
  /proc/PID/fdinfo) is sampled every 0.5 s; keeping up means it does not grow. Its CPU time is
  from /proc/PID/stat.
- The viewer's CPU on the churn workload at the default refresh, and how soon the screen shows
  a program's first allocation after `memray run --live` starts.
"""

import fcntl
import os
import pty
import select
import statistics
import struct
import subprocess
import sys
import termios
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = os.path.join(HERE, "workloads")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# The program's own wall time, written to the file named by its first argument.
TIMED = ("import runpy, sys, time; out = sys.argv[1]; sys.argv = sys.argv[2:]; t = time.perf_counter(); "
         "runpy.run_path(sys.argv[0], run_name='__main__'); open(out, 'w').write('%.6f' % (time.perf_counter() - t))")


class Terminal:
    """A command on a pseudo-terminal of 120x40 whose output is drained (and kept)."""

    def __init__(self, argv, env=None):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        environment = dict(env or os.environ, TERM="xterm-256color", LANG="C.UTF-8")
        self.process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=environment,
                                        start_new_session=True)
        os.close(slave)
        self.master = master
        self.output = bytearray()
        self.drain = threading.Thread(target=self._drain, daemon=True)
        self.drain.start()

    def _drain(self):
        while True:
            ready, _, _ = select.select([self.master], [], [], 0.5)
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:
                    return
                if not data:
                    return
                self.output += data
            elif self.process.poll() is not None:
                return

    def type(self, text):
        os.write(self.master, text.encode())

    def finish(self, timeout=120):
        try:
            self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self.drain.join(timeout=5)
            os.close(self.master)
        return self.process.returncode


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out waiting for " + what)
        time.sleep(0.01)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def read_offset(pid, path):
    """Where process PID is reading PATH (its fdinfo pos), or None if it has no such file open."""
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            if os.readlink(os.path.join(fd_dir, fd)) == path:
                with open("/proc/%d/fdinfo/%s" % (pid, fd)) as info:
                    return int(info.readline().split()[1])
        except OSError:
            continue
    return None


def timed_wall(ctx, prefix, script, args, live=False):
    """The program's own wall time under PREFIX (argv before `-c TIMED`)."""
    out = os.path.join(ctx.scratch, "wall.txt")
    if os.path.exists(out):
        os.unlink(out)
    argv = prefix + ["-c", TIMED, out, script] + args
    if live:
        terminal = Terminal(argv)
        wait_for(lambda: os.path.exists(out) and os.path.getsize(out) > 0, 600, "the live run to end")
        terminal.type("q")
        if terminal.finish() != 0:
            raise RuntimeError("memray run --live failed: " + terminal.output.decode(errors="replace")[-300:])
    else:
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    with open(out) as wall:
        return float(wall.read())


def overhead_lines(ctx):
    lines = ["| workload | untracked (median s) | memray run -o | memray run --live |", "|---|---|---|---|"]
    for name, options in (("churn", []), ("churn", ["--trace-python-allocators"])):
        script = os.path.join(WORKLOADS, name + ".py")
        # Three times the suite's churn (about half a second untracked) and at least nine rounds:
        # with the default size the live viewer's start-up overlaps a large share of the run,
        # and five rounds of 0.2 s left medians 10% apart from noise alone.
        args = ctx.workload_args(name) if ctx.quick else ["300000"]
        walls = {"untracked": [], "file": [], "live": []}
        for _ in range(ctx.rounds if ctx.quick else max(ctx.rounds, 9)):
            walls["untracked"].append(timed_wall(ctx, [ctx.python], script, args))
            walls["file"].append(timed_wall(ctx, ctx.memray_run(*options), script, args))
            walls["live"].append(timed_wall(ctx, [ctx.memray, "run", "-q", "--python", ctx.python, "--live", *options],
                                            script, args, live=True))
        base = walls["untracked"]

        def ratio(values):
            ratios = [v / b for v, b in zip(values, base)]
            return "%.2fx (%.2f-%.2f)" % (statistics.median(ratios), min(ratios), max(ratios))
        lines.append("| %s %s | %.3f | %s | %s |" % (name, " ".join(options) or "(default)",
                                                    statistics.median(base), ratio(walls["file"]),
                                                    ratio(walls["live"])))
    return lines


def follow_lines(ctx, label, workload_argv, options=()):
    """`memray live FILE` following `memray run -o FILE WORKLOAD`: one table row."""
    capture = os.path.join(ctx.scratch, "followed.bin")
    if os.path.exists(capture):  # the previous row's: the viewer must not start on it
        os.unlink(capture)
    writer = subprocess.Popen([ctx.memray, "run", "-q", "-f", "-o", capture, "--python", ctx.python, *options]
                              + workload_argv, stdout=subprocess.PIPE, text=True)
    wait_for(lambda: os.path.exists(capture) and os.path.getsize(capture) > 0, 120, "the capture to start")
    viewer = Terminal([ctx.memray, "live", capture])
    start = time.monotonic()
    start_cpu = None
    backlogs = []
    while writer.poll() is None:
        try:
            offset = read_offset(viewer.process.pid, capture)
            if start_cpu is None:
                start_cpu = cpu_seconds(viewer.process.pid)
            if offset is not None:
                backlogs.append(os.path.getsize(capture) - offset)
        except OSError:
            pass
        time.sleep(0.5)
    wall = time.monotonic() - start
    cpu = cpu_seconds(viewer.process.pid) - (start_cpu or 0)
    out = writer.stdout.read().strip()
    achieved = out.replace("allocations/s", "alloc/s") if out.startswith("rate ") else "(as fast as it goes)"
    # Caught up: the viewer has read the whole finished capture.
    caught_up_start = time.monotonic()
    wait_for(lambda: read_offset(viewer.process.pid, capture) in (None, os.path.getsize(capture)), 120,
             "the viewer to catch up")
    catch_up = time.monotonic() - caught_up_start
    viewer.type("q")
    viewer.finish()
    half = len(backlogs) // 2
    first_half = max(backlogs[:half], default=0)
    second_half = max(backlogs[half:], default=0)
    return "| %s | %s | %.0f%% | %d kB | %d kB | %.2f s |" % (
        label, achieved, 100 * cpu / wall if wall else 0, first_half // 1000,
        second_half // 1000, catch_up)


def first_screen_seconds(ctx):
    """From `memray run --live` starting to the screen showing the program's first allocation."""
    program = "def first_screen_marker():\n    return bytearray(20_000_000)\nkept = first_screen_marker()\nimport time\ntime.sleep(60)\n"
    script = os.path.join(ctx.scratch, "first_screen.py")
    with open(script, "w") as out:
        out.write(program)
    start = time.monotonic()
    terminal = Terminal([ctx.memray, "run", "-q", "--python", ctx.python, "--live", script])
    wait_for(lambda: b"first_screen_marker" in terminal.output, 120, "the first screen")
    seconds = time.monotonic() - start
    terminal.type("q")
    terminal.finish()
    return seconds


def live_section(ctx):
    seconds = "2" if ctx.quick else "20"
    rate_argv = [os.path.join(WORKLOADS, "steady_rate.py"), "1000000", seconds]
    churn_argv = [os.path.join(WORKLOADS, "churn.py")] + (ctx.workload_args("churn") or ["3000000"])
    # With pymalloc traced, churn makes about 30 allocations per iteration: 9 million here.
    pymalloc_argv = [os.path.join(WORKLOADS, "churn.py")] + (ctx.workload_args("churn") or ["300000"])
    firsts = [first_screen_seconds(ctx) for _ in range(ctx.rounds)]
    return ["## Live view", "",
            "The program's own wall time (measured inside it) as a ratio to the untracked run of the",
            "same round, median (lowest-highest) over at least nine rounds of churn.py 300000: live",
            "tracking writes the same capture as `-o`, which the view follows (docs/live.md), so the",
            "two columns should agree within noise.", ""] + overhead_lines(ctx) + [
            "",
            "`memray live FILE` following `memray run -o FILE` of a workload: the workload's achieved",
            "rate, the viewer's CPU (share of one core over the run), its largest backlog in the first",
            "and second half of the run (keeping up: it stays as small as what a moment of the run",
            "writes, rather than growing with the run), and how long it took to read the rest once",
            "the program ended.", "",
            "| workload | achieved | viewer CPU | backlog, 1st half | backlog, 2nd half | catch-up |",
            "|---|---|---|---|---|---|",
            follow_lines(ctx, "steady_rate.py 1000000 (malloc/free pairs per s, %s s)" % seconds, rate_argv),
            follow_lines(ctx, "churn.py %s (default refresh)" % churn_argv[1], churn_argv),
            follow_lines(ctx, "churn.py %s --trace-python-allocators" % pymalloc_argv[1], pymalloc_argv,
                         options=("--trace-python-allocators",)),
            "",
            "- first screen: from `memray run --live` starting to the program's first allocation on the"
            " screen, median %.2f s (%.2f-%.2f) over %d runs" % (statistics.median(firsts), min(firsts), max(firsts),
                                                                 len(firsts)),
            ""]
