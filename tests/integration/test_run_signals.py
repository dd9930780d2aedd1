"""Signals and `memray run`: what reaches the program, and how memray ends.

memray stands in for the program towards whoever signals it (tools/memray/signal_relay.h):
every catchable signal sent to memray alone is forwarded, the terminal's signals (which reach
the whole foreground process group, the program included) are not forwarded a second time,
a stopped program stops memray too, and memray ends with the program's status.

The terminal is a real pseudo-terminal here, with memray's session attached to it: only the
kernel's line discipline sends a signal the way a terminal does (si_code SI_KERNEL, to the
foreground group). os.killpg() would be another process signalling the group, which memray
cannot tell from a signal sent to it alone.

A program that waits for a signal it handles in Python naps in a loop instead of one long
time.sleep(): CPython runs a Python handler (or raises KeyboardInterrupt) only at its next
eval-breaker check, and a signal that lands between the last check and the sleep's system call
trips the handler without interrupting the call, so it is acted upon only when the sleep ends.
That race is CPython's own, seen on 3.10 only in these measurements: a SIGINT sent to the
process group right after "ready", with a 3 s sleep, was acted upon late by plain python3.10 in
1 run of 540, by python3.10 running memray's bootstrap under a plain parent in 3 of 300, by
`memray run` (before signal_relay) in 9 of 580, and never (0 of 200) with plain python3.10
under a parent that, like memray, blocks SIGINT in the same process group; 3.9 and 3.11 plain:
0 of 200. memray changes nothing of the program's signal handling (the child restores the mask
and dispositions before exec): running the program through the bootstrap only makes the
signal land in the window more often.
"""

import fcntl
import os
import signal
import subprocess
import sys
import termios
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hang_report  # noqa: E402
import memray_testlib as lib  # noqa: E402

PYTHON = lib.test_python()
STAND_IN = lib.stand_in_payload()
GENEROUS = 120  # seconds: a bound for a wait that normally takes milliseconds

# Every catchable signal a shell, a supervisor or a timer may send, except SIGCHLD (memray's
# own: it reports the program's state changes) and the fault signals.
FORWARDED = [name for name in (
    "SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH", "SIGALRM",
    "SIGCONT", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGPIPE", "SIGVTALRM", "SIGPROF", "SIGURG",
    "SIGXCPU", "SIGXFSZ", "SIGPWR", "SIGIO", "SIGRTMIN", "SIGRTMAX") if hasattr(signal, name)]

# Installs a handler for the signal named in argv[1] that writes argv[2] and exits with 40
# (through SystemExit, so the capture is finished as at any normal exit).
HANDLER_PROGRAM = """
    import signal, sys, time
    number = getattr(signal, sys.argv[1])
    def handler(received, frame):
        with open(sys.argv[2], "w") as marker:
            marker.write(str(received))
        sys.exit(40)
    signal.signal(number, handler)
    data = [bytearray(1000) for _ in range(100)]
    print("ready", flush=True)
    while True:
        time.sleep(0.05)
"""

# Prints its pid, then counts SIGINTs until a SIGUSR2 makes it exit with the count.
COUNTING_PROGRAM = """
    import os, signal, sys, time
    count = 0
    def on_int(*_):
        global count
        count += 1
        print("SIGINT", count, flush=True)
    def on_usr2(*_):
        sys.exit(count)
    signal.signal(signal.SIGINT, on_int)
    signal.signal(signal.SIGUSR2, on_usr2)
    print(os.getpid(), flush=True)
    while True:
        time.sleep(0.05)
"""


# A shell, reduced to one foreground job: leads a session whose controlling terminal is its
# stdin, runs argv[2:] as a job in a process group of its own in the foreground, prints "job
# PID", then "stopped SIGNAL" when the job stops; after a byte on the file descriptor argv[1],
# continues it in the foreground (`fg`), and prints "exited STATUS" when it ends. Both sides
# set the job's group, as shells do: whichever comes second finds it done (the parent's call
# fails with EACCES once the child has exec'd).
MINI_SHELL = """
import fcntl, os, signal, sys, termios
fcntl.ioctl(0, termios.TIOCSCTTY, 0)
signal.signal(signal.SIGTTOU, signal.SIG_IGN)
pid = os.fork()
if pid == 0:
    os.setpgid(0, 0)
    os.tcsetpgrp(0, os.getpgrp())
    signal.signal(signal.SIGTTOU, signal.SIG_DFL)
    os.execv(sys.argv[2], sys.argv[2:])
try:
    os.setpgid(pid, pid)
except PermissionError:
    pass
os.tcsetpgrp(0, pid)
print("job", pid, flush=True)
_, status = os.waitpid(pid, os.WUNTRACED)
print("stopped", os.WSTOPSIG(status) if os.WIFSTOPPED(status) else -1, flush=True)
os.read(int(sys.argv[1]), 1)
os.tcsetpgrp(0, pid)
os.killpg(pid, signal.SIGCONT)
_, status = os.waitpid(pid, 0)
print("exited", os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1, flush=True)
"""


def wait_for_exit(process):
    """(stdout, stderr) of PROCESS once it has ended (failing with every stack past GENEROUS)."""
    return lib.communicate_explained(process, timeout=GENEROUS)


def wait_until(predicate, what):
    deadline = time.monotonic() + GENEROUS
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting until " + what)


def process_state(pid):
    text = Path("/proc/%d/stat" % pid).read_text()
    return text[text.rindex(")") + 2]


class SignalTestCase(lib.TempDirTestCase):
    def start(self, source, args=(), payload=STAND_IN, terminal=False, verbose=False):
        """Starts `memray run PROGRAM ARGS` in a session of its own (with a pseudo-terminal
        as its controlling terminal if `terminal`: then self.terminal is the master side).
        Returns the Popen; the program's stdout is a pipe."""
        lib.write_file(self.tmp / "prog.py", source)
        stdin = subprocess.DEVNULL
        preexec = None
        if terminal:
            master, slave = os.openpty()
            self.addCleanup(os.close, master)
            self.terminal = master
            stdin = slave

            def preexec():
                # A session leader without a controlling terminal takes this one; its process
                # group is the terminal's foreground group.
                fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        process = subprocess.Popen(
            [lib.memray_binary()] + (["-vv"] if verbose else [])
            + ["run", "--python", PYTHON, "-q", "-f", "-o", "out.bin", "prog.py"] + [str(a) for a in args],
            cwd=str(self.tmp), env=lib.memray_env(payload), stdin=stdin,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
            start_new_session=True, preexec_fn=preexec)
        if terminal:
            os.close(slave)
        self.addCleanup(self.reap, process)
        return process

    @staticmethod
    def reap(process):
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()

    def press(self, key):
        """Types a control character on the terminal."""
        os.write(self.terminal, key)


class ForwardingTests(SignalTestCase):
    def test_every_catchable_signal_sent_to_memray_reaches_the_program(self):
        for name in FORWARDED:
            with self.subTest(signal=name):
                marker = self.tmp / ("got-" + name)
                process = self.start(HANDLER_PROGRAM, [name, marker], payload=None)
                self.assertEqual(lib.read_line(process, GENEROUS), "ready\n")
                os.kill(process.pid, getattr(signal, name))  # memray alone
                _, err = wait_for_exit(process)
                self.assertEqual(process.returncode, 40, err)
                self.assertEqual(marker.read_text(), str(int(getattr(signal, name))))
                capture = lib.parse_capture(self.tmp / "out.bin")
                self.assertEqual(capture.end["state"], "complete")

    def test_death_by_a_forwarded_signal_is_reproduced(self):
        for name in ("SIGTERM", "SIGUSR1", "SIGHUP", "SIGALRM"):
            with self.subTest(signal=name):
                process = self.start("import time\nprint('ready', flush=True)\ntime.sleep(600)")
                self.assertEqual(lib.read_line(process, GENEROUS), "ready\n")
                os.kill(process.pid, getattr(signal, name))
                wait_for_exit(process)
                self.assertEqual(process.returncode, -getattr(signal, name))

    def test_a_signal_the_program_sends_its_group_is_not_sent_back(self):
        # Real-time signals queue, one instance per sending: the program counts its copies.
        process = self.start("""
            import os, signal, sys
            own, barrier = signal.SIGRTMIN, signal.SIGRTMIN + 1
            signal.pthread_sigmask(signal.SIG_BLOCK, {own, barrier})
            os.kill(0, own)  # the whole group: memray too
            print("sent", flush=True)
            signal.sigwaitinfo({barrier})
            copies = 0
            while signal.sigtimedwait({own}, 0) is not None:
                copies += 1
            sys.exit(copies)
        """)
        self.assertEqual(lib.read_line(process, GENEROUS), "sent\n")
        # memray takes its pending signals lowest number first and forwards them in order: a
        # copy sent back would be queued in the program before this barrier.
        os.kill(process.pid, signal.SIGRTMIN + 1)
        wait_for_exit(process)
        self.assertEqual(process.returncode, 1)

    def test_program_dies_with_memray(self):
        process = self.start("""
            import os, time
            print(os.getpid(), flush=True)
            time.sleep(600)
        """)
        child = int(lib.read_line(process, GENEROUS))
        process.kill()  # memray alone
        process.wait(timeout=GENEROUS)

        def gone():
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                return True
            return False
        wait_until(gone, "the program is gone with memray")


class TerminalTests(SignalTestCase):
    """The terminal signals the whole foreground group: the program gets them once."""

    def test_ctrl_c_reaches_the_program_once(self):
        process = self.start(COUNTING_PROGRAM, terminal=True, verbose=True)
        int(lib.read_line(process, GENEROUS))
        self.press(b"\x03")
        self.assertEqual(lib.read_line(process, GENEROUS), "SIGINT 1\n")
        # A SIGINT forwarded by memray would have been sent before this SIGUSR2 (memray
        # collects its pending signals lowest number first) and counted before it, unless it
        # merged with the first (standard signals do not queue): memray's log says for sure.
        os.kill(process.pid, signal.SIGUSR2)
        out, err = wait_for_exit(process)
        self.assertEqual(process.returncode, 1, (out, err))
        self.assertIn("not forwarding signal %d: the terminal sent it" % signal.SIGINT, err)
        self.assertNotIn("forwarding signal %d to" % signal.SIGINT, err)

    def test_sigint_sent_to_memray_alone_is_forwarded_once(self):
        process = self.start(COUNTING_PROGRAM)
        int(lib.read_line(process, GENEROUS))
        os.kill(process.pid, signal.SIGINT)
        self.assertEqual(lib.read_line(process, GENEROUS), "SIGINT 1\n")
        os.kill(process.pid, signal.SIGUSR2)
        wait_for_exit(process)
        self.assertEqual(process.returncode, 1)

    def test_ctrl_c_handled_by_the_program(self):
        process = self.start("""
            import sys, time
            try:
                print("ready", flush=True)
                while True: time.sleep(0.05)
            except KeyboardInterrupt:
                print("interrupted", flush=True)
                sys.exit(5)
        """, terminal=True)
        self.assertEqual(lib.read_line(process, GENEROUS), "ready\n")
        self.press(b"\x03")
        out, _ = wait_for_exit(process)
        self.assertEqual(process.returncode, 5)
        self.assertIn("interrupted", out)

    def test_ctrl_c_after_the_program_ended_does_not_change_the_status(self):
        # The program exits at once on Ctrl-C: memray's own copy of the SIGINT may still be
        # pending when it learns that, and must not kill it.
        for _ in range(5):
            process = self.start("""
                import os, time
                try:
                    print("ready", flush=True)
                    while True: time.sleep(0.05)
                except KeyboardInterrupt:
                    os._exit(6)
            """, terminal=True)
            self.assertEqual(lib.read_line(process, GENEROUS), "ready\n")
            self.press(b"\x03")
            wait_for_exit(process)
            self.assertEqual(process.returncode, 6)

    def test_ctrl_c_uncaught(self):
        process = self.start("import time\nprint('ready', flush=True)\nwhile True: time.sleep(0.05)",
                             terminal=True)
        self.assertEqual(lib.read_line(process, GENEROUS), "ready\n")
        self.press(b"\x03")
        _, err = wait_for_exit(process)
        # As plain Python: it dies of the SIGINT from 3.8 on, and exits with 1 on 3.7.
        self.assertEqual(process.returncode, -signal.SIGINT if lib.python_version() >= (3, 8) else 1)
        self.assertIn("KeyboardInterrupt", err)
        self.assertNotIn("_memray_run", err)


class JobControlTests(SignalTestCase):
    """The shell waits for memray, not for the program: memray stops when the program does."""

    PROGRAM = """
        import os, signal, sys, time
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(7))
        print("program", os.getpid(), flush=True)
        while True:
            time.sleep(0.05)
    """

    def wait_for_change(self, pid, what):
        """Waits (as a shell does, WUNTRACED) for memray's next change of state: its status."""
        deadline = time.monotonic() + GENEROUS
        while time.monotonic() < deadline:
            changed, status = os.waitpid(pid, os.WNOHANG | os.WUNTRACED)
            if changed == pid:
                return status
            time.sleep(0.02)
        self.fail("memray did not %s within %d s:\n%s" % (what, GENEROUS, hang_report.describe_tree(pid)))

    def wait_for_stop(self, pid):
        """Waits until memray stops; returns the stop signal."""
        status = self.wait_for_change(pid, "stop")
        self.assertTrue(os.WIFSTOPPED(status), "memray ended instead of stopping")
        return os.WSTOPSIG(status)

    def finish(self, process):
        """Ends the program with a SIGTERM to memray; returns memray's exit status."""
        os.kill(process.pid, signal.SIGTERM)
        status = self.wait_for_change(process.pid, "end")
        process.returncode = 0  # reaped here, not by Popen
        self.assertTrue(os.WIFEXITED(status), status)
        return os.WEXITSTATUS(status)

    def test_ctrl_z_stops_memray_with_the_program_and_fg_continues_both(self):
        # A terminal's job-control signals stop nobody in an orphaned process group, so memray
        # cannot be a session leader here: MINI_SHELL leads the session and runs it as a
        # foreground job, as a shell does.
        lib.write_file(self.tmp / "prog.py", self.PROGRAM)
        master, slave = os.openpty()
        self.addCleanup(os.close, master)
        go_read, go_write = os.pipe()
        self.addCleanup(os.close, go_write)
        shell = subprocess.Popen(
            [sys.executable, "-c", MINI_SHELL, str(go_read), lib.memray_binary(), "run",
             "--python", PYTHON, "-q", "-f", "-o", "out.bin", "prog.py"],
            cwd=str(self.tmp), env=lib.memray_env(STAND_IN), stdin=slave,
            stdout=subprocess.PIPE, universal_newlines=True, start_new_session=True,
            pass_fds=(go_read,))
        os.close(slave)
        os.close(go_read)
        self.addCleanup(self.reap, shell)
        # The shell's line and the program's come in either order.
        lines = [lib.read_line(shell, GENEROUS), lib.read_line(shell, GENEROUS)]
        pids = dict(line.split() for line in lines if len(line.split()) == 2)
        self.assertEqual(sorted(pids), ["job", "program"], lines)
        memray, child = int(pids["job"]), int(pids["program"])
        os.write(master, b"\x1a")  # Ctrl-Z
        self.assertEqual(lib.read_line(shell, GENEROUS), "stopped %d\n" % signal.SIGTSTP)
        self.assertEqual(process_state(child), "T")
        os.write(go_write, b"g")  # fg
        wait_until(lambda: process_state(child) != "T", "the program runs again")
        os.kill(memray, signal.SIGTERM)
        self.assertEqual(lib.read_line(shell, GENEROUS), "exited 7\n")

    def test_program_stopped_alone_stops_memray_and_kill_cont_to_memray_continues_it(self):
        process = self.start(self.PROGRAM)
        child = int(lib.read_line(process, GENEROUS).split()[1])
        os.kill(child, signal.SIGSTOP)
        self.assertEqual(self.wait_for_stop(process.pid), signal.SIGSTOP)
        os.kill(process.pid, signal.SIGCONT)  # memray alone
        wait_until(lambda: process_state(child) != "T", "the program runs again")
        self.assertEqual(self.finish(process), 7)


if __name__ == "__main__":
    unittest.main(verbosity=2)
