"""Helpers for the `memray attach` / `memray detach` tests (standard library only).

A Target is a Python process under test, started with the interpreter under test, whose
stdout lines can be waited for. attach()/detach() run the commands; the -v output of attach
tells which thread was held and for how long.
"""

import os
import pwd
import queue
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hang_report  # noqa: E402
import memray_testlib as lib  # noqa: E402

# The unprivileged user the tests that attach across users create (root only).
TEST_USER = "memray-attach-test"

PROBES = lib.BUILD_DIR / "tests" / "lib"
ATTACH_PROBE = PROBES / "libmemray_test_attach_probe.so"
LOADABLE = PROBES / "libmemray_test_attach_loadable.so"

# Generous, for a loaded machine: an attach normally takes well under a second, and gives up
# waiting for the capture to start after 60 s (tools/memray/cmd_attach.cpp): this is past that.
COMMAND_TIMEOUT = 120


class Target:
    """A Python process running SOURCE (dedented) with ARGS; its stdout is read line by line."""

    def __init__(self, directory, source, args=(), python=None, env=None, user=None, stdin=True,
                 pass_fds=(), name="target.py"):
        script = lib.write_file(Path(directory) / name, source)
        command = [python or lib.test_python(), "-u", str(script)] + [str(a) for a in args]
        preexec = None
        if user is not None:
            uid, gid = user

            def preexec():
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
            env=env if env is not None else lib.memray_env(), pass_fds=pass_fds,
            preexec_fn=preexec, cwd=str(directory))
        self.pid = self.process.pid
        self.lines = []
        self._queue = queue.Queue()
        self._stderr = []
        self._pumps = [threading.Thread(target=self._pump, args=(self.process.stdout, self._queue), daemon=True),
                       threading.Thread(target=self._pump, args=(self.process.stderr, None), daemon=True)]
        for pump in self._pumps:
            pump.start()

    def _pump(self, stream, lines):
        for line in stream:
            if lines is not None:
                lines.put(line.rstrip("\n"))
            else:
                self._stderr.append(line)
        if lines is not None:
            lines.put(None)

    def wait_for(self, prefix, timeout=COMMAND_TIMEOUT):
        """The next stdout line starting with PREFIX (earlier lines are kept in self.lines)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("timed out waiting for %r from the target; got %r, stderr %r\n%s"
                                     % (prefix, self.lines, self.stderr(), hang_report.describe_tree(self.pid)))
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError("the target ended (status %r) before printing %r; got %r, stderr %r"
                                     % (self.process.poll(), prefix, self.lines, self.stderr()))
            self.lines.append(line)
            if line.startswith(prefix):
                return line

    def send(self, text):
        self.process.stdin.write(text)
        self.process.stdin.flush()

    def stderr(self):
        return "".join(self._stderr)

    def finish(self, timeout=COMMAND_TIMEOUT):
        """Closes stdin, waits for the exit; returns the exit status. All stdout is in self.lines."""
        if self.process.stdin:
            try:
                self.process.stdin.close()
            except OSError:
                pass
        try:
            status = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("the target did not end within %s s; stderr %r\n%s"
                                 % (timeout, self.stderr(), hang_report.describe_tree(self.pid)))
        self._close()
        while True:
            try:
                line = self._queue.get(timeout=5)
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
        return status

    def _close(self):
        for pump in self._pumps:
            pump.join(timeout=5)
        for stream in (self.process.stdout, self.process.stderr):
            stream.close()

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.process.stdin:
            try:
                self.process.stdin.close()
            except OSError:
                pass
        self._close()


# hold_loader_lock(seconds, announce): sits in a dl_iterate_phdr() callback for SECONDS after
# printing ANNOUNCE. dl_iterate_phdr holds the loader's write lock while its callbacks run: the
# calling thread is never a safe point, and a dlopen elsewhere waits for the lock.
LOADER_LOCK_HOLDER = """
import ctypes as _ctypes, time as _time
_CALLBACK = _ctypes.CFUNCTYPE(_ctypes.c_int, _ctypes.c_void_p, _ctypes.c_size_t, _ctypes.c_void_p)
def hold_loader_lock(seconds, announce):
    def callback(info, size, data):
        print(announce, flush=True)
        _time.sleep(seconds)
        return 1  # stop iterating
    _ctypes.CDLL(None).dl_iterate_phdr(_CALLBACK(callback), None)
"""


# hold_loader_lock_until(path, announce): the same, until the file PATH exists: the lock is held
# for as long as the test needs, whatever the machine's load. The holding thread itself watches
# for the file, since any other thread of the target may be the one an attach borrows.
LOADER_LOCK_HOLDER += """
def hold_loader_lock_until(path, announce):
    import os as _os
    def callback(info, size, data):
        print(announce, flush=True)
        while not _os.path.exists(path):
            _time.sleep(0.005)
        return 1
    _ctypes.CDLL(None).dl_iterate_phdr(_CALLBACK(callback), None)
"""


class StderrLines:
    """The stderr of a running Popen (text mode), line by line, as it comes."""

    def __init__(self, process):
        self.process = process
        self.lines = []
        self._queue = queue.Queue()
        self._pump = threading.Thread(target=self._read, daemon=True)
        self._pump.start()

    def _read(self):
        for line in self.process.stderr:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, text, timeout=COMMAND_TIMEOUT, involved=()):
        """Waits for a line containing TEXT; fails with every involved process's stacks."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
                ended = False
            else:
                ended = line is None
            if line is not None:
                self.lines.append(line)
                if text in line:
                    return line
                continue
            stacks = "\n".join(hang_report.describe_tree(pid) for pid in [self.process.pid] + list(involved))
            raise AssertionError("%s %r; stderr so far: %r\n%s" % (
                "the command ended without saying" if ended else "timed out waiting for", text, "".join(self.lines),
                stacks))

    def rest(self, timeout=COMMAND_TIMEOUT):
        """Waits for the process to end; all its stderr."""
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stacks = hang_report.describe_tree(self.process.pid)
            hang_report.kill_tree(self.process.pid)
            raise AssertionError("%s did not end within %s s; stderr so far: %r\n%s"
                                 % (" ".join(map(str, self.process.args)), timeout, "".join(self.lines), stacks))
        self._pump.join(timeout=10)
        while not self._queue.empty():
            line = self._queue.get()
            if line is not None:
                self.lines.append(line)
        for stream in (self.process.stdout, self.process.stderr):
            if stream:
                stream.close()
        return "".join(self.lines)


def with_loader_lock_holder(source):
    """SOURCE (dedented) with hold_loader_lock() defined first."""
    return LOADER_LOCK_HOLDER + textwrap.dedent(source)


def attach(pid, output, *options, verbose=True, env=None, user=None, timeout=COMMAND_TIMEOUT):
    """Runs `memray attach [-v] -o OUTPUT OPTIONS PID`."""
    args = ["attach"] + (["-v"] if verbose else []) + ["-o", str(output)] + list(options) + [str(pid)]
    return run_memray_as(args, env=env, user=user, timeout=timeout, involved=[pid])


def detach(pid, env=None, user=None, timeout=COMMAND_TIMEOUT):
    return run_memray_as(["detach", str(pid)], env=env, user=user, timeout=timeout, involved=[pid])


def run_memray_as(args, env=None, user=None, timeout=COMMAND_TIMEOUT, involved=()):
    preexec = None
    if user is not None:
        uid, gid = user

        def preexec():
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
    return lib.run_explained([lib.memray_binary()] + list(args), env=env or lib.memray_env(), timeout=timeout,
                             preexec_fn=preexec, cwd="/", involved=involved)


def thread_stacks(pid):
    """Every thread's native stack of PID and the processes below it: to explain a hang in a
    failure message."""
    return hang_report.describe_tree(pid)


def held(result):
    """(thread id, milliseconds, longest milliseconds) from attach -v's "held thread T of process
    P for X ms (longest hold Y ms, ...)": X is the hold of the thread that made the calls, Y the
    longest any thread was stopped (threads stopped, found unsafe and released count too)."""
    match = re.search(r"held thread (\d+) of process \d+ for ([0-9.]+) ms \(longest hold ([0-9.]+) ms", result.stderr)
    if not match:
        raise AssertionError("no held time in %r" % result.stderr)
    return int(match.group(1)), float(match.group(2)), float(match.group(3))


def proc_status(pid):
    """The fields of /proc/PID/status as a dict of strings."""
    fields = {}
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def tracer_pid(pid):
    return int(proc_status(pid)["TracerPid"])


def state(pid):
    return proc_status(pid)["State"][0]


def maps_text(pid):
    with open("/proc/%d/maps" % pid) as maps:
        return maps.read()


def payload_loaded(pid):
    return "libmemray_payload" in maps_text(pid)


def wait_until(predicate, timeout=60, interval=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def libc_entry_bytes(pid):
    """The first 8 bytes of libc's ELF entry point in PID's memory, and in the file: where the
    injector writes its call gadget. They must be equal whenever no attach is in flight."""
    import struct
    for line in maps_text(pid).splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[5].endswith("/libc.so.6") and int(fields[2], 16) == 0:
            base = int(fields[0].split("-")[0], 16)
            path = fields[5]
            break
    else:
        raise AssertionError("no libc in process %d" % pid)
    with open(path, "rb") as elf:
        header = elf.read(64)
        entry = struct.unpack_from("<Q", header, 24)[0]
        phoff = struct.unpack_from("<Q", header, 32)[0]
        phnum = struct.unpack_from("<H", header, 56)[0]
        elf.seek(phoff)
        segments = [struct.unpack("<IIQQQQQQ", elf.read(56)) for _ in range(phnum)]
        first_load = next(s for s in segments if s[0] == 1)
        file_offset = entry - first_load[3] + first_load[2]  # entry - vaddr + offset (first PT_LOAD maps the start)
        for segment in segments:
            if segment[0] == 1 and segment[3] <= entry < segment[3] + segment[5]:
                file_offset = entry - segment[3] + segment[2]
        elf.seek(file_offset)
        on_disk = elf.read(8)
    bias = base - (first_load[3] & ~0xfff)
    with open("/proc/%d/mem" % pid, "rb") as memory:
        memory.seek(bias + entry)
        in_memory = memory.read(8)
    return in_memory, on_disk


def assert_untouched(test, pid):
    """No tracer left, and libc's entry point (where the call gadget goes) as on disk."""
    test.assertTrue(wait_until(lambda: tracer_pid(pid) == 0, timeout=60), "process %d still traced" % pid)
    in_memory, on_disk = libc_entry_bytes(pid)
    test.assertEqual(in_memory, on_disk, "the call gadget was left in process %d" % pid)


def unprivileged_user():
    """(uid, gid) of a user without privileges, created on first use (needs root)."""
    try:
        entry = pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", TEST_USER],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        entry = pwd.getpwnam(TEST_USER)  # (another test may have created it meanwhile)
    return entry.pw_uid, entry.pw_gid


def usable_by(user, path):
    """Whether USER (uid, gid) can execute PATH (checked in a child that becomes the user)."""
    def become():
        os.setgroups([])
        os.setgid(user[1])
        os.setuid(user[0])
    probe = subprocess.run(["/bin/sh", "-c", 'test -x "$0"', str(path)], preexec_fn=become)
    return probe.returncode == 0


def a_python_for(user):
    """The interpreter under test if USER may run it, else the system one (what these tests
    check does not depend on the version)."""
    for candidate in (lib.test_python(), "/usr/bin/python3"):
        if usable_by(user, candidate):
            return candidate
    return None
