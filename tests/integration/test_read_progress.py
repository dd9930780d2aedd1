"""The progress bar of long reads (tools/memray/read_progress_bar.h) on real terminals.

Every command that reads a capture draws it on stderr when stderr is a terminal (a pseudo-
terminal here, read byte for byte), and erases it; a pipe never gets it; a quick read shows
nothing. In tmux: the bar appears once reading has gone on for a second, follows a resize of
the window, and leaves nothing behind on the screen, even when the report is printed to the
same terminal.

To make "reading takes long" deterministic on any machine, the tests either set
MEMRAY_PROGRESS_AFTER_MS=0 (the bar from the first chunk on) or hold `memray parse` back
through its output pipe: a gate process reads the pipe only when the test lets it, so parse
waits, mid-file, for as long as the test wants.
"""

import os
import pty
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import memray_testlib as lib  # noqa: E402
from live_testlib import Tmux  # noqa: E402

SYNTH = lib.BUILD_DIR / "bin" / "memray-synth"
# One line of the bar: "Reading NAME[ (pass N)]  45%[ [####....]  1.2/2.6 MB]".
BAR = re.compile(r"Reading capture\.bin(?: \(pass \d+\))?  +(\d+)%(?: \[[#.]+\]  +[\d.]+/[\d.]+ [kMG]?B)?")
ERASE = "\r\x1b[K"


# Reads of a capture, with stdout sent elsewhere (the commands that write files write them).
def reading_commands(capture, directory):
    return {
        "parse": ["parse", capture],
        "stats": ["stats", capture],
        "flamegraph": ["flamegraph", "-f", "-o", directory / "f.html", capture],
        "table": ["table", "-f", "-o", directory / "t.html", capture],
        "tree": ["tree", capture],
        "summary": ["summary", capture],
        "transform": ["transform", "csv", "-f", "-o", directory / "t.csv", capture],
    }


def run_with_terminal_stderr(args, env, columns=100):
    """Runs memray ARGS with stderr on a pseudo-terminal COLUMNS wide and stdout to /dev/null;
    returns (exit status, everything written to the terminal as text, wall seconds)."""
    master, slave = pty.openpty()
    subprocess.run(["stty", "cols", str(columns), "rows", "30"], stdin=slave, check=True)
    started = time.monotonic()
    with open(os.devnull, "wb") as sink:
        process = subprocess.Popen([str(lib.memray_binary())] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                                   stdout=sink, stderr=slave, env=env)
    os.close(slave)
    output = b""
    deadline = time.monotonic() + lib.DEFAULT_TIMEOUT
    while True:
        ready, _, _ = select.select([master], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer has closed the terminal
                chunk = b""
            if not chunk:
                break
            output += chunk
        elif time.monotonic() > deadline:
            process.kill()
            raise AssertionError("memray %s did not finish; it wrote: %r" % (args, output))
    status = process.wait()
    wall = time.monotonic() - started
    os.close(master)
    return status, output.decode("utf-8", "replace"), wall


class ReadProgressTests(lib.TempDirTestCase):
    @classmethod
    def setUpClass(cls):
        # Big enough for a hundred chunks: many redraws, and a parse output far larger than a pipe.
        cls.shared = Path(tempfile.mkdtemp(prefix="memray-progress-")).resolve()
        cls.capture = cls.shared / "capture.bin"
        subprocess.run([str(SYNTH), "-o", str(cls.capture), "-n", "2000000", "--chunk-kib", "64"],
                       check=True, stdout=subprocess.PIPE, timeout=lib.DEFAULT_TIMEOUT)
        cls.small = cls.shared / "small.bin"
        subprocess.run([str(SYNTH), "-o", str(cls.small), "-n", "1000"], check=True, stdout=subprocess.PIPE,
                       timeout=lib.DEFAULT_TIMEOUT)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(str(cls.shared), ignore_errors=True)

    def env(self, **extra):
        env = lib.memray_env()
        env.pop("NO_COLOR", None)
        env["TERM"] = "xterm-256color"
        env.update(extra)
        return env

    def bars(self, output):
        """The bar lines drawn, in order: each drawing starts with "\\r" and ends with "\\x1b[K"."""
        return [segment[:-len("\x1b[K")] for segment in output.split("\r") if segment.startswith("Reading")]

    def test_every_reading_command_draws_and_erases_the_bar_on_a_terminal(self):
        for name, args in reading_commands(self.capture, self.tmp).items():
            with self.subTest(command=name):
                status, output, _ = run_with_terminal_stderr(args, self.env(MEMRAY_PROGRESS_AFTER_MS="0"), columns=100)
                self.assertEqual(status, 0, output)
                bars = self.bars(output)
                self.assertTrue(bars, "%s drew no bar: %r" % (name, output))
                for bar in bars:
                    self.assertRegex(bar, "^" + BAR.pattern + "$")
                    self.assertLessEqual(len(bar), 99, "the bar fits the terminal: %r" % bar)
                percents = [int(BAR.match(bar).group(1)) for bar in bars if "(pass" not in bar]
                self.assertEqual(percents, sorted(percents), "a pass only moves forward: %s" % percents)
                # The last thing about the bar on the terminal is its erasure.
                last_bar = output.rfind("\rReading")
                self.assertNotEqual(output.find(ERASE, last_bar), -1, "the bar is erased: %r" % output[last_bar:])

    def test_no_bar_when_stderr_is_not_a_terminal(self):
        for name, args in reading_commands(self.capture, self.tmp).items():
            with self.subTest(command=name):
                stdout = subprocess.PIPE if name in ("tree", "summary", "stats", "parse") else subprocess.DEVNULL
                process = subprocess.run([str(lib.memray_binary())] + [str(a) for a in args], stdout=stdout,
                                         stderr=subprocess.PIPE, env=self.env(MEMRAY_PROGRESS_AFTER_MS="0"),
                                         timeout=lib.DEFAULT_TIMEOUT)
                self.assertEqual(process.returncode, 0, process.stderr)
                self.assertNotIn(b"Reading", process.stderr)
                self.assertNotIn(b"\r", process.stderr)
                self.assertNotIn(b"\x1b", process.stderr)

    def test_no_bar_for_dumb_terminals(self):
        status, output, _ = run_with_terminal_stderr(["stats", self.capture],
                                                     self.env(MEMRAY_PROGRESS_AFTER_MS="0", TERM="dumb"))
        self.assertEqual(status, 0, output)
        self.assertEqual(self.bars(output), [])

    def test_a_quick_read_shows_nothing(self):
        # The bar waits a second; a read that is over sooner never shows it. (Whether a read was
        # quick is known only afterwards: on a machine so loaded that even this one took a second
        # there is nothing to check.)
        for name, args in reading_commands(self.small, self.tmp).items():
            with self.subTest(command=name):
                status, output, wall = run_with_terminal_stderr(args, self.env())
                self.assertEqual(status, 0, output)
                if wall < 1.0:
                    self.assertEqual(self.bars(output), [], "%s read %s in %.2f s" % (name, self.small, wall))
                else:
                    print("%s took %.2f s on this machine: the quick case is not checked" % (name, wall))

    def test_bar_after_a_second_through_a_resize_and_erased_in_tmux(self):
        gate = lib.write_file(self.tmp / "gate.py", """
            # Creates DIR/ready once parse has written something (so it has started), then reads
            # stdin only when allowed: after DIR/go1 exists, 8 MB; after DIR/go2, 8 MB more; after
            # DIR/go3, the rest. Prints nothing.
            import os, select, sys, time
            directory = sys.argv[1]
            select.select([sys.stdin], [], [])
            open(os.path.join(directory, "ready"), "w").close()
            def wait_for(name):
                while not os.path.exists(os.path.join(directory, name)):
                    time.sleep(0.02)
            def read(limit):
                done = 0
                while limit is None or done < limit:
                    data = sys.stdin.buffer.read(65536 if limit is None else min(65536, limit - done))
                    if not data:
                        return False
                    done += len(data)
                return True
            for name, limit in (("go1", 8 << 20), ("go2", 8 << 20), ("go3", None)):
                wait_for(name)
                if not read(limit):
                    break
            """)
        command = ["sh", "-c", "%s parse %s | %s %s %s" % (lib.memray_binary(), self.capture, lib.test_python(),
                                                           gate, self.tmp)]
        tmux = Tmux(self.tmp, command, width=100, height=12, env=self.env())
        self.addCleanup(tmux.close)
        # Parse has started (and its first chunk's text waits in the pipe) once the gate is ready.
        # A second after that has surely passed a second after parse started: its next chunk
        # draws the bar.
        tmux.wait_for(lambda lines: (self.tmp / "ready").exists(), "the gate to see parse's output")
        time.sleep(1.2)
        (self.tmp / "go1").touch()
        lines = tmux.wait_for(lambda lines: any(BAR.fullmatch(line) for line in lines), "the bar at 100 columns")
        bar = next(line for line in lines if BAR.fullmatch(line))
        self.assertIn("[", bar, "a 100-column terminal has room for the bar itself: %r" % bar)
        self.assertLessEqual(len(bar), 99)

        # Narrower: the next redraws fit 50 columns, and nothing of the wide bar stays.
        tmux.resize(50, 12)
        time.sleep(0.2)  # past the bar's redraw interval
        (self.tmp / "go2").touch()

        def narrow_bar_alone(lines):
            drawn = [line for line in lines if line]
            return len(drawn) == 1 and BAR.fullmatch(drawn[0]) and len(drawn[0]) <= 49
        tmux.wait_for(narrow_bar_alone, "a bar of at most 49 columns, alone on the screen")

        (self.tmp / "go3").touch()
        self.assertEqual(tmux.wait_for_exit(), 0)
        # tmux's own note on the ended command aside, the window is empty.
        left = [line for line in tmux.screen() if line and not line.startswith("Pane is dead")]
        self.assertEqual(left, [], "the bar is erased at the end")

    def test_report_on_the_same_terminal_is_not_mixed_with_the_bar(self):
        # summary prints to stdout, the bar goes to stderr: the same tmux window.
        tmux = Tmux(self.tmp, [str(lib.memray_binary()), "summary", "-r", "3", str(self.capture)], width=120,
                    height=40, env=self.env(MEMRAY_PROGRESS_AFTER_MS="0"))
        self.addCleanup(tmux.close)
        self.assertEqual(tmux.wait_for_exit(), 0)
        text = tmux.full_text()
        self.assertNotIn("Reading", text)
        self.assertRegex(text.lstrip("\n"), r"^\S", "the report starts at the first column: %r" % text[:200])
        self.assertIn("Location", text)


if __name__ == "__main__":
    unittest.main()
