"""`memray.Tracker(destination=SocketDestination(port))` end to end: a Python program of the
interpreter under test, with the wheel installed in a fresh venv, tracked through the API and
watched with `memray live PORT` in a real terminal (tmux); its refusals; and what is left behind
(nothing) when the program ends, raises, is interrupted or is killed
(tests/cmake/python_package.cmake, python/memray/_live_helper.py)."""

import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hang_report  # noqa: E402
import memray_testlib as lib  # noqa: E402
from attach_testlib import wait_until  # noqa: E402
from live_testlib import WAIT_TIMEOUT, Tmux, row  # noqa: E402
from test_python_package import clean_env, run, venv_with_the_wheel  # noqa: E402

# Tracked through the API: the port is argv[1], the control directory argv[2]. The Tracker is
# entered in enter_tracker(), called from main(): main is above the `with`, so memray leaves it
# out of the stacks, and the view must not show it.
PROGRAM = textwrap.dedent("""\
    import os, sys, time
    from pathlib import Path
    import memray

    control = Path(sys.argv[2])

    def allocate_for_the_view():
        return bytearray(20_000_000)

    def enter_tracker():
        destination = memray.SocketDestination(server_port=int(sys.argv[1]))
        with memray.Tracker(destination=destination):
            (control / "tracking").write_text(str(os.getpid()))
            kept = allocate_for_the_view()
            while not (control / "stop").exists():
                time.sleep(0.05)
        print("done", flush=True)

    def main():
        try:
            enter_tracker()
        except KeyboardInterrupt:
            print("interrupted", flush=True)

    main()
    """)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening_on(port):
    """Whether something listens on TCP port PORT (any address)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and int(fields[1].split(":")[1], 16) == port:
            return True
    return False


def helpers_serving(directory):
    """The pids of `memray _serve-tracker` processes whose capture is under DIRECTORY."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"_serve-tracker" in argv and any(arg.startswith(os.fsencode(str(directory))) for arg in argv):
            found.append(int(entry.name))
    return found


class TrackerLiveTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = Path(tempfile.mkdtemp(prefix="memray-live-api-")).resolve()
        cls.python = venv_with_the_wheel(cls.root / "venv")
        cls.memray = cls.root / "venv" / "bin" / "memray"

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="test-", dir=self.root)).resolve()
        self.control = self.tmp / "control"
        self.control.mkdir()
        # The program's TMPDIR: where its Tracker makes its private directory, so that the test
        # can see it made and removed.
        self.program_tmp = self.tmp / "program-tmp"
        self.program_tmp.mkdir()
        self.script = self.tmp / "program.py"
        self.script.write_text(PROGRAM)

    def start_program(self):
        """PROGRAM, once its Tracker's helper listens: (its port, the program)."""
        port = free_port()
        env = clean_env({"TMPDIR": str(self.program_tmp)})
        program = subprocess.Popen([str(self.python), str(self.script), str(port), str(self.control)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env=env)
        self.addCleanup(lambda: program.poll() is None and program.kill())
        self.wait(lambda: listening_on(port), "the helper to listen on %d" % port, [program.pid])
        return port, program

    def terminal(self, port):
        tmux = Tmux(self.tmp, [str(self.memray), "live", str(port)], env=clean_env())
        self.addCleanup(tmux.close)
        return tmux

    def wait(self, predicate, what, involved=()):
        if not wait_until(predicate, timeout=WAIT_TIMEOUT):
            self.fail("timed out after %s s waiting for %s\n%s" % (
                WAIT_TIMEOUT, what, "\n".join(hang_report.describe_tree(pid) for pid in involved)))

    def assert_cleaned_up(self, involved=()):
        """The private directory and the helper both go, on their own."""
        self.wait(lambda: not list(self.program_tmp.iterdir()) and not helpers_serving(self.program_tmp),
                  "the helper to end and remove %s (still: %s)" % (self.program_tmp, list(self.program_tmp.iterdir())),
                  involved)

    def private_directory(self):
        directories = list(self.program_tmp.iterdir())
        self.assertEqual(len(directories), 1, directories)
        return directories[0]

    def assert_view_shows_the_program(self, viewer, involved):
        lines = viewer.wait_for(lambda lines: (row(lines, "allocate_for_the_view") or {}).get("total") == "20.000MB",
                                "allocate_for_the_view with 20.000MB", involved=involved)
        self.assertIsNotNone(row(lines, "enter_tracker"), "\n".join(lines))
        self.assertIsNone(row(lines, "main"), "\n".join(lines))  # above the `with`: left out
        self.assertIn("program.py", row(lines, "allocate_for_the_view")["file"])

    def test_the_view_of_a_tracker_from_its_start_and_the_cleanup(self):
        port, program = self.start_program()
        directory = self.private_directory()
        self.assertEqual(stat.S_IMODE(directory.stat().st_mode), 0o700)
        # Listening, and the constructor still waits for a viewer, as memray's does.
        self.assertFalse((self.control / "tracking").exists())
        self.assertEqual(len(helpers_serving(self.program_tmp)), 1)

        first = self.terminal(port)
        self.wait((self.control / "tracking").exists, "the Tracker to start", [program.pid])
        self.assert_view_shows_the_program(first, [program.pid])
        # A viewer that connects later still sees everything from the start.
        second = self.terminal(port)
        self.assert_view_shows_the_program(second, [program.pid])
        first.keys("q")
        self.assertEqual(first.wait_for_exit(), 0, first.text())

        (self.control / "stop").write_text("")
        second.wait_for_text(r"The program has ended", involved=[program.pid])
        out, err = lib.communicate_explained(program)
        self.assertEqual(program.returncode, 0, err)
        self.assertEqual(out, "done\n")
        self.assertEqual(err, "")
        self.assert_cleaned_up()
        self.assertFalse(listening_on(port))
        second.keys("q")
        self.assertEqual(second.wait_for_exit(), 0, second.text())

    def test_killed_program_leaves_nothing_behind(self):
        port, program = self.start_program()
        viewer = self.terminal(port)
        self.assert_view_shows_the_program(viewer, [program.pid])
        program.kill()
        program.wait()
        viewer.wait_for_text(r"Ended abruptly", involved=helpers_serving(self.program_tmp))
        self.assert_cleaned_up()
        viewer.keys("q")
        self.assertEqual(viewer.wait_for_exit(), 0, viewer.text())

    def test_interrupted_while_waiting_for_a_viewer(self):
        port, program = self.start_program()
        program.send_signal(signal.SIGINT)
        out, err = lib.communicate_explained(program)
        self.assertEqual((program.returncode, out), (0, "interrupted\n"), err)
        self.assert_cleaned_up()
        self.assertFalse(listening_on(port))

    def test_refusals_as_memray_words_them_and_nothing_left_behind(self):
        taken = socket.socket()
        self.addCleanup(taken.close)
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        probe = self.tmp / "refusals.py"
        probe.write_text(textwrap.dedent("""\
            import sys
            import memray

            def attempt(name, **arguments):
                try:
                    memray.Tracker(**arguments)
                except Exception as error:
                    print("%s: %s: %s" % (name, type(error).__name__, error))
                else:
                    print("%s: ok" % name)

            port = int(sys.argv[1])
            attempt("taken", destination=memray.SocketDestination(server_port=port))
            attempt("negative", destination=memray.SocketDestination(server_port=-1))
            attempt("zero", destination=memray.SocketDestination(server_port=0))
            attempt("too_big", destination=memray.SocketDestination(server_port=65536))
            attempt("not_a_number", destination=memray.SocketDestination(server_port="80"))
            attempt("bad_address", destination=memray.SocketDestination(server_port=port, address="no.such.host"))
            attempt("fork", destination=memray.SocketDestination(server_port=port), follow_fork=True)
            attempt("aggregated", destination=memray.SocketDestination(server_port=port),
                    file_format=memray.FileFormat.AGGREGATED_ALLOCATIONS)
            attempt("other_type", destination="out.bin")
            """))
        result = run([self.python, probe, taken.getsockname()[1]], env=clean_env({"TMPDIR": str(self.program_tmp)}))
        self.assertEqual(result.returncode, 0, result.stderr)
        said = dict(line.split(": ", 1) for line in result.stdout.splitlines())
        where = "127.0.0.1:%d" % taken.getsockname()[1]
        self.assertEqual(said["taken"], "OSError: Failed to bind to host and port: cannot listen on %s: "
                                        "Address already in use" % where)
        self.assertEqual(said["negative"], "OverflowError: can't convert negative value to unsigned int")
        self.assertEqual(said["zero"], "OSError: Failed to bind to host and port: port 0 is not in 1..65535")
        self.assertEqual(said["too_big"], "OSError: Failed to bind to host and port: port 65536 is not in 1..65535")
        self.assertTrue(said["not_a_number"].startswith("TypeError: "), said["not_a_number"])
        self.assertEqual(said["bad_address"], "OSError: Failed to bind to host and port: cannot listen on "
                                              "no.such.host:%d: not an IPv4 address" % taken.getsockname()[1])
        self.assertEqual(said["fork"], "RuntimeError: follow_fork requires an output file")
        self.assertEqual(said["aggregated"], "RuntimeError: AGGREGATED_ALLOCATIONS requires an output file")
        self.assertEqual(said["other_type"], "TypeError: destination must be a SocketDestination or FileDestination")
        self.assertEqual(len(said), 9, result.stdout)
        self.assert_cleaned_up()


if __name__ == "__main__":
    unittest.main()
