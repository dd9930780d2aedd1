"""The live view end to end, through a real terminal (tmux): every way in (`run --live`,
`run --live-remote` + `memray live PORT`, `attach PID` without -o, `memray live FILE` on a
capture being written and on a finished one), the keys, and what quitting leaves behind.
(tests/cmake/live.cmake runs it on a shared-libpython interpreter and the static one.)

The program under view, PROGRAM, holds allocations whose order differs by sort key:
  allocate_lots      20 MB in one allocation       (largest own and total)
  allocate_many      3000 allocations of 1000 B    (most allocations)
  worker_allocates   7 MB, in a thread named test-worker
  steady_growth      10 kB every 50 ms, half freed every 100 (the numbers keep moving)
  allocate_late      20 MB once a file "go" appears (for attach, which sees only what comes after)
It writes its pid and "ready" to its control directory and runs until a file "stop" appears.
"""

import os
import re
import signal
import subprocess
import sys
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hang_report  # noqa: E402
import memray_testlib as lib  # noqa: E402
from attach_testlib import Target, a_python_for, unprivileged_user, wait_until  # noqa: E402
from live_testlib import (WAIT_TIMEOUT, Tmux, process_alive, process_state, row, row_index, rows,  # noqa: E402
                          shell_quote)

PROGRAM = """\
import os, sys, threading, time
from pathlib import Path

control = Path(sys.argv[1])

def allocate_lots():
    return bytearray(20_000_000)

def allocate_many():
    return [bytearray(1000) for _ in range(3000)]

def worker_allocates(started):
    kept = bytearray(7_000_000)
    started.set()
    while not (control / "stop").exists():
        time.sleep(0.02)
    return kept

def allocate_late():
    return bytearray(20_000_000)

def steady_growth(store):
    store.append(bytearray(10_000))
    if len(store) >= 100:
        del store[:50]

kept = [allocate_lots(), allocate_many()]
started = threading.Event()
worker = threading.Thread(target=worker_allocates, args=(started,), name="test-worker")
worker.start()
started.wait()
(control / "pid.tmp").write_text(str(os.getpid()))
(control / "pid.tmp").rename(control / "pid")  # whole, or not there
print("ready", flush=True)
store = []
late = None
while not (control / "stop").exists():
    steady_growth(store)
    if late is None and (control / "go").exists():
        late = allocate_late()
    time.sleep(0.05)
worker.join()
print("done", flush=True)
"""

SIZE_20MB = "20.000MB"


def memray(*args):
    return [lib.memray_binary()] + [str(a) for a in args]


class LiveViewTestCase(lib.TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.control = self.tmp / "control"
        self.control.mkdir()
        self.script = lib.write_file(self.tmp / "program.py", PROGRAM)

    def terminal(self, command, **options):
        tmux = Tmux(self.tmp, command, **options)
        self.addCleanup(tmux.close)
        return tmux

    def stop_program(self):
        (self.control / "stop").write_text("")

    def program_pid(self, involved=()):
        """The program's pid, once it is ready; if it never gets there, the stacks of INVOLVED."""
        pid_file = self.control / "pid"
        if not wait_until(pid_file.exists, timeout=WAIT_TIMEOUT):
            self.fail("the program did not get ready within %s s\n%s"
                      % (WAIT_TIMEOUT, "\n".join(hang_report.describe_tree(pid) for pid in involved)))
        return int(pid_file.read_text())

    def assert_known_rows(self, tmux, involved=(), function="allocate_lots"):
        """Waits until the table shows FUNCTION with its 20 MB."""
        return tmux.wait_for(lambda lines: (row(lines, function) or {}).get("total") == SIZE_20MB,
                             "%s with %s" % (function, SIZE_20MB), involved=involved)


class RunLiveTests(LiveViewTestCase):
    def test_run_live_keys_and_quitting_ends_the_program(self):
        tmux = self.terminal(memray("run", "--python", lib.test_python(), "--live", self.script, self.control))
        lines = self.assert_known_rows(tmux)
        pid = self.program_pid()
        self.assertTrue(process_alive(pid))
        self.assertRegex("\n".join(lines), r"PID: ?%d" % pid)

        # Only the program's own functions from here on (a filter on the file column), so that
        # every row compared fits on the screen whatever the interpreter imported.
        tmux.keys("/")
        tmux.type("program.py")
        tmux.keys("Enter")
        tmux.wait_for(lambda l: row(l, "allocate_lots") is not None and row(l, "_find_and_load") is None,
                      "the filter on program.py")

        # Sort keys: t (default) puts the biggest total first, a the most allocations, o own bytes.
        def order(first, second):
            return lambda l: (row_index(l, first) is not None and row_index(l, second) is not None
                              and row_index(l, first) < row_index(l, second))
        tmux.wait_for(order("allocate_lots", "allocate_many"), "total order")
        tmux.keys("a")
        tmux.wait_for(order("allocate_many", "allocate_lots"), "allocations order")
        tmux.keys("o")
        tmux.wait_for(order("allocate_lots", "<module>"), "own order")
        tmux.keys("t")
        tmux.wait_for(order("<module>", "allocate_lots"), "total order again")

        # Threads: merged by default; split shows one thread at a time; the worker's thread has
        # its name and its function, and not the main thread's.
        self.assertIsNotNone(row(tmux.screen(), "worker_allocates"))
        tmux.keys("m")
        for _ in range(8):
            lines = tmux.wait_for_text(r"Thread \d+ of \d+")
            if "test-worker" in "\n".join(lines):
                break
            tmux.keys(">")
            time.sleep(0.2)
        lines = tmux.wait_for(lambda l: "test-worker" in "\n".join(l) and row(l, "worker_allocates") is not None,
                              "the worker thread's view")
        self.assertIsNone(row(lines, "allocate_lots"), "\n".join(lines))
        tmux.keys("m")
        tmux.wait_for_text(r"All threads")

        # Pause: the table stops changing while the header goes on counting snapshots.
        tmux.keys("Space")
        lines = tmux.wait_for_text(r"(?i)paused")
        frozen = row(lines, "steady_growth")
        snapshots = snapshot_count(lines)
        tmux.wait_for(lambda l: snapshot_count(l) >= snapshots + 3, "three more snapshots while paused")
        self.assertEqual(row(tmux.screen(), "steady_growth"), frozen)
        tmux.keys("Space")
        tmux.wait_for(lambda l: row(l, "steady_growth") != frozen and "paused" not in "\n".join(l).lower(),
                      "the table moving again")

        # Filter by a substring of the function or file (Esc in the prompt clears the filter).
        tmux.keys("/")
        tmux.keys("Escape")
        tmux.wait_for(lambda l: row(l, "_find_and_load") is not None, "the program.py filter cleared")
        tmux.keys("/")
        tmux.type("allocate_m")
        tmux.keys("Enter")
        lines = tmux.wait_for(lambda l: row(l, "allocate_many") is not None and row(l, "allocate_lots") is None,
                              "only allocate_many")
        tmux.keys("/")
        tmux.keys("Escape")
        tmux.wait_for(lambda l: row(l, "allocate_lots") is not None, "the filter cleared")

        # Quitting ends the program (SIGTERM) and memray exits 0, naming the program's output.
        tmux.keys("q")
        self.assertEqual(tmux.wait_for_exit(), 0, tmux.text())
        self.assertFalse(process_alive(pid))
        match = re.search(r"output is in (\S+)", tmux.full_text())
        self.assertIsNotNone(match, tmux.full_text())
        self.assertIn("ready", Path(match.group(1)).read_text())

    def test_program_that_ends_first_leaves_the_last_screen_up(self):
        tmux = self.terminal(memray("run", "--python", lib.test_python(), "--live", self.script, self.control))
        self.assert_known_rows(tmux)
        self.stop_program()
        lines = tmux.wait_for_text(r"(?i)ended|exited")
        self.assertIsNotNone(row(lines, "allocate_lots") or row(lines, "<module>"), "\n".join(lines))
        self.assertIsNone(tmux.exit_status())
        tmux.keys("q")
        self.assertEqual(tmux.wait_for_exit(), 0, tmux.text())

    def test_closing_the_terminal_ends_the_program(self):
        tmux = self.terminal(memray("run", "--python", lib.test_python(), "--live", self.script, self.control))
        self.assert_known_rows(tmux)
        pid = self.program_pid()
        tmux.close()  # the terminal goes away: SIGHUP
        self.assertTrue(wait_until(lambda: not process_alive(pid), timeout=WAIT_TIMEOUT),
                        hang_report.describe_tree(pid))

    def test_ctrl_z_suspends_the_view_not_the_program_and_fg_brings_it_back(self):
        # A shell with job control, as a user has: Ctrl-Z gives the terminal back to the shell.
        tmux = self.terminal(["bash", "--norc", "--noprofile", "-i"])
        command = memray("run", "--python", lib.test_python(), "--live", self.script, self.control)
        tmux.type(" ".join(shell_quote(a) for a in command))
        tmux.keys("Enter")
        self.assert_known_rows(tmux)
        pid = self.program_pid()
        tmux.keys("C-z")
        tmux.wait_for_text(r"Stopped", involved=[pid])
        # The program is not stopped with the view (it runs in its own process group): it
        # allocates meanwhile, and the view, brought back, catches up with what it missed.
        self.assertNotIn(process_state(pid), ("T", "t"))
        (self.control / "go").write_text("")
        tmux.type("fg")
        tmux.keys("Enter")
        self.assert_known_rows(tmux, involved=[pid], function="allocate_late")
        self.assertNotIn("Stopped", tmux.text())
        tmux.keys("q")
        self.assertTrue(wait_until(lambda: not process_alive(pid), timeout=WAIT_TIMEOUT),
                        hang_report.describe_tree(pid))
        tmux.type("exit")
        tmux.keys("Enter")
        self.assertEqual(tmux.wait_for_exit(), 0, tmux.text())

    def test_native_stacks_ascii_terminal_and_a_private_capture(self):
        tmux = self.terminal(memray("run", "--python", lib.test_python(), "--live", "--native",
                                    "--trace-python-allocators", self.script, self.control), utf8=False)
        self.assert_known_rows(tmux)
        # Native frames show as in the other reports.
        tmux.wait_for(lambda l: any(r["location"].startswith("[native]") for r in rows(l)), "a native frame")
        # No UTF-8: the graph and markers are ASCII.
        self.assertTrue(all(ord(c) < 128 for c in tmux.text()), tmux.text())
        # The capture the view follows is in a directory only its owner can enter.
        pid = self.program_pid()
        captures = [os.readlink("/proc/%d/fd/%s" % (pid, fd)) for fd in os.listdir("/proc/%d/fd" % pid)]
        captures = [path for path in captures if path.endswith("capture.bin")]
        self.assertEqual(len(captures), 1, captures)
        self.assertEqual(os.stat(os.path.dirname(captures[0])).st_mode & 0o777, 0o700)
        tmux.keys("q")
        self.assertEqual(tmux.wait_for_exit(), 0, tmux.text())
        self.assertFalse(os.path.exists(captures[0]))

    def test_tiny_window_then_resize(self):
        tmux = self.terminal(memray("run", "--python", lib.test_python(), "--live", self.script, self.control),
                             width=20, height=5)
        self.program_pid()
        time.sleep(1)
        self.assertIsNone(tmux.exit_status(), tmux.text())
        tmux.resize(80, 24)
        self.assert_known_rows(tmux)
        tmux.keys("q")
        self.assertEqual(tmux.wait_for_exit(), 0, tmux.text())


class LiveRemoteTests(LiveViewTestCase):
    def serve_program(self, script=None):
        """`memray run --live-remote SCRIPT` (default PROGRAM): (the memray process, its port)."""
        server = subprocess.Popen(memray("run", "--python", lib.test_python(), "--live-remote", script or self.script,
                                         self.control),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                                  env=lib.memray_env())
        self.addCleanup(lambda: server.poll() is None and server.kill())
        announcement = lib.read_line(server, stream=server.stderr)
        match = re.search(r"live (\d+)' in another shell", announcement)
        self.assertIsNotNone(match, announcement)
        return server, int(match.group(1))

    def test_viewers_come_and_go_and_the_program_runs_on(self):
        server, port = self.serve_program()
        pid = self.program_pid(involved=[server.pid])

        first = self.terminal(memray("live", port))
        self.assert_known_rows(first, involved=[server.pid])
        first.keys("q")
        self.assertEqual(first.wait_for_exit(), 0, first.text())
        self.assertTrue(process_alive(pid))

        second = self.terminal(memray("live", port))
        self.assert_known_rows(second, involved=[server.pid])
        self.stop_program()
        second.wait_for_text(r"(?i)ended", involved=[server.pid])
        out, err = lib.communicate_explained(server, timeout=lib.DEFAULT_TIMEOUT)
        self.assertEqual(server.returncode, 0, err)
        self.assertIn("done", out)
        second.keys("q")
        self.assertEqual(second.wait_for_exit(), 0, second.text())

    def test_killed_program_is_shown_as_ended(self):
        server, port = self.serve_program()
        pid = self.program_pid(involved=[server.pid])
        viewer = self.terminal(memray("live", port))
        self.assert_known_rows(viewer, involved=[server.pid])
        os.kill(pid, signal.SIGKILL)
        viewer.wait_for_text(r"(?i)ended|killed|lost", involved=[server.pid])
        lib.communicate_explained(server, timeout=lib.DEFAULT_TIMEOUT)
        self.assertEqual(server.returncode, -signal.SIGKILL)
        viewer.keys("q")
        self.assertEqual(viewer.wait_for_exit(), 0, viewer.text())

    def test_loopback_only_and_a_viewer_that_never_reads_does_not_stall_the_program(self):
        # Megabytes of capture: far more than the sockets between server and viewer can hold.
        busy = lib.write_file(self.tmp / "busy.py", """\
            import sys
            from pathlib import Path
            control = Path(sys.argv[1])
            print("ready", flush=True)
            while not (control / "go").exists():
                pass
            for i in range(1_000_000):
                block = bytearray(1000 + (i * 7919) % 100_000)
            print("done", flush=True)
            """)
        server, port = self.serve_program(busy)
        self.assertEqual(lib.read_line(server).strip(), "ready")
        listening = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
        local = [fields[1] for fields in listening if fields[3] == "0A" and int(fields[1].split(":")[1], 16) == port]
        self.assertEqual(local, ["0100007F:%04X" % port])  # 127.0.0.1 only

        import socket
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", port))
        self.addCleanup(stalled.close)
        (self.control / "go").write_text("")
        # The program finishes while the viewer has read nothing: it never waited for it.
        self.assertEqual(lib.read_line(server).strip(), "done")
        stalled.close()
        lib.communicate_explained(server)
        self.assertEqual(server.returncode, 0)

    def test_nobody_listening_is_said_and_q_quits(self):
        # A port nothing listens on: bind one, close it.
        import socket
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        viewer = self.terminal(memray("live", port))
        viewer.wait_for_text(r"(?i)nobody listens")
        viewer.keys("q")
        self.assertEqual(viewer.wait_for_exit(), 0, viewer.text())


class AttachLiveTests(LiveViewTestCase):
    def test_attach_shows_the_view_and_quitting_leaves_the_target_running_untracked(self):
        target = Target(self.tmp, PROGRAM, args=[self.control], name="attached.py")
        self.addCleanup(target.kill)
        target.wait_for("ready")
        tmux = self.terminal(memray("attach", target.pid))
        # What the target allocates once tracked (what it held before, attach cannot see).
        tmux.wait_for_text(r"steady_growth", involved=[target.pid])
        (self.control / "go").write_text("")
        self.assert_known_rows(tmux, involved=[target.pid], function="allocate_late")
        tmux.keys("q")
        self.assertEqual(tmux.wait_for_exit(), 0, tmux.text())
        self.assertIn("keeps running", tmux.full_text())
        self.assertIsNone(target.process.poll())
        # Untracked, and attaching again works.
        capture = self.tmp / "again.bin"
        result = lib.run_memray(["attach", "-o", capture, target.pid])
        self.assertEqual(result.returncode, 0, result.stderr)
        result = lib.run_memray(["detach", target.pid])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.stop_program()
        self.assertEqual(target.finish(), 0, target.stderr())


    @unittest.skipUnless(os.geteuid() == 0, "needs root to create a user")
    def test_root_attaches_to_another_users_process(self):
        # The target can only write into a directory its own user may enter: memray makes the
        # private directory and gives it to that user, and takes it away on quit.
        user = unprivileged_user()
        python = a_python_for(user)
        if python is None:
            self.skipTest("no interpreter the test user may run")
        os.chmod(self.tmp, 0o755)
        os.chown(self.control, *user)
        target = Target(self.tmp, PROGRAM, args=[self.control], python=python, user=user, name="attached.py")
        self.addCleanup(target.kill)
        target.wait_for("ready")
        tmux = self.terminal(memray("attach", target.pid))
        tmux.wait_for_text(r"steady_growth", involved=[target.pid])
        # The target writes its capture into the private directory: found through its open files
        # (other tests may be making directories of their own in /tmp meanwhile).
        workspace = Path(os.path.dirname(self.open_capture(target.pid)))
        status = workspace.stat()
        self.assertEqual((status.st_uid, oct(status.st_mode & 0o777)), (user[0], oct(0o700)), workspace)
        (self.control / "go").write_text("")
        self.assert_known_rows(tmux, involved=[target.pid], function="allocate_late")
        tmux.keys("q")
        self.assertEqual(tmux.wait_for_exit(), 0, tmux.text())
        self.assertIsNone(target.process.poll())
        self.assertFalse(workspace.exists(), "the private directory outlived the view")
        self.stop_program()
        self.assertEqual(target.finish(), 0, target.stderr())

    @staticmethod
    def open_capture(pid):
        """The live capture file process PID writes (in a memray-live-* directory)."""
        def capture():
            for fd in os.listdir("/proc/%d/fd" % pid):
                try:
                    target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
                except OSError:
                    continue
                if re.match(r"/tmp/memray-live-[^/]+/", target):
                    return target
            return None
        if not wait_until(lambda: capture() is not None, timeout=WAIT_TIMEOUT):
            raise AssertionError("process %d never opened a live capture\n%s" % (pid, hang_report.describe_tree(pid)))
        return capture()


class LiveFileTests(LiveViewTestCase):
    def test_follows_a_capture_being_written_then_replays_it_finished(self):
        capture = self.tmp / "growing.bin"
        writer = subprocess.Popen(memray("run", "--python", lib.test_python(), "-q", "-o", capture, self.script,
                                         self.control),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                                  env=lib.memray_env())
        self.addCleanup(lambda: writer.poll() is None and writer.kill())
        self.program_pid(involved=[writer.pid])
        viewer = self.terminal(memray("live", capture))
        self.assert_known_rows(viewer, involved=[writer.pid])
        self.stop_program()
        lib.communicate_explained(writer)
        self.assertEqual(writer.returncode, 0)
        viewer.wait_for_text(r"(?i)ended")
        viewer.keys("q")
        self.assertEqual(viewer.wait_for_exit(), 0, viewer.text())

        replay = self.terminal(memray("live", "--replay-speed", "1000", capture))
        self.assert_known_rows(replay)
        replay.wait_for_text(r"(?i)ended")
        replay.keys("q")
        self.assertEqual(replay.wait_for_exit(), 0, replay.text())


class RefusalTests(LiveViewTestCase):
    def test_without_a_terminal(self):
        capture = self.tmp / "c.bin"
        result = lib.run_script(self.tmp, "x = bytearray(1000)", output="c.bin")
        self.assertEqual(result.process.returncode, 0, result.process.stderr)
        for command in (["live", capture], ["run", "--live", "-c", "pass"]):
            result = lib.run_memray(command)
            self.assertEqual(result.returncode, 2, result.stderr)
            self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
            self.assertIn("terminal", result.stderr)

    def test_command_line_refusals(self):
        cases = [
            (["run", "--live-port", "1234", "-c", "pass"], 2, "The --live-port argument requires --live-remote"),
            (["run", "--live", "--follow-fork", "-c", "pass"], 2, "--follow-fork cannot be used with the live TUI"),
            (["run", "--live-remote", "--aggregate", "-c", "pass"], 2, "--aggregate cannot be used with the live TUI"),
            (["run", "--live", "-o", "x.bin", "-c", "pass"], 2, "not allowed with argument -o/--output"),
            (["run", "--live-remote", "--live-port", "0", "-c", "pass"], 1, "Invalid port: 0"),
            (["run", "--live-remote", "--live-port", "65536", "-c", "pass"], 1, "Invalid port: 65536"),
            (["live", "0"], 1, "Invalid port: 0"),
            (["live", "1000000"], 1, "Invalid port: 1000000"),
            (["attach", "--aggregate", "1"], 2, "Can't use aggregated mode without an output file."),
        ]
        for command, status, message in cases:
            with self.subTest(command=command):
                result = lib.run_memray(command, cwd=self.tmp)
                self.assertEqual(result.returncode, status, result.stderr)
                self.assertIn(message, result.stderr)
                self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)

    def test_a_port_already_taken(self):
        import socket
        taken = socket.socket()
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        self.addCleanup(taken.close)
        port = taken.getsockname()[1]
        result = lib.run_memray(["run", "--python", lib.test_python(), "--live-remote", "--live-port", port,
                                 "-c", "open(%r, 'w')" % str(self.control / "ran")])
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("cannot listen on 127.0.0.1:%d" % port, result.stderr)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
        self.assertFalse((self.control / "ran").exists())  # refused before the program ran

    def test_not_a_capture(self):
        garbage = lib.write_file(self.tmp / "garbage.bin", "this is not a capture\n" * 10)
        result = lib.run_memray(["live", garbage])
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("not a memray capture", result.stderr)

    def test_a_port_serving_something_else(self):
        import socket
        import threading
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        self.addCleanup(listener.close)

        def serve():
            connection, _ = listener.accept()
            connection.sendall(b"HTTP/1.1 200 OK\r\n\r\nhello" * 10)
            connection.close()
        threading.Thread(target=serve, daemon=True).start()
        viewer = self.terminal(memray("live", listener.getsockname()[1]))
        viewer.wait_for_text(r"(?i)not a memray capture")
        viewer.keys("q")
        self.assertEqual(viewer.wait_for_exit(), 1, viewer.text())


def snapshot_count(lines):
    match = re.search(r"Snapshots: (\d+)", "\n".join(lines))
    return int(match.group(1)) if match else -1


if __name__ == "__main__":
    unittest.main(verbosity=2)
