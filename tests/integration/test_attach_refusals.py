"""Every refusal of `memray attach` (and `memray detach`): a distinct one-line message, exit
status 1, and the target left exactly as it was -- not traced, not stopped or resumed, no
payload loaded, still working. (tests/cmake/attach.cmake)"""

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import memray_testlib as lib  # noqa: E402
import attach_testlib  # noqa: E402
from attach_testlib import (TEST_USER, Target, a_python_for, detach, libc_entry_bytes, payload_loaded,  # noqa: E402
                            proc_status, state, tracer_pid, unprivileged_user, usable_by, wait_until,
                            with_loader_lock_holder)


def attach(pid, output, *options, **kwargs):
    """memray attach without -v: a refusal is then exactly one line."""
    return attach_testlib.attach(pid, output, *options, verbose=False, **kwargs)

IS_ROOT = os.geteuid() == 0

WAITING_TARGET = """
    import sys
    print("ready", flush=True)
    for line in sys.stdin:
        print("pong", line.strip(), flush=True)
"""


def state_name(pid):
    return proc_status(pid).get("Name")


class RefusalAssertions:
    """What a refusal must look like, and what it must leave behind."""

    def assert_refused(self, result, *fragments):
        self.assertEqual(result.returncode, 1, result.stderr)
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertTrue(lines[0].startswith("memray attach: error: ") or lines[0].startswith("memray detach: error: "),
                        lines[0])
        for fragment in fragments:
            self.assertIn(fragment, lines[0])

    def assert_untouched(self, target, expected_state="S"):
        self.assertEqual(tracer_pid(target.pid), 0)
        self.assertFalse(payload_loaded(target.pid))
        in_memory, on_disk = libc_entry_bytes(target.pid)
        self.assertEqual(in_memory, on_disk)
        if expected_state == "T":
            self.assertEqual(state(target.pid), "T")

    def assert_still_works(self, target):
        target.send("ping\n")
        self.assertEqual(target.wait_for("pong"), "pong ping")
        self.assertEqual(target.finish(), 0, target.stderr())
        self.assertEqual(target.stderr(), "")


class RefusalTests(RefusalAssertions, lib.TempDirTestCase):
    def test_no_such_process(self):
        gone = subprocess.Popen(["true"])
        gone.wait()
        result = attach(gone.pid, self.tmp / "x.bin")
        self.assert_refused(result, "no process with pid %d" % gone.pid)
        self.assert_refused(detach(gone.pid), "no process with pid %d" % gone.pid)
        self.assertFalse((self.tmp / "x.bin").exists())

    def test_a_memray_without_its_attach_library_says_so(self):
        # attach and detach live in libmemray_attach.so next to the payload; a copy of the
        # executable without it must fail in one line, not crash.
        (self.tmp / "bin").mkdir()
        shutil.copy(lib.memray_binary(), self.tmp / "bin" / "memray")
        for command in ("attach", "detach"):
            result = subprocess.run([str(self.tmp / "bin" / "memray"), command, str(os.getpid())],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                                    env=lib.memray_env(), timeout=60)
            self.assertEqual(result.returncode, 1, result.stderr)
            self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
            self.assertIn("memray %s: error: cannot find libmemray_attach.so" % command, result.stderr)

    def test_not_a_python_process(self):
        sleeper = subprocess.Popen(["sleep", "30"])
        try:
            self.assertTrue(wait_until(lambda: state_name(sleeper.pid) == "sleep", timeout=60))  # exec'd
            result = attach(sleeper.pid, self.tmp / "x.bin")
            self.assert_refused(result, "process %d (sleep) is not a Python process" % sleeper.pid)
            self.assertEqual(tracer_pid(sleeper.pid), 0)
            self.assertIsNone(sleeper.poll())
        finally:
            sleeper.kill()
            sleeper.wait()

    def test_unsupported_python_version(self):
        old = sorted(Path("/root/.pyenv/versions").glob("3.6.*/bin/python3.6")) if os.access("/root", os.X_OK) else []
        if not old:
            self.skipTest("no Python 3.6 here")
        target = Target(self.tmp, WAITING_TARGET, python=str(old[0]))
        target.wait_for("ready")
        result = attach(target.pid, self.tmp / "x.bin")
        self.assert_refused(result, "runs Python 3.6", "supports Python 3.7 to 3.13")
        self.assert_untouched(target)
        self.assert_still_works(target)

    def test_exiting_process(self):
        zombie = subprocess.Popen([lib.test_python(), "-c", "pass"])
        self.assertTrue(wait_until(lambda: state(zombie.pid) == "Z"))
        try:
            self.assert_refused(attach(zombie.pid, self.tmp / "x.bin"), "process %d is exiting" % zombie.pid)
        finally:
            zombie.wait()

    def test_stopped_process_is_refused_and_stays_stopped(self):
        target = Target(self.tmp, WAITING_TARGET)
        target.wait_for("ready")
        os.kill(target.pid, signal.SIGSTOP)
        self.assertTrue(wait_until(lambda: state(target.pid) == "T"))
        result = attach(target.pid, self.tmp / "x.bin")
        self.assert_refused(result, "process %d is stopped" % target.pid, "kill -CONT")
        time.sleep(0.2)
        self.assert_untouched(target, expected_state="T")
        os.kill(target.pid, signal.SIGCONT)
        self.assert_still_works(target)

    def test_already_traced_process(self):
        target = Target(self.tmp, WAITING_TARGET)
        target.wait_for("ready")
        # A tracer of our own: PTRACE_SEIZE (no stop), then wait to be killed.
        tracer = subprocess.Popen(
            [sys.executable, "-c", "import ctypes, sys, time\n"
             "libc = ctypes.CDLL(None, use_errno=True)\n"
             "assert libc.ptrace(0x4206, int(sys.argv[1]), None, None) == 0, ctypes.get_errno()\n"
             "print('tracing', flush=True)\n"
             "time.sleep(60)\n", str(target.pid)],
            stdout=subprocess.PIPE, universal_newlines=True)
        try:
            self.assertEqual(tracer.stdout.readline().strip(), "tracing")
            result = attach(target.pid, self.tmp / "x.bin")
            self.assert_refused(result, "process %d is already being traced by process %d" % (target.pid, tracer.pid))
            self.assertEqual(tracer_pid(target.pid), tracer.pid)
            self.assertFalse(payload_loaded(target.pid))
        finally:
            tracer.kill()
            tracer.wait()
            tracer.stdout.close()
        self.assertTrue(wait_until(lambda: tracer_pid(target.pid) == 0))
        self.assert_still_works(target)

    def test_already_tracked_process(self):
        target = Target(self.tmp, WAITING_TARGET)
        target.wait_for("ready")
        first = self.tmp / "first.bin"
        result = attach(target.pid, first)
        self.assertEqual(result.returncode, 0, result.stderr)
        result = attach(target.pid, self.tmp / "second.bin")
        self.assert_refused(result, "process %d is already being tracked by memray (writing %s)" % (target.pid, first),
                            "memray detach %d" % target.pid)
        self.assertFalse((self.tmp / "second.bin").exists())
        self.assertEqual(tracer_pid(target.pid), 0)
        self.assertEqual(detach(target.pid).returncode, 0)
        self.assertEqual(lib.parse_capture(first).end["state"], "complete")
        self.assert_still_works(target)

    def test_process_tracked_by_memray_run(self):
        script = lib.write_file(self.tmp / "run_target.py", """
            import os, sys
            print("pid", os.getpid(), flush=True)
            sys.stdin.readline()
        """)
        run = subprocess.Popen([lib.memray_binary(), "run", "--python", lib.test_python(), "-q", "-o",
                                str(self.tmp / "run.bin"), str(script)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, universal_newlines=True,
                               env=lib.memray_env())
        try:
            pid = int(run.stdout.readline().split()[1])
            result = attach(pid, self.tmp / "x.bin")
            self.assert_refused(result, "process %d is already being tracked by memray" % pid, "memray run")
            self.assertFalse((self.tmp / "x.bin").exists())
            self.assertEqual(tracer_pid(pid), 0)
            self.assert_refused(detach(pid), "no capture started by `memray attach` is running in process %d" % pid)
        finally:
            run.stdin.close()
            self.assertEqual(run.wait(timeout=60), 0)
            run.stdout.close()
        self.assertEqual(lib.parse_capture(self.tmp / "run.bin").end["state"], "complete")

    def test_the_payload_refuses_a_second_session(self):
        # memray_attach_begin() itself: a second call while a session runs is refused (1).
        target = Target(self.tmp, """
            import ctypes, sys
            payload = ctypes.CDLL(sys.argv[1])
            config = b"output=%s\\ncontrol_socket=%s\\n" % (sys.argv[2].encode(), sys.argv[3].encode())
            print("first", payload.memray_attach_begin(config), flush=True)
            print("second", payload.memray_attach_begin(config), flush=True)
            sys.stdin.readline()
        """, args=[lib.real_payload(), self.tmp / "api.bin", "/tmp/memray-%d/attach-api-test-%d.sock" % (os.geteuid(), os.getpid())])
        self.assertEqual(target.wait_for("first"), "first 0")
        self.assertEqual(target.wait_for("second"), "second 1")
        import socket
        path = "/tmp/memray-%d/attach-api-test-%d.sock" % (os.geteuid(), os.getpid())
        clients = []

        def connected():
            # The file appears at bind(), before listen(); an earlier run with this pid may
            # also have left one: refused means not listening yet (a fresh socket per try).
            client = socket.socket(socket.AF_UNIX)
            try:
                client.connect(path)
            except (FileNotFoundError, ConnectionRefusedError):
                client.close()
                return False
            clients.append(client)
            return True

        self.assertTrue(wait_until(connected, timeout=60), "the session never listened on its socket")
        with clients[0] as client:
            client.sendall(b"stop\n")
            # Stopped, or cancelled if its start has not had the GIL yet.
            self.assertTrue(client.makefile().readline().startswith(("stopped ", "cancelled ")))
        self.assertEqual(target.finish(), 0, target.stderr())

    @unittest.skipUnless(IS_ROOT, "needs root to create a user")
    def test_permission_denied_names_what_is_missing(self):
        user = unprivileged_user()
        if not usable_by(user, lib.memray_binary()):
            self.skipTest("the build tree is not accessible to %s" % TEST_USER)
        target = Target(self.tmp, WAITING_TARGET)  # runs as root
        target.wait_for("ready")
        result = attach(target.pid, "/tmp/never-written.bin", user=user)
        self.assert_refused(result, "permission denied: process %d runs as root (uid 0)" % target.pid,
                            "memray runs as %s (uid %d)" % (TEST_USER, user[0]), "CAP_SYS_PTRACE")
        self.assert_refused(detach(target.pid, user=user), "permission denied")
        self.assert_untouched(target)
        self.assert_still_works(target)

    @unittest.skipUnless(IS_ROOT, "needs root to create a user")
    def test_payload_unreadable_by_the_target_user(self):
        user = unprivileged_user()
        python = a_python_for(user)
        if python is None:
            self.skipTest("no interpreter %s may run" % TEST_USER)
        os.chmod(self.tmp, 0o755)
        target = Target(self.tmp, WAITING_TARGET, python=python, user=user)
        target.wait_for("ready")
        private = self.tmp / "private" / "libmemray_payload.so"
        private.parent.mkdir()
        shutil.copy(lib.real_payload(), private)
        os.chmod(private, 0o600)
        result = attach(target.pid, self.tmp / "x.bin", env=lib.memray_env(payload=private))
        self.assert_refused(result, "the payload %s is not readable by %s (uid %d), the user process %d runs as"
                            % (private, TEST_USER, user[0], target.pid))
        self.assert_untouched(target)
        # Readable: root attaches to the other user's process; the capture is the target's to write.
        outputs = self.tmp / "outputs"
        outputs.mkdir()
        os.chown(outputs, user[0], user[1])
        result = attach(target.pid, outputs / "ok.bin")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(os.stat(outputs / "ok.bin").st_uid, user[0])
        self.assertEqual(detach(target.pid).returncode, 0)
        self.assert_still_works(target)

    # The main thread waits inside a dl_iterate_phdr() callback (with a loader lock held, so a
    # dlopen on that thread would deadlock): never a safe point.
    # Until killed: the release file is never created.
    NEVER_SAFE = with_loader_lock_holder("""
        hold_loader_lock_until("/nonexistent/never-released", "ready")
        print("done", flush=True)
    """)

    def test_no_safe_point(self):
        target = Target(self.tmp, self.NEVER_SAFE)
        target.wait_for("ready")
        time.sleep(0.2)
        result = attach(target.pid, self.tmp / "x.bin", "--safe-point-timeout-ms", "700")
        self.assert_refused(result, "no thread of process %d reached a safe point within 700 ms" % target.pid,
                            "is inside the dynamic loader (dl_iterate_phdr)", "nothing was changed")
        self.assertEqual(tracer_pid(target.pid), 0)
        self.assertFalse(payload_loaded(target.pid))
        target.kill()

    def test_the_target_killed_while_the_attach_looks_for_a_safe_point(self):
        # The attach stops and releases the thread every few ms; a SIGKILL that lands while it
        # holds the thread sends it to its exit while still traced. memray must notice, say
        # so promptly, and let go of the dying thread at once: until it does, the target's
        # parent cannot reap it (this used to take the whole 5 s safe-point timeout). Several
        # kills at different moments after memray first held the thread, to land in that
        # window now and then.
        for trial in range(5):
            target = Target(self.tmp, self.NEVER_SAFE)
            target.wait_for("ready")
            # A safe-point timeout far beyond the bounds below: an attach that only noticed the
            # death when it gave up would blow them, however loaded the machine.
            attaching = subprocess.Popen(
                [lib.memray_binary(), "attach", "--safe-point-timeout-ms", "300000", "-o", str(self.tmp / "y.bin"),
                 str(target.pid)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env=lib.memray_env())
            # Once memray holds a thread for its check (it is then the tracer), kill: at once
            # in the first trial, a little later in the next ones.
            self.assertTrue(wait_until(lambda: tracer_pid(target.pid) == attaching.pid, timeout=30, interval=0.0005),
                            "memray attach never traced the target")
            time.sleep(0.002 * trial)
            start = time.monotonic()
            target.kill()  # SIGKILL, then reaped
            reaped = time.monotonic() - start
            _, stderr = lib.communicate_explained(attaching, timeout=120)
            self.assertEqual(attaching.returncode, 1, stderr)
            self.assertIn("process %d exited during the attach" % target.pid, stderr)
            self.assertLess(time.monotonic() - start, 60, "trial %d: attach ended late" % trial)
            self.assertLess(reaped, 60, "trial %d: the killed target was held %.1f s" % (trial, reaped))


# A WAITING_TARGET under a seccomp filter that answers system call NUMBER (argv[1]) with ACTION
# (argv[2], a SECCOMP_RET_* value) and allows everything else.
SANDBOXED_TARGET = """
    import ctypes, struct, sys
    libc = ctypes.CDLL(None, use_errno=True)
    def op(code, jt, jf, k):
        return struct.pack("HBBI", code, jt, jf, k)  # struct sock_filter
    program = b"".join([
        op(0x20, 0, 0, 0),               # BPF_LD|BPF_W|BPF_ABS: A = seccomp_data.nr
        op(0x15, 0, 1, int(sys.argv[1])),  # BPF_JMP|BPF_JEQ|BPF_K: A == NUMBER?
        op(0x06, 0, 0, int(sys.argv[2], 0)),  # BPF_RET|BPF_K: ACTION
        op(0x06, 0, 0, 0x7fff0000),       # BPF_RET|BPF_K: SECCOMP_RET_ALLOW
    ])
    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
    code = ctypes.create_string_buffer(program, len(program))
    prog = Program(len(program) // 8, ctypes.cast(code, ctypes.c_void_p))
    assert libc.prctl(38, 1, 0, 0, 0) == 0  # PR_SET_NO_NEW_PRIVS
    assert libc.prctl(22, 2, ctypes.byref(prog), 0, 0) == 0  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
    print("ready", flush=True)
    for line in sys.stdin:
        print("pong", line.strip(), flush=True)
"""
SYS_SOCKET, SYS_KEXEC_LOAD = 41, 246
SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_ERRNO_EPERM = 0x80000000, 0x00050000 | 1


class SeccompTests(RefusalAssertions, lib.TempDirTestCase):
    # A sandboxed target must never be killed by memray's own system calls: memray reads its
    # filters and refuses when one would kill it on (or fail) a call memray makes.

    def sandboxed(self, number, action):
        target = Target(self.tmp, SANDBOXED_TARGET, args=[number, hex(action)])
        target.wait_for("ready")
        return target

    @unittest.skipUnless(IS_ROOT, "reading a seccomp filter needs CAP_SYS_ADMIN")
    def test_a_filter_that_kills_on_a_call_memray_makes_is_refused(self):
        target = self.sandboxed(SYS_SOCKET, SECCOMP_RET_KILL_PROCESS)
        result = attach(target.pid, self.tmp / "x.bin")
        self.assert_refused(result, "process %d runs under a seccomp filter that forbids what memray needs: it makes "
                                    "socket(), which the filter kills the process" % target.pid, "nothing was changed")
        self.assertFalse((self.tmp / "x.bin").exists())
        self.assert_untouched(target)
        self.assert_still_works(target)

    @unittest.skipUnless(IS_ROOT, "reading a seccomp filter needs CAP_SYS_ADMIN")
    def test_a_filter_that_fails_a_call_memray_makes_is_refused(self):
        target = self.sandboxed(SYS_SOCKET, SECCOMP_RET_ERRNO_EPERM)
        result = attach(target.pid, self.tmp / "x.bin")
        self.assert_refused(result, "socket(), which the filter fails it with EPERM")
        self.assert_untouched(target)
        self.assert_still_works(target)

    @unittest.skipUnless(IS_ROOT, "reading a seccomp filter needs CAP_SYS_ADMIN")
    def test_a_filter_that_allows_what_memray_makes_is_no_obstacle(self):
        # Like a container runtime's default profile: it forbids calls memray never makes.
        target = self.sandboxed(SYS_KEXEC_LOAD, SECCOMP_RET_KILL_PROCESS)
        output = self.tmp / "sandboxed.bin"
        result = attach(target.pid, output)
        self.assertEqual(result.returncode, 0, result.stderr)
        target.send("ping\n")
        self.assertEqual(target.wait_for("pong"), "pong ping")
        result = detach(target.pid)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(lib.parse_capture(output).end["state"], "complete")
        self.assert_still_works(target)


if __name__ == "__main__":
    unittest.main()
