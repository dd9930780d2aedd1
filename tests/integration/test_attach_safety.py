"""The safety properties of `memray attach` under interference: signals that arrive while a
thread is held are delivered, once; SIGINT/SIGTERM to `memray attach` at any moment leaves the
target as it was; the control channel answers only the target's user or root and opens no
network port. (The stress test is test_attach_stress.py.) (tests/cmake/attach.cmake)"""

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import memray_testlib as lib  # noqa: E402
from attach_testlib import (ATTACH_PROBE, COMMAND_TIMEOUT, StderrLines, Target, assert_untouched, attach,  # noqa: E402
                            detach, held, payload_loaded, thread_stacks, tracer_pid, wait_until,
                            with_loader_lock_holder)

def capture_complete(path):
    """Whether PATH holds a finished capture (the session finishes it on its own time)."""
    if not os.path.exists(path):
        return False
    end = lib.parse_capture(path).end
    return end is not None and end["state"] == "complete"


class SignalTests(lib.TempDirTestCase):
    def test_signals_that_arrive_while_a_thread_is_held_are_delivered_once(self):
        # The main thread naps in a loop (so it is the thread borrowed); the test sends SIGUSR1
        # over and over, each time waiting for the handler's acknowledgement, while attaching
        # and detaching. A lost signal would time out; a doubled one would show as a gap.
        target = Target(self.tmp, """
            import signal, sys, time
            count = 0
            def handler(number, frame):
                global count
                count += 1
                print("usr1", count, flush=True)
            signal.signal(signal.SIGUSR1, handler)
            print("ready", flush=True)
            while True:
                time.sleep(0.001)
        """)
        target.wait_for("ready")
        done = threading.Event()
        problems = []
        sent = [0]

        def send_signals():
            while not done.is_set():
                sent[0] += 1
                os.kill(target.pid, signal.SIGUSR1)
                try:
                    line = target.wait_for("usr1", timeout=60)
                except AssertionError as error:
                    problems.append("signal %d lost: %s" % (sent[0], error))
                    return
                if line != "usr1 %d" % sent[0]:
                    problems.append("signal %d answered by %r" % (sent[0], line))
                    return

        sender = threading.Thread(target=send_signals)
        sender.start()
        try:
            # At least 10 cycles, and on until more than 10 signals went through them.
            cycle = 0
            while cycle < 10 or (sent[0] <= 10 and not problems):
                result = attach(target.pid, self.tmp / "signals.bin", "-f")
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertEqual(held(result)[0], target.pid)
                self.assertEqual(detach(target.pid).returncode, 0)
                cycle += 1
        finally:
            done.set()
            sender.join()
        self.assertEqual(problems, [])
        self.assertGreater(sent[0], 10)
        target.kill()


class InterruptionTests(lib.TempDirTestCase):
    def test_sigint_or_sigterm_to_memray_attach_at_any_moment_leaves_the_target_as_it_was(self):
        target = Target(self.tmp, """
            import sys
            print("ready", flush=True)
            for line in sys.stdin:
                print("pong", line.split()[1], flush=True)
        """)
        target.wait_for("ready")
        outcomes = {}
        for trial in range(24):
            delay = trial * 0.004
            which = signal.SIGINT if trial % 2 == 0 else signal.SIGTERM
            process = subprocess.Popen(
                [lib.memray_binary(), "attach", "-f", "-o", str(self.tmp / "interrupted.bin"), str(target.pid)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env=lib.memray_env())
            time.sleep(delay)
            process.send_signal(which)
            _, stderr = lib.communicate_explained(process, timeout=COMMAND_TIMEOUT, involved=[target.pid])
            # Killed before it touched anything, interrupted and undone (130), or already done.
            self.assertIn(process.returncode, (0, 130, -which), stderr)
            if process.returncode == 130:
                self.assertIn("interrupted", stderr)
            outcomes[process.returncode] = outcomes.get(process.returncode, 0) + 1
            assert_untouched(self, target.pid)
            # If a capture did start, detach ends it; either way the target answers as before.
            result = detach(target.pid)
            self.assertIn(result.returncode, (0, 1), result.stderr)
            # A session whose start was cancelled while it waited ends once the start is over:
            # the next trial begins when no session is left (its socket is gone).
            socket_path = "/proc/%d/root/tmp/memray-%d/attach-%d.sock" % (target.pid, os.geteuid(), target.pid)
            self.assertTrue(wait_until(lambda: not os.path.exists(socket_path), timeout=60), thread_stacks(target.pid))
            target.send("ping %d\n" % trial)
            self.assertEqual(target.wait_for("pong"), "pong %d" % trial)
        self.assertEqual(target.finish(), 0, target.stderr())
        self.assertEqual(target.stderr(), "")
        print("\noutcomes by exit status: %r" % outcomes, file=sys.stderr)


    def start_attach_and_wait_until_it_traces(self, target, output):
        """`memray attach -v` on TARGET, returned once it has seized a thread of TARGET."""
        process = subprocess.Popen(
            [lib.memray_binary(), "attach", "-v", "-f", "-o", str(output), str(target.pid)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env=lib.memray_env())
        self.assertTrue(wait_until(lambda: tracer_pid(target.pid) == process.pid or process.poll() is not None,
                                   timeout=30, interval=0.0005), "memray attach never traced the target")
        self.assertIsNone(process.poll(), "memray attach ended before it was interrupted")
        return process

    def test_sigint_or_sigterm_while_looking_for_a_safe_point(self):
        # Every thread is always unsafe (inside a dl_iterate_phdr callback, which holds a loader
        # lock), so the attach stops, checks and releases threads until the signal: it must stop
        # at once, releasing the thread it may hold, and load nothing.
        for which in (signal.SIGINT, signal.SIGTERM):
            # Held until the test says so: no safe point can appear however slow the machine.
            release = self.tmp / ("release-%d" % which)
            target = Target(self.tmp, with_loader_lock_holder("""
                import sys
                hold_loader_lock_until(sys.argv[1], "ready")
                print("done", flush=True)
            """), args=[release])
            target.wait_for("ready")
            process = self.start_attach_and_wait_until_it_traces(target, self.tmp / "never.bin")
            time.sleep(0.1)  # into the search (the attach traces the target from here on anyway)
            process.send_signal(which)
            _, stderr = lib.communicate_explained(process, timeout=COMMAND_TIMEOUT, involved=[target.pid])
            self.assertEqual(process.returncode, 130, stderr)
            self.assertIn("interrupted; process %d was left as it was" % target.pid, stderr)
            assert_untouched(self, target.pid)
            self.assertFalse(payload_loaded(target.pid))
            release.touch()
            target.wait_for("done")
            self.assertEqual(target.finish(), 0, target.stderr())
            self.assertEqual(target.stderr(), "")

    def test_sigint_or_sigterm_during_the_remote_call(self):
        # The borrowed thread's dlopen is held up for a second: another thread sits in a
        # dl_iterate_phdr callback, holding the loader's write lock that dlopen needs to add the
        # payload (the main thread, asleep in a read, is still a safe point: a lock another
        # thread holds is only waited for). The signal lands while the thread runs our call
        # with our registers; memray must see the call through, put everything back, cancel the
        # session the entry point started, and exit 130. Each trial needs a fresh target (a
        # payload already loaded is not loaded again).
        for which in (signal.SIGINT, signal.SIGTERM):
            # The holder keeps the lock until the test creates the release file; the main thread
            # answers pings (it sits in a read, a safe point: the attach borrows it).
            release = self.tmp / ("release-call-%d" % which)
            target = Target(self.tmp, with_loader_lock_holder("""
                import sys, threading
                def holder():
                    hold_loader_lock_until(sys.argv[1], "holding")
                    print("released", flush=True)
                threading.Thread(target=holder, name="holder").start()
                for line in sys.stdin:
                    print("pong", line.strip(), flush=True)
            """), args=[release])
            target.wait_for("holding")
            output = self.tmp / "interrupted-call.bin"
            process = self.start_attach_and_wait_until_it_traces(target, output)
            stderr_lines = StderrLines(process)
            # attach -v says when the borrowed thread calls dlopen, which then waits for the lock.
            stderr_lines.wait_for("calls dlopen", involved=[target.pid])
            time.sleep(0.6)  # the call lasts at least this long: checked below
            process.send_signal(which)
            time.sleep(0.1)
            release.touch()  # the holder lets go; dlopen goes on, and memray undoes it all
            stderr = stderr_lines.rest()
            self.assertEqual(process.returncode, 130, stderr)
            self.assertIn("interrupted; the capture in process %d was cancelled" % target.pid, stderr)
            self.assertGreater(held(subprocess.CompletedProcess(process.args, 130, "", stderr))[1], 500,
                               "the signal was meant to land during a long dlopen: %s" % stderr)
            assert_untouched(self, target.pid)
            self.assertTrue(wait_until(lambda: detach(target.pid).returncode == 1, timeout=60))
            target.wait_for("released")
            target.send("ping\n")
            self.assertEqual(target.wait_for("pong"), "pong ping")
            self.assertEqual(target.finish(), 0, target.stderr())
            self.assertEqual(target.stderr(), "")

    # The main thread holds the GIL in a C call (ctypes.PyDLL keeps the GIL) blocked on a read of
    # a pipe, until the test writes to it: the session cannot start the capture meanwhile, for
    # as long as the test needs, whatever the machine's load.
    GIL_HOLDER = """
        import ctypes, sys
        libc = ctypes.PyDLL(None)
        gate = int(sys.argv[1])
        print("ready", flush=True)
        for line in sys.stdin:
            libc.read(gate, ctypes.create_string_buffer(1), 1)  # with the GIL held
            keep = bytearray(2_000_009)
            print("done", flush=True)
    """

    def attach_while_the_gil_is_held(self, output):
        """A GIL_HOLDER target whose main thread waits in the read holding the GIL, and a
        `memray attach -o OUTPUT` to it whose session answers "starting" (it waits for the GIL
        meanwhile): (target, attach process, the pipe end that lets the target go)."""
        gate_read, gate_write = os.pipe()
        self.addCleanup(os.close, gate_write)
        target = Target(self.tmp, self.GIL_HOLDER, args=[gate_read], pass_fds=[gate_read])
        os.close(gate_read)
        target.wait_for("ready")
        target.send("go\n")

        def reading_the_gate():
            with open("/proc/%d/task/%d/syscall" % (target.pid, target.pid)) as syscall:
                fields = syscall.read().split()
            return len(fields) > 1 and fields[0] == "0" and int(fields[1], 16) == gate_read  # read(gate, ...)
        self.assertTrue(wait_until(reading_the_gate, timeout=60), thread_stacks(target.pid))
        attaching = subprocess.Popen([lib.memray_binary(), "attach", "-o", str(output), str(target.pid)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                                     env=lib.memray_env())
        self.wait_until_the_session_is_starting(target, attaching)
        return target, attaching, gate_write

    def wait_until_the_session_is_starting(self, target, attaching):
        """Until the target's session answers "starting" (memray attach then waits for it)."""
        path = "/proc/%d/root/tmp/memray-%d/attach-%d.sock" % (target.pid, os.geteuid(), target.pid)

        def starting():
            try:
                with socket.socket(socket.AF_UNIX) as client:
                    client.settimeout(30)
                    client.connect(path)
                    client.sendall(b"status\n")
                    return client.makefile().readline().startswith("starting")
            except OSError:
                return False
        self.assertTrue(wait_until(lambda: starting() or attaching.poll() is not None, timeout=120, interval=0.02),
                        thread_stacks(target.pid))
        self.assertIsNone(attaching.poll(), "memray attach ended before the capture could start")

    def test_sigint_while_waiting_for_the_capture_to_start_cancels_it(self):
        # `memray attach` waits for the capture to start; a SIGINT then must cancel it (it starts
        # when the GIL comes free and stops right away).
        output = self.tmp / "cancelled.bin"
        target, process, gate = self.attach_while_the_gil_is_held(output)
        process.send_signal(signal.SIGINT)
        _, stderr = lib.communicate_explained(process, timeout=COMMAND_TIMEOUT, involved=[target.pid])
        self.assertEqual(process.returncode, 130, stderr)
        self.assertIn("interrupted; the capture in process %d was cancelled" % target.pid, stderr)
        os.write(gate, b"x")
        target.wait_for("done")
        assert_untouched(self, target.pid)
        # No session is left to detach from.
        self.assertTrue(wait_until(lambda: detach(target.pid).returncode == 1, timeout=60))
        # (The capture did start and stop: its file is complete.)
        self.assertTrue(wait_until(lambda: capture_complete(output), timeout=60), thread_stacks(target.pid))
        self.assertEqual(target.finish(), 0, target.stderr())

    def test_a_target_that_finalizes_while_the_start_takes_the_gil_exits_cleanly(self):
        # The start checks that Python is initialized, then takes the GIL; if the interpreter
        # begins to finalize in between, Python ends the start thread with pthread_exit, a forced
        # unwind through the payload's frames. The payload must unwind with the unwinder in use
        # (a private copy of libgcc aborted the process here). MEMRAY_TEST_FORK_WINDOW_MS holds
        # the start in between for 3 s; the program ends meanwhile, its finalization kept
        # under way for 6 s by a __del__ that sleeps.
        target = Target(self.tmp, """
            import sys, time
            class Finalized:
                def __del__(self, sleep=time.sleep):
                    sleep(6)
            finalized = Finalized()
            print("ready", flush=True)
            sys.stdin.readline()
        """)
        target.wait_for("ready")
        output = self.tmp / "never.bin"
        attaching = subprocess.Popen([lib.memray_binary(), "attach", "-o", str(output), str(target.pid)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                                     env=lib.memray_env(extra={"MEMRAY_TEST_FORK_WINDOW_MS": "3000"}))
        self.wait_until_the_session_is_starting(target, attaching)
        target.send("exit\n")
        self.assertEqual(target.finish(), 0, target.stderr())
        self.assertEqual(target.stderr(), "")
        _, stderr = lib.communicate_explained(attaching, timeout=COMMAND_TIMEOUT)
        # Normally the start is still held when finalization begins, and the attach says the
        # process exited; a machine too slow to end the program within the 3 s may let the
        # capture start first, which is no failure either. The target's clean exit is the point.
        if attaching.returncode != 0:
            self.assertEqual(attaching.returncode, 1, stderr)
            self.assertIn("process %d exited before the capture started" % target.pid, stderr)

    def test_detach_while_the_capture_waits_for_the_gil_answers_at_once(self):
        # `memray detach` must never wait for a start that waits for the GIL: it is told at once
        # that the capture is cancelled, and the session stops it the moment it starts.
        output = self.tmp / "detached-early.bin"
        target, attaching, gate = self.attach_while_the_gil_is_held(output)
        result = detach(target.pid)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("[memray] Cancelled tracking process %d: the capture had not started yet" % target.pid,
                      result.stderr)
        # The waiting attach learns that the session is gone and says so.
        _, stderr = lib.communicate_explained(attaching, timeout=COMMAND_TIMEOUT, involved=[target.pid])
        self.assertEqual(attaching.returncode, 1, stderr)
        os.write(gate, b"x")
        target.wait_for("done")
        assert_untouched(self, target.pid)
        self.assertTrue(wait_until(lambda: capture_complete(output), timeout=60), thread_stacks(target.pid))
        self.assertEqual(target.finish(), 0, target.stderr())
        self.assertEqual(target.stderr(), "")


class ForkTests(lib.TempDirTestCase):
    def test_a_program_whose_threads_fork_survives_attach_and_detach(self):
        # Pre-forking servers, multiprocessing with fork: a thread forks all the time while the
        # capture starts and stops. The start runs Python code holding the payload's control
        # lock, and that code may let the forking thread take the GIL; a fork handler that waited
        # for the same lock then froze every Python thread of the target for good.
        # MEMRAY_TEST_FORK_WINDOW_MS makes the start let go of the GIL for a while at exactly that
        # point (payload/src/fork_window.h), so the fork lands there in every cycle.
        target = Target(self.tmp, """
            import os, sys, threading
            forks = 0
            def forker():
                global forks
                while True:
                    pid = os.fork()
                    if pid == 0:
                        os._exit(0)
                    os.waitpid(pid, 0)
                    forks += 1
            threading.Thread(target=forker, daemon=True, name="forker").start()
            print("ready", flush=True)
            for line in sys.stdin:
                keep = bytearray(1_000_037)
                print("pong", forks, flush=True)
        """)
        target.wait_for("ready")
        env = lib.memray_env(extra={"MEMRAY_TEST_FORK_WINDOW_MS": "200"})
        for cycle in range(3):
            output = self.tmp / ("forking-%d.bin" % cycle)
            result = attach(target.pid, output, env=env)
            self.assertEqual(result.returncode, 0, result.stderr + thread_stacks(target.pid))
            target.send("ping\n")
            forks = int(target.wait_for("pong").split()[1])
            result = detach(target.pid)
            self.assertEqual(result.returncode, 0, result.stderr + thread_stacks(target.pid))
            self.assertEqual(lib.parse_capture(output).end["state"], "complete")
            # The forking thread goes on too.
            self.assertTrue(wait_until(lambda: self.forks_past(target, forks), timeout=60), thread_stacks(target.pid))
        assert_untouched(self, target.pid)
        target.kill()

    @staticmethod
    def forks_past(target, count):
        target.send("ping\n")
        return int(target.wait_for("pong").split()[1]) > count


class ChannelTests(lib.TempDirTestCase):
    def test_the_channel_is_a_private_unix_socket_and_no_network_port(self):
        target = Target(self.tmp, """
            import sys
            print("ready", flush=True)
            sys.stdin.readline()
        """)
        target.wait_for("ready")

        def listening_sockets():
            inodes = set()
            for table in ("/proc/net/tcp", "/proc/net/tcp6", "/proc/net/udp", "/proc/net/udp6"):
                with open(table) as lines:
                    for line in list(lines)[1:]:
                        fields = line.split()
                        if fields[3] == "0A" or table.endswith(("udp", "udp6")):
                            inodes.add(fields[9])
            return inodes

        def process_sockets(pid):
            found = set()
            for fd in os.listdir("/proc/%d/fd" % pid):
                try:
                    link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
                except OSError:
                    continue
                if link.startswith("socket:["):
                    found.add(link[8:-1])
            return found

        result = attach(target.pid, self.tmp / "channel.bin")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(process_sockets(target.pid) & listening_sockets(), set())
        uid = os.geteuid()
        directory = Path("/tmp/memray-%d" % uid)
        path = directory / ("attach-%d.sock" % target.pid)
        self.assertTrue(stat.S_ISSOCK(path.stat().st_mode))
        self.assertEqual(stat.S_IMODE(path.stat().st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(directory.stat().st_mode), 0o700)
        self.assertEqual(directory.stat().st_uid, uid)

        # The protocol, by hand.
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(str(path))
            client.sendall(b"status\n")
            self.assertEqual(client.makefile().readline(), "active %s\n" % (self.tmp / "channel.bin"))

        self.assertEqual(detach(target.pid).returncode, 0)
        self.assertFalse(path.exists())  # the session cleans up after itself
        self.assertEqual(target.finish(), 0)

    @unittest.skipUnless(os.geteuid() == 0, "needs root to act as another user")
    def test_the_channel_answers_nobody_but_the_target_user_or_root(self):
        # A session of our own (started through the payload's entry point) in a private
        # directory, whose modes are then opened up: the SO_PEERCRED check alone must turn
        # another user away.
        import pwd
        nobody = pwd.getpwnam("nobody")
        directory = self.tmp / "channel"
        directory.mkdir(mode=0o700)
        path = directory / "attach.sock"
        target = Target(self.tmp, """
            import ctypes, sys
            payload = ctypes.CDLL(sys.argv[1])
            config = b"output=%s\\ncontrol_socket=%s\\n" % (sys.argv[2].encode(), sys.argv[3].encode())
            print("started", payload.memray_attach_begin(config), flush=True)
            sys.stdin.readline()
        """, args=[lib.real_payload(), self.tmp / "own.bin", path], name="own_session.py")
        self.assertEqual(target.wait_for("started"), "started 0")
        self.assertTrue(wait_until(path.exists))
        # The socket file is created no looser than 0600.
        self.assertEqual(path.stat().st_mode & 0o777, 0o600)
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        client = ("import socket, sys\n"
                  "s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(10)\n"
                  "try:\n    s.sendall(b'status\\n'); data = s.recv(100)\n"
                  "    print('answered %r' % data if data else 'refused')\n"
                  "except (BrokenPipeError, ConnectionResetError):\n    print('refused')\n")
        # Root is let in. Its answer also says the session is listening, so the modes opened up
        # below are not set back by the session's own setup (the socket appears before that ends).
        # The session rightly answers "starting" until its capture has taken the GIL and begun:
        # ask until it has (as `memray attach` does), for as long as a loaded machine may need.
        deadline = time.monotonic() + 120
        while True:
            probe = subprocess.run([python, "-c", client, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   universal_newlines=True, timeout=60)
            if not probe.stdout.startswith("answered b'starting") or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertTrue(probe.stdout.startswith("answered b'active "),
                        probe.stdout + probe.stderr + "\n" + thread_stacks(target.pid))
        os.chmod(self.tmp, 0o755)
        os.chmod(directory, 0o755)
        os.chmod(path, 0o666)
        probe = subprocess.run([python, "-c", client, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               universal_newlines=True, timeout=30,
                               preexec_fn=lambda: (os.setgid(nobody.pw_gid), os.setuid(nobody.pw_uid)))
        self.assertEqual(probe.stdout.strip(), "refused", probe.stderr)
        with socket.socket(socket.AF_UNIX) as client_socket:
            client_socket.connect(str(path))
            client_socket.sendall(b"stop\n")
            self.assertTrue(client_socket.makefile().readline().startswith("stopped "))
        self.assertEqual(target.finish(), 0, target.stderr())

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("unshare"), "needs root and unshare(1)")
    def test_a_target_with_a_private_tmp(self):
        # The target in its own mount namespace with its own /tmp (systemd's PrivateTmp): the
        # control socket lives in *its* /tmp and is reached through /proc/PID/root; a payload
        # under our /tmp does not exist for it; and a squatted socket directory is refused.
        code = ("import sys\n"
                "print('ready', flush=True)\n"
                "for line in sys.stdin:\n"
                "    keep = bytearray(int(line)); print('allocated', flush=True)\n")
        process = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c",
             'mount -t tmpfs private-tmp /tmp && exec "$0" -c "$1"', lib.test_python(), code],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
            env=lib.memray_env())
        try:
            line = process.stdout.readline()
            if line.strip() != "ready":
                self.skipTest("cannot mount a private /tmp here: %s" % process.stderr.read())
            pid = process.pid
            # A target killed earlier under the same PID (any test that SIGKILLs one) leaves its
            # socket behind in our /tmp; nothing can be listening on it, since this PID is ours.
            host_socket = Path("/tmp/memray-%d/attach-%d.sock" % (os.geteuid(), pid))
            if host_socket.exists():
                host_socket.unlink()
            payload = lib.real_payload().resolve()
            outputs = Path(tempfile.mkdtemp(prefix="memray-attach-", dir="/var/tmp"))
            self.addCleanup(shutil.rmtree, outputs, ignore_errors=True)
            if str(payload).startswith("/tmp/"):
                # Our /tmp is not the target's: this payload does not exist for it...
                result = attach(pid, outputs / "x.bin", verbose=False)
                self.assertEqual(result.returncode, 1, result.stderr)
                self.assertIn("does not exist in the filesystem of process %d" % pid, result.stderr)
                # ...a copy outside /tmp does.
                shutil.copy(payload, outputs / payload.name)
                payload = outputs / payload.name
            result = attach(pid, outputs / "private.bin", env=lib.memray_env(payload=payload))
            self.assertEqual(result.returncode, 0, result.stderr)
            private_socket = Path("/proc/%d/root/tmp/memray-%d/attach-%d.sock" % (pid, os.geteuid(), pid))
            self.assertTrue(private_socket.exists())
            self.assertFalse(host_socket.exists())
            process.stdin.write("2000007\n")
            process.stdin.flush()
            self.assertEqual(process.stdout.readline().strip(), "allocated")
            self.assertEqual(detach(pid).returncode, 0)
            capture = lib.parse_capture(outputs / "private.bin")
            self.assertEqual(len([a for a in capture.allocations if a["size"] == 2_000_008]), 1)
            # Somebody else's directory where the socket goes: refused before anything happens.
            squatted = Path("/proc/%d/root/tmp/memray-%d" % (pid, os.geteuid()))
            shutil.rmtree(squatted, ignore_errors=True)
            squatted.mkdir(mode=0o777)
            os.chmod(squatted, 0o777)
            result = attach(pid, outputs / "y.bin", verbose=False)
            self.assertEqual(result.returncode, 1, result.stderr)
            self.assertIn("refusing to use /tmp/memray-%d for memray's control socket" % os.geteuid(), result.stderr)
            self.assertEqual(tracer_pid(pid), 0)
        finally:
            process.stdin.close()
            self.assertEqual(process.wait(timeout=60), 0)
            process.stdout.close()
            process.stderr.close()


if __name__ == "__main__":
    unittest.main()
