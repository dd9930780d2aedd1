"""`memray tree` and `memray summary` on real captures of programs with known allocations.

The program below makes three kinds of allocation, each big enough to stand out from what
the interpreter allocates on its own:
  * keep():       5 MiB kept to the end (a leak, and part of the peak);
  * recurse(3):   1 MiB at the bottom of a recursion four calls deep, kept as well;
  * temporary(): 10 MiB freed straight away (a temporary allocation, and part of the peak).
So the peak is 16 MiB, the leaks 6 MiB and the temporary allocations 10 MiB.
"""

import os
import pty
import re
import select
import subprocess
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import memray_testlib as lib  # noqa: E402

MiB = 1024 * 1024

PROGRAM = """\
MiB = 1024 * 1024

def keep():
    return bytearray(5 * MiB)

def temporary():
    data = bytearray(10 * MiB)
    del data

def recurse(n):
    if n == 0:
        return bytearray(MiB)
    return recurse(n - 1)

def main():
    kept = [keep(), recurse(3)]
    temporary()
    return kept

result = main()
"""
# Lines of PROGRAM, as the frames name them.
KEEP_LINE, TEMPORARY_LINE, RECURSE_ALLOC_LINE, RECURSE_CALL_LINE = 4, 7, 12, 13
MAIN_KEEPS_LINE, MAIN_TEMPORARY_LINE, MODULE_LINE = 16, 17, 20

SIZE_5MIB, SIZE_10MIB, SIZE_1MIB = "5.243MB", "10.486MB", "1.049MB"

# A line of the tree without its guides: "📂 SIZE (PCT%) FUNCTION  FILE:LINE[ (own SIZE)]",
# or a call chain's "↳ FUNCTION  FILE:LINE".
TREE_NODE = re.compile(r"^(?P<guides>[│├└─ ]*)(?P<icon>📂|📄) (?P<size>\S+) \((?P<pct>[\d.]+)%\) "
                       r"(?P<frame>.*?)(?: \(own (?P<own>\S+)\))?$")
TREE_CHAIN = re.compile(r"^(?P<guides>[│ ]*)↳ (?P<frame>.*?)(?: \(own (?P<own>\S+)\))?$")


def tree_lines(text):
    """The tree's lines as dicts: depth (4 cells per level), kind ('node' or 'chain'), size,
    pct (float), frame ("function  file:line"); other lines (the heading, notes) are skipped."""
    lines = []
    for line in text.splitlines():
        match = TREE_NODE.match(line) or TREE_CHAIN.match(line)
        if not match:
            continue
        fields = match.groupdict()
        lines.append({
            "depth": len(fields["guides"]) // 4,
            "kind": "node" if "icon" in fields else "chain",
            "size": fields.get("size"),
            "pct": float(fields["pct"]) if fields.get("pct") else None,
            "frame": fields["frame"],
        })
    return lines


def summary_rows(text):
    """The summary table's rows: {location: [total, total %, own, own %, count]}, in order."""
    rows = {}
    for line in text.splitlines():
        if not line.startswith("│ ") or "Location" in line:
            continue
        cells = [cell.strip() for cell in line.strip("│").split("│")]
        rows[cells[0]] = cells[1:]
    return rows


def run_with_terminal(args, env=None):
    """Runs `memray ARGS` with stdout on a pseudo-terminal; returns (status, stdout text)."""
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen([lib.memray_binary()] + [str(a) for a in args], stdout=follower,
                                   stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                   env=env if env is not None else lib.memray_env())
        os.close(follower)
        follower = None
        output = b""
        while True:
            ready, _, _ = select.select([leader], [], [], lib.DEFAULT_TIMEOUT)
            if not ready:
                stacks = lib.hang_report.describe_tree(process.pid)
                process.kill()
                raise AssertionError("memray %s wrote nothing for too long\n%s" % (args, stacks))
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other side is closed
                break
            if not chunk:
                break
            output += chunk
        process.wait(timeout=lib.DEFAULT_TIMEOUT)
        process.stderr.close()
        return process.returncode, output.decode("utf-8", "replace")
    finally:
        os.close(leader)
        if follower is not None:
            os.close(follower)


class TerminalReportersTestCase(lib.SharedCaptureTestCase):
    """One capture of PROGRAM for the whole class: the reports only read it."""

    PROGRAM = PROGRAM
    maxDiff = None

    def memray(self, *args):
        return lib.run_memray(list(args))

    def report(self, *args):
        process = self.memray(*args)
        self.assertEqual(process.returncode, 0, process.stderr)
        self.assertEqual(process.stderr, "")
        return process.stdout

    def frame(self, function, line):
        return "%s  %s:%d" % (function, self.script, line)

    def location(self, function):
        return "%s at %s" % (function, self.script)

    def assertLinesInOrder(self, actual, expected, total_mib):
        """Every expected (depth, kind, size, frame) tree line appears, in this order; shares
        are checked against the sizes in MiB over `total_mib` (the interpreter's own small
        allocations move them by far less than 0.05%)."""
        remaining = list(actual)
        for depth, kind, size_mib, frame in expected:
            for index, line in enumerate(remaining):
                if line["frame"] == frame and line["kind"] == kind and line["depth"] == depth:
                    break
            else:
                self.fail("no %s line at depth %d for %r in:\n%s"
                          % (kind, depth, frame, "\n".join(map(str, actual))))
            if kind == "node":
                self.assertEqual(line["size"], {5: SIZE_5MIB, 10: SIZE_10MIB, 1: SIZE_1MIB, 6: "6.291MB",
                                                16: "16.777MB"}[size_mib], line)
                self.assertAlmostEqual(line["pct"], 100.0 * size_mib / total_mib, delta=0.05, msg=line)
            remaining = remaining[index + 1:]

    # --- tree ------------------------------------------------------------------------------

    def test_tree_of_the_peak(self):
        text = self.report("tree", self.capture)
        self.assertTrue(text.startswith("Peak memory usage: 16.7"), text)
        self.assertLinesInOrder(tree_lines(text), [
            (1, "node", 16, self.frame("<module>", MODULE_LINE)),
            (2, "node", 10, self.frame("main", MAIN_TEMPORARY_LINE)),
            (2, "chain", None, self.frame("temporary", TEMPORARY_LINE)),
            (2, "node", 6, self.frame("main", MAIN_KEEPS_LINE)),
            (3, "node", 5, self.frame("keep", KEEP_LINE)),
            (3, "node", 1, self.frame("recurse", RECURSE_CALL_LINE)),
            (3, "chain", None, self.frame("recurse", RECURSE_CALL_LINE)),
            (3, "chain", None, self.frame("recurse", RECURSE_CALL_LINE)),
            (3, "chain", None, self.frame("recurse", RECURSE_ALLOC_LINE)),
        ], total_mib=16)

    def test_tree_of_leaks(self):
        text = self.report("tree", "--leaks", self.capture)
        self.assertTrue(text.startswith("Leaked memory: 6.29"), text)
        self.assertNotIn("temporary", text)
        self.assertLinesInOrder(tree_lines(text), [
            (1, "node", 6, self.frame("<module>", MODULE_LINE)),
            (1, "chain", None, self.frame("main", MAIN_KEEPS_LINE)),
            (2, "node", 5, self.frame("keep", KEEP_LINE)),
            (2, "node", 1, self.frame("recurse", RECURSE_CALL_LINE)),
            (2, "chain", None, self.frame("recurse", RECURSE_ALLOC_LINE)),
        ], total_mib=6)

    def test_tree_of_temporary_allocations(self):
        for options in (["--temporary-allocations"], ["--temporary-allocation-threshold", "1"]):
            text = self.report("tree", *options, self.capture)
            self.assertTrue(text.startswith("Temporary allocations (threshold 1): 10.486MB in 1 allocation\n"), text)
            self.assertNotIn("keep", text)
            self.assertNotIn("recurse", text)
            self.assertLinesInOrder(tree_lines(text), [
                (1, "node", 10, self.frame("<module>", MODULE_LINE)),
                (1, "chain", None, self.frame("main", MAIN_TEMPORARY_LINE)),
                (1, "chain", None, self.frame("temporary", TEMPORARY_LINE)),
            ], total_mib=10)

    def test_tree_keeps_the_biggest_locations_and_sums_up_the_rest(self):
        text = self.report("tree", "-b", "1", self.capture)
        self.assertIn(self.frame("temporary", TEMPORARY_LINE), text)
        self.assertNotIn("keep", text)
        match = re.search(r"└── … (\d+) more locations?, (\S+) \(([\d.]+)%\), not shown \(see -b/--biggest-allocs\)",
                          text)
        self.assertIsNotNone(match, text)
        self.assertGreaterEqual(int(match.group(1)), 2)
        self.assertTrue(match.group(2).startswith("6.29"), match.group(2))
        self.assertAlmostEqual(float(match.group(3)), 37.5, delta=0.05)

    # --- summary ---------------------------------------------------------------------------

    def assertRow(self, rows, function, total, total_pct, own, own_pct, count):
        row = rows.get(self.location(function))
        self.assertIsNotNone(row, "no row for %s in %s" % (function, rows))
        self.assertEqual(row[0], total, row)
        self.assertAlmostEqual(float(row[1].rstrip("%")), total_pct, delta=0.05, msg=row)
        self.assertEqual(row[2], own, row)
        self.assertAlmostEqual(float(row[3].rstrip("%")), own_pct, delta=0.05, msg=row)
        self.assertEqual(row[4], count, row)

    def test_summary_of_the_peak(self):
        text = self.report("summary", self.capture)
        self.assertIn("│ Location ", text)
        self.assertIn("<Total Memory>", text)
        rows = summary_rows(text)
        self.assertRow(rows, "temporary", SIZE_10MIB, 62.5, SIZE_10MIB, 62.5, "1")
        self.assertRow(rows, "keep", SIZE_5MIB, 31.25, SIZE_5MIB, 31.25, "1")
        # Four frames of recurse on the stack: its 1 MiB counted once.
        self.assertRow(rows, "recurse", SIZE_1MIB, 6.25, SIZE_1MIB, 6.25, "1")
        self.assertRow(rows, "main", "16.777MB", 100.0, "0.000B", 0.0, "0")
        order = list(rows)
        self.assertLess(order.index(self.location("temporary")), order.index(self.location("keep")))
        self.assertLess(order.index(self.location("keep")), order.index(self.location("recurse")))

    def test_summary_of_leaks_and_temporary_allocations(self):
        rows = summary_rows(self.report("summary", "--leaks", self.capture))
        self.assertRow(rows, "keep", SIZE_5MIB, 83.33, SIZE_5MIB, 83.33, "1")
        self.assertRow(rows, "recurse", SIZE_1MIB, 16.67, SIZE_1MIB, 16.67, "1")
        self.assertNotIn(self.location("temporary"), rows)
        rows = summary_rows(self.report("summary", "--temporary-allocations", self.capture))
        self.assertRow(rows, "temporary", SIZE_10MIB, 100.0, SIZE_10MIB, 100.0, "1")
        self.assertRow(rows, "main", SIZE_10MIB, 100.0, "0.000B", 0.0, "0")
        self.assertNotIn(self.location("keep"), rows)

    def test_summary_sort_columns_and_rows(self):
        text = self.report("summary", "-s", "3", "-r", "2", self.capture)
        self.assertIn("<Own Memory>", text)
        self.assertEqual(list(summary_rows(text)), [self.location("temporary"), self.location("keep")])
        self.assertRegex(text, r"… \d+ more functions? not shown \(see -r/--max-rows\)\n$")
        text = self.report("summary", "--sort-column", "5", self.capture)
        self.assertIn("<Allocation Count>", text)
        counts = [int(row[4]) for row in summary_rows(text).values()]
        self.assertEqual(counts, sorted(counts, reverse=True))

    def test_summary_default_rows_fit_the_terminal(self):
        # 30 functions: the default shows the terminal's height less 5 lines, at least 10 rows.
        source = "".join("def f%d():\n    return bytearray(%d)\n" % (i, 100000 + i) for i in range(30))
        source += "kept = [%s]\n" % ", ".join("f%d()" % i for i in range(30))
        result = lib.run_script(self.tmp / "many", source)
        self.assertEqual(result.process.returncode, 0, result.process.stderr)
        for lines, rows in (("12", 10), ("30", 25)):
            process = lib.run_memray(["summary", "--leaks", result.capture],
                                     env=lib.memray_env(extra={"LINES": lines}))
            self.assertEqual(process.returncode, 0, process.stderr)
            self.assertEqual(len(summary_rows(process.stdout)), rows, process.stdout)
            self.assertRegex(process.stdout, r"… \d+ more functions not shown")
        everything = summary_rows(self.report("summary", "--leaks", "-r", "100", result.capture))
        for i in range(30):  # bytearray(n) allocates n + 1 bytes
            self.assertEqual(everything["f%d at %s" % (i, result.script)][2], "%.3fkB" % ((100000 + i + 1) / 1000))

    def test_nothing_to_show_prints_only_the_heading(self):
        result = lib.run_script(self.tmp / "freed", """\
            def f():
                data = bytearray(100000)
                del data
            f()
        """)
        self.assertEqual(result.process.returncode, 0, result.process.stderr)
        for command in ("tree", "summary"):
            text = self.report(command, "--leaks", result.capture)
            if not text.startswith("Leaked memory: 0.000B in 0 allocations"):
                # Before 3.11 the interpreter keeps a small block of the module's code alive.
                self.assertLess(lib.python_version(), (3, 11), text)
                self.skipTest("this interpreter leaks a block of its own: %s" % text.splitlines()[0])
            self.assertEqual(text, "Leaked memory: 0.000B in 0 allocations (not freed when the capture ended)\n")

    # --- colours ---------------------------------------------------------------------------

    def test_colours_on_a_terminal_only(self):
        env = lib.memray_env(extra={"NO_COLOR": None, "TERM": "xterm", "COLUMNS": None, "LINES": None})
        for command in ("tree", "summary"):
            status, text = run_with_terminal([command, self.capture], env=env)
            self.assertEqual(status, 0, text)
            self.assertIn("\x1b[31m", text, "%s: red for a share above 60%%" % command)
            self.assertIn("\x1b[1m", text, command)
            piped = self.report(command, self.capture)
            self.assertNotIn("\x1b", piped, command)
            # The same report once the escapes are taken out (the terminal turns \n into \r\n).
            plain = re.sub(r"\x1b\[[0-9;]*m", "", text).replace("\r\n", "\n")
            if command == "tree":
                self.assertEqual(plain, piped)
            else:
                # The terminal's size is unknown (0x0): the table fits the 80 columns assumed.
                table = [line for line in plain.splitlines() if line[:1] in "┌│├└"]
                self.assertLessEqual(max(len(line) for line in table), 80, plain)
            status, text = run_with_terminal([command, self.capture], env=dict(env, NO_COLOR="1"))
            self.assertEqual(status, 0, text)
            self.assertNotIn("\x1b", text, "%s: NO_COLOR" % command)

    # --- how frames are shown --------------------------------------------------------------

    def test_import_system_frames_are_hidden_unless_asked_for(self):
        lib.write_file(self.tmp / "imports" / "heavy.py", """\
            table = bytearray(3 * 1024 * 1024)
        """)
        result = lib.run_script(self.tmp / "imports", """\
            import heavy
        """)
        self.assertEqual(result.process.returncode, 0, result.process.stderr)
        text = self.report("tree", "--leaks", result.capture)
        self.assertNotIn("<frozen importlib", text)
        lines = tree_lines(text)
        importing = [i for i, line in enumerate(lines) if line["frame"] == "<module>  %s:1" % result.script]
        self.assertEqual(len(importing), 1, text)
        # The imported module's body right under the import statement, whether it is the only
        # callee there (a chain line, with the size on the importing line) or not.
        heavy = lines[importing[0] + 1]
        self.assertEqual(heavy["frame"], "<module>  %s:1" % (self.tmp / "imports" / "heavy.py"), text)
        sized = heavy if heavy["kind"] == "node" else lines[importing[0]]
        self.assertTrue(sized["size"].startswith("3.14"), text)
        self.assertRegex(text, r"\d+ frames? of the import system, of start-up, of the interpreter's machinery or inside call chains not shown")
        everything = self.report("tree", "--leaks", "--show-all-frames", result.capture)
        self.assertIn("_find_and_load  <frozen importlib._bootstrap>", everything)
        self.assertNotIn("not shown", everything)

    def test_module_run_with_dash_m_hides_runpy(self):
        lib.write_file(self.tmp / "modrun" / "app.py", """\
            kept = bytearray(2 * 1024 * 1024)
        """)
        capture = self.tmp / "modrun" / "capture.bin"
        process = lib.run_memray(["run", "--python", lib.test_python(), "-q", "-o", capture, "-m", "app"],
                                 cwd=self.tmp / "modrun")
        self.assertEqual(process.returncode, 0, process.stderr)
        text = self.report("tree", "--leaks", capture)
        self.assertNotIn("runpy", text)
        self.assertIn("<module>  %s:1" % (self.tmp / "modrun" / "app.py"), text)
        self.assertIn("runpy", self.report("tree", "--leaks", "--show-all-frames", capture))

    # --- bad input -------------------------------------------------------------------------

    def assertOneLineError(self, process, command, status, message):
        self.assertEqual(process.returncode, status, process.stderr)
        self.assertEqual(process.stdout, "")
        lines = process.stderr.splitlines()
        self.assertEqual(len(lines), 1, process.stderr)
        self.assertTrue(lines[0].startswith("memray %s: error: " % command), lines[0])
        self.assertIn(message, lines[0])

    def test_bad_captures_fail_like_stats(self):
        data = Path(self.capture).read_bytes()
        bad = self.tmp / "bad"
        bad.mkdir(exist_ok=True)
        flipped = bytearray(data)
        flipped[len(data) // 2] ^= 0x10
        files = {
            "missing.bin": None,
            "empty.bin": b"",
            "text.txt": b"this is a text file, not a capture\n" * 10,
            "header_cut.bin": data[:10],
            "flipped.bin": bytes(flipped),
        }
        cases = [bad]  # a directory
        for name, content in files.items():
            if content is not None:
                (bad / name).write_bytes(content)
            cases.append(bad / name)
        for path in cases:
            expected = self.memray("stats", path)
            self.assertEqual(expected.returncode, 1, "stats accepted %s" % path)
            for command in ("tree", "summary"):
                process = self.memray(command, path)
                self.assertOneLineError(process, command, 1, "")
                self.assertEqual(process.stderr.replace("memray %s:" % command, "memray stats:"), expected.stderr)

    def test_capture_that_ended_abruptly_is_reported_with_a_note(self):
        result = lib.run_script(self.tmp / "killed", """\
            import os, signal; from capture_waits import wait_for_samples
            def keep():
                return bytearray(4 * 1024 * 1024)
            kept = keep()
            wait_for_samples()  # the records before it are in the file
            os.kill(os.getpid(), signal.SIGKILL)
        """)
        self.assertIn(result.process.returncode, (-9, 128 + 9), result.process.stderr)
        for command in ("tree", "summary"):
            process = self.memray(command, result.capture)
            self.assertEqual(process.returncode, 0, process.stderr)
            self.assertIn("memray %s: warning: " % command, process.stderr)
            self.assertIn("ended abruptly", process.stderr)
            self.assertIn("keep", process.stdout)
            self.assertIn("4.194MB", process.stdout)

    def test_usage_errors(self):
        capture = self.capture
        cases = [
            ("tree", [], "missing the capture file"),
            ("summary", [], "missing the capture file"),
            ("tree", ["-b", "0", capture], "-b/--biggest-allocs must be an integer greater than 0"),
            ("tree", ["-b", "many", capture], "-b/--biggest-allocs must be an integer greater than 0"),
            ("tree", ["--bogus", capture], "bogus"),
            ("summary", ["-s", "0", capture], "The --sort-column argument must be between 1 and 5"),
            ("summary", ["-s", "6", capture], "The --sort-column argument must be between 1 and 5"),
            ("summary", ["--sort-column", "total", capture], "The --sort-column argument must be between 1 and 5"),
            ("summary", ["-r", "0", capture], "-r/--max-rows must be an integer greater than 0"),
            ("tree", ["--leaks", "--temporary-allocations", capture], "exclude each other"),
            ("summary", ["--leaks", "--temporary-allocation-threshold", "2", capture], "exclude each other"),
            ("tree", ["--temporary-allocation-threshold", "0", capture],
             "--temporary-allocation-threshold must be an integer greater than 0"),
            ("summary", [capture, capture], ""),
        ]
        for command, args, message in cases:
            process = self.memray(command, *args)
            self.assertOneLineError(process, command, 2, message)
            self.assertIn("(see 'memray %s --help')" % command, process.stderr)

    def test_help(self):
        for command, options in (("tree", ["--biggest-allocs", "--show-all-frames", "--leaks",
                                           "--temporary-allocations", "--temporary-allocation-threshold"]),
                                 ("summary", ["--sort-column", "--max-rows", "--leaks", "--temporary-allocations",
                                              "--temporary-allocation-threshold"])):
            text = self.report(command, "--help")
            for option in options:
                self.assertIn(option, text, command)
        listing = self.report("--help")
        self.assertIn("  tree ", listing)
        self.assertIn("  summary ", listing)


if __name__ == "__main__":
    unittest.main(verbosity=2)
