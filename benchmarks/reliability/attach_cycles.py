"""Attach and detach cycles on hostile targets: how often memray hangs, kills its target, or
makes a blocked system call fail with EINTR. All three must stay at zero.

    attach_cycles.py --build BUILD_DIR --python PYTHON [--cycles N] [--markdown FILE]

Each target is a real Python process that keeps doing what makes attaching hard (threads that
fork all the time, a seccomp sandbox, 200 threads, threads blocked in system calls that report
EINTR). Every cycle attaches, has the target allocate and answer, and detaches; the target must
answer every time and, at the end, exit 0 and report no EINTR. A seccomp filter that would kill
the target on a call memray makes must be refused, and the target must live on.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import queue

# Generous: a hang is a command that never ends, not a slow one.
COMMAND_TIMEOUT = 120

# Every target: "ready" once set up, a "pong" per line on stdin (after allocating), and at the
# end of stdin "eintr N" (how many blocked calls failed with EINTR) before exiting 0.
ANSWER_LOOP = """
print("ready", flush=True)
for line in sys.stdin:
    keep = bytearray(100_003)
    print("pong", flush=True)
print("eintr", eintr_count(), flush=True)
"""

FORKING = """
import os, sys, threading
def forker():
    while True:
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
threading.Thread(target=forker, daemon=True).start()
def eintr_count():
    return 0
"""

# A filter that answers system call NUMBER (argv[1]) with ACTION (argv[2]), allows the rest.
SANDBOXED = """
import ctypes, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
def op(code, jt, jf, k):
    return struct.pack("HBBI", code, jt, jf, k)
program = b"".join([op(0x20, 0, 0, 0), op(0x15, 0, 1, int(sys.argv[1])), op(0x06, 0, 0, int(sys.argv[2], 0)),
                    op(0x06, 0, 0, 0x7fff0000)])
class Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
code = ctypes.create_string_buffer(program, len(program))
prog = Program(len(program) // 8, ctypes.cast(code, ctypes.c_void_p))
assert libc.prctl(38, 1, 0, 0, 0) == 0 and libc.prctl(22, 2, ctypes.byref(prog), 0, 0) == 0
def eintr_count():
    return 0
"""

MANY_THREADS = """
import sys, threading, time
def worker():
    while True:
        time.sleep(0.01)
        bytearray(1000)
for i in range(200):
    threading.Thread(target=worker, daemon=True, name="worker-%d" % i).start()
def eintr_count():
    return 0
"""

# Threads in C calls that return -errno instead of retrying (Python would retry EINTR), from the
# attach tests' probe library (argv[1]).
BLOCKED = """
import ctypes, errno, os, sys, threading
probe = ctypes.CDLL(sys.argv[1])
read_fd, write_fd = os.pipe()
eintrs = []
def blocked(call):
    while True:
        if call() == -errno.EINTR:
            eintrs.append(1)
calls = [lambda: probe.probe_nanosleep_ms(200), lambda: probe.probe_poll_ms(200),
         lambda: probe.probe_select_ms(200), lambda: probe.probe_epoll_ms(200), lambda: probe.probe_read_byte(read_fd)]
for call in calls:
    threading.Thread(target=blocked, args=(call,), daemon=True).start()
def eintr_count():
    return len(eintrs)
"""

SYS_SOCKET, SYS_KEXEC_LOAD = 41, 246
KILL_PROCESS = "0x80000000"


def targets(build):
    probe = os.path.join(build, "tests", "lib", "libmemray_test_attach_probe.so")
    # (name, source, arguments, whether memray must refuse it)
    return [
        ("a thread forking all the time", FORKING, [], False),
        ("seccomp filter killing on a call memray never makes", SANDBOXED, [SYS_KEXEC_LOAD, KILL_PROCESS], False),
        ("seccomp filter killing on socket()", SANDBOXED, [SYS_SOCKET, KILL_PROCESS], True),
        ("200 threads sleeping and allocating", MANY_THREADS, [], False),
        ("threads blocked in nanosleep, poll, select, epoll, read", BLOCKED, [probe], False),
    ]


class Target:
    def __init__(self, python, directory, source, args):
        script = os.path.join(directory, "target.py")
        with open(script, "w") as out:
            out.write(textwrap.dedent(source) + ANSWER_LOOP)
        self.process = subprocess.Popen([python, "-u", script] + [str(a) for a in args], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.process.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def expect(self, prefix):
        """The next line if it starts with PREFIX, else None (the target ended or hung)."""
        try:
            line = self.lines.get(timeout=COMMAND_TIMEOUT)
        except queue.Empty:
            return None
        return line if line is not None and line.startswith(prefix) else None


def run_memray(memray, args):
    """(exit status, stderr), or (None, "") if it hung."""
    try:
        done = subprocess.run([memray] + args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, universal_newlines=True, timeout=COMMAND_TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, ""
    return done.returncode, done.stderr


def cycle_target(memray, python, directory, source, args, refused_expected, cycles):
    counts = dict(cycles=0, attached=0, refused=0, hangs=0, deaths=0, eintrs=0, failures=0)
    target = Target(python, directory, source, args)
    try:
        if target.expect("ready") is None:
            counts["failures"] += 1
            return counts
        output = os.path.join(directory, "capture.bin")
        for _ in range(cycles):
            counts["cycles"] += 1
            status, stderr = run_memray(memray, ["attach", "-f", "-o", output, str(target.process.pid)])
            if status is None:
                counts["hangs"] += 1
                break
            if status != 0:
                counts["refused" if refused_expected and "seccomp" in stderr else "failures"] += 1
            else:
                counts["attached"] += 1
                if refused_expected:
                    counts["failures"] += 1
            target.process.stdin.write("ping\n")
            target.process.stdin.flush()
            if target.expect("pong") is None:
                counts["deaths" if target.process.poll() is not None else "hangs"] += 1
                break
            if status == 0:
                status, _ = run_memray(memray, ["detach", str(target.process.pid)])
                if status is None:
                    counts["hangs"] += 1
                    break
                counts["failures"] += status != 0
        target.process.stdin.close()
        last = target.expect("eintr")
        if last is None:
            counts["deaths" if target.process.poll() is not None else "hangs"] += 1
        else:
            counts["eintrs"] += int(last.split()[1])
        try:
            if target.process.wait(timeout=COMMAND_TIMEOUT) != 0:
                counts["deaths"] += 1
        except subprocess.TimeoutExpired:
            counts["hangs"] += 1
    finally:
        if target.process.poll() is None:
            target.process.kill()
            target.process.wait()
    return counts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", required=True, help="the build tree (bin/memray, tests/lib)")
    parser.add_argument("--python", required=True)
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--markdown", help="write the table here too")
    args = parser.parse_args()
    memray = os.path.join(args.build, "bin", "memray")
    lines = ["| target | cycles | attached | refused | hangs | deaths | EINTRs | other failures |",
             "|---|---|---|---|---|---|---|---|"]
    bad = 0
    for name, source, target_args, refused in targets(args.build):
        with tempfile.TemporaryDirectory(prefix="memray-attach-cycles-") as directory:
            counts = cycle_target(memray, args.python, directory, source, target_args, refused, args.cycles)
        bad += counts["hangs"] + counts["deaths"] + counts["eintrs"] + counts["failures"]
        lines.append("| %s | %d | %d | %d | %d | %d | %d | %d |" % (
            name, counts["cycles"], counts["attached"], counts["refused"], counts["hangs"], counts["deaths"],
            counts["eintrs"], counts["failures"]))
        print(lines[-1], flush=True)
    if args.markdown:
        with open(args.markdown, "w") as out:
            out.write("\n".join(lines) + "\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
