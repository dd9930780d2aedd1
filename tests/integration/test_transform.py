"""`memray transform {csv,gprof2dot,speedscope}` on real captures of a program with known
allocations, each output read by a consumer this project did not write: Python's csv module,
gprof2dot and Graphviz's dot, and speedscope's own file-format schema (from the npm package
the build installs, reporters/web/package-lock.json) checked by the jsonschema package.

The program (lines as numbered below):
  * keep():       6 MiB kept to the end (a leak, and part of the peak);
  * recurse(3):   3 MiB at the bottom of a recursion four calls deep, kept as well;
  * a thread named "worker" keeps 2 MiB (worker_alloc);
  * temporary(): 12 MiB freed on return (a temporary allocation, and part of the peak).
bytearray(N) asks malloc for N + 1 bytes (its buffer ends in a NUL), once: those are the exact
sizes and counts the outputs must carry.
"""

import csv
import json
import os
import shutil
import subprocess
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import memray_testlib as lib  # noqa: E402

PROGRAM = """\
import threading

SIZES = {"kept": 6 << 20, "deep": 3 << 20, "worker": 2 << 20, "garbage": 12 << 20}

def keep():
    return bytearray(SIZES["kept"])

def temporary():
    garbage = bytearray(SIZES["garbage"])
    return len(garbage)

def recurse(depth):
    if depth:
        return recurse(depth - 1)
    return bytearray(SIZES["deep"])

def worker_alloc(into):
    into.append(bytearray(SIZES["worker"]))

def main():
    held = [keep(), recurse(3)]
    worker = threading.Thread(target=worker_alloc, args=(held,), name="worker")
    worker.start()
    worker.join()
    temporary()
    return held

result = main()
"""
KEEP_LINE, TEMPORARY_LINE, RECURSE_CALL_LINE, RECURSE_ALLOC_LINE, WORKER_LINE = 6, 9, 14, 15, 18
MAIN_KEEP_LINE, MAIN_TEMPORARY_LINE, MODULE_LINE = 21, 25, 28

MiB = 1024 * 1024
KEEP = (6 * MiB + 1, 1)
RECURSE = (3 * MiB + 1, 1)
WORKER = (2 * MiB + 1, 1)
TEMPORARY = (12 * MiB + 1, 1)

CSV_HEADER = ["allocator", "num_allocations", "size", "tid", "thread_name", "stack_trace"]

SPEEDSCOPE_SCHEMA = (lib.BUILD_DIR / "reporters" / "web" / "node_modules" / "speedscope" / "dist" / "release"
                     / "file-format-schema.json")


def read_csv(path):
    """The rows of a transform csv, as Python's csv module reads them (newline='' as its
    documentation asks), checked for the header; each stack_trace split into frames."""
    with open(str(path), newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    records = []
    for row in body:
        record = dict(zip(header, row))
        record["frames"] = [tuple(frame.rsplit(";", 2)) for frame in record["stack_trace"].split("|")
                            if record["stack_trace"]]
        records.append(record)
    return header, records


def which_gprof2dot():
    """The gprof2dot command: on PATH, else the module of the test driver's Python; None if
    neither is installed (Debian does not package it)."""
    if shutil.which("gprof2dot"):
        return ["gprof2dot"]
    probe = subprocess.run([sys.executable, "-c", "import gprof2dot"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    return [sys.executable, "-m", "gprof2dot"] if probe.returncode == 0 else None


class TransformTestCase(lib.SharedCaptureTestCase):
    """One capture of PROGRAM for the whole class: the transforms only read it."""

    PROGRAM = PROGRAM
    maxDiff = None

    def frame(self, function, line):
        return (function, self.script, str(line))

    def transform(self, *args, expect_output=True):
        """Runs `memray transform ARGS` into a fresh file of self.tmp; returns (output path, stdout)."""
        name = "out-%d" % len(list(self.tmp.iterdir()))
        output = self.tmp / name
        process = lib.run_memray(["transform"] + list(args) + ["-o", output, self.capture])
        self.assertEqual(process.returncode, 0, process.stderr)
        self.assertTrue(output.is_file())
        return output, process

    def rows_with(self, rows, frame):
        """Rows whose stack holds FRAME, made by malloc (the interpreter's own small
        allocations on the same line go through pymalloc, which is not traced by default)."""
        return [r for r in rows if frame in r["frames"] and r["allocator"] == "MALLOC"]

    def assertSums(self, rows, frame, expected):
        matching = self.rows_with(rows, frame)
        size = sum(int(r["size"]) for r in matching)
        count = sum(int(r["num_allocations"]) for r in matching)
        self.assertEqual((size, count), expected, "rows with %s: %s" % (frame, matching))

    # --- csv --------------------------------------------------------------------------------

    def test_csv_peak_has_the_exact_known_allocations(self):
        output, process = self.transform("csv")
        self.assertEqual(process.stdout, "Wrote %s\n" % output)
        header, rows = read_csv(output)
        self.assertEqual(header, CSV_HEADER)
        self.assertSums(rows, self.frame("keep", KEEP_LINE), KEEP)
        self.assertSums(rows, self.frame("recurse", RECURSE_ALLOC_LINE), RECURSE)
        self.assertSums(rows, self.frame("worker_alloc", WORKER_LINE), WORKER)
        self.assertSums(rows, self.frame("temporary", TEMPORARY_LINE), TEMPORARY)
        # The whole stack, innermost first.
        (keep_row,) = self.rows_with(rows, self.frame("keep", KEEP_LINE))
        self.assertEqual(keep_row["frames"], [self.frame("keep", KEEP_LINE), self.frame("main", MAIN_KEEP_LINE),
                                              self.frame("<module>", MODULE_LINE)])
        (recurse_row,) = self.rows_with(rows, self.frame("recurse", RECURSE_ALLOC_LINE))
        self.assertEqual(recurse_row["frames"][:4], [self.frame("recurse", RECURSE_ALLOC_LINE)]
                         + [self.frame("recurse", RECURSE_CALL_LINE)] * 3)
        # Threads: each row names the thread that allocated it.
        (worker_row,) = self.rows_with(rows, self.frame("worker_alloc", WORKER_LINE))
        self.assertEqual(worker_row["thread_name"], "%s (worker)" % hex(int(worker_row["tid"])))
        self.assertNotEqual(worker_row["tid"], keep_row["tid"])
        self.assertRegex(keep_row["thread_name"], r"^0x[0-9a-f]+( \(.*\))?$")
        # Every number is a whole count of bytes and allocations; rows are largest first.
        sizes = [int(r["size"]) for r in rows]
        self.assertEqual(sizes, sorted(sizes, reverse=True))
        self.assertTrue(all(int(r["num_allocations"]) >= 1 for r in rows if int(r["size"]) > 0))
        self.assertTrue(all(r["allocator"].isupper() for r in rows))

    def test_csv_sums_match_the_summary_heading(self):
        """The rows add up to the snapshot `memray summary` reports (to its three decimals)."""
        output, _ = self.transform("csv")
        _, rows = read_csv(output)
        total = sum(int(r["size"]) for r in rows)
        count = sum(int(r["num_allocations"]) for r in rows)
        heading = lib.run_memray(["summary", self.capture]).stdout.splitlines()[0]
        self.assertIn("%.3fMB in %d allocations" % (total / 1e6, count), heading)

    def test_csv_leaks_and_temporary_allocations(self):
        output, _ = self.transform("csv", "--leaks")
        _, rows = read_csv(output)
        self.assertSums(rows, self.frame("keep", KEEP_LINE), KEEP)
        self.assertSums(rows, self.frame("recurse", RECURSE_ALLOC_LINE), RECURSE)
        self.assertSums(rows, self.frame("worker_alloc", WORKER_LINE), WORKER)
        self.assertSums(rows, self.frame("temporary", TEMPORARY_LINE), (0, 0))

        for flags in (["--temporary-allocations"], ["--temporary-allocation-threshold", "5"]):
            output, _ = self.transform("csv", *flags)
            _, rows = read_csv(output)
            self.assertSums(rows, self.frame("temporary", TEMPORARY_LINE), TEMPORARY)
            self.assertSums(rows, self.frame("keep", KEEP_LINE), (0, 0))

    # --- gprof2dot --------------------------------------------------------------------------

    def gprof2dot_profile(self, *flags):
        output, process = self.transform("gprof2dot", *flags)
        lines = process.stdout.splitlines()
        self.assertEqual(lines[:4], ["Wrote %s" % output, "", "To generate a graph from the transform file, run for example:",
                                     "gprof2dot -f json %s | dot -Tpng -o output.png" % output])
        with open(str(output)) as f:
            return output, json.load(f)

    def test_gprof2dot_json_is_gprof2dot_input(self):
        _, profile = self.gprof2dot_profile()
        self.assertEqual(profile["version"], 0)
        self.assertEqual(profile["costs"], [{"description": "Memory", "unit": "bytes"}])
        functions = profile["functions"]
        self.assertEqual(len({(f["name"], f["module"]) for f in functions}), len(functions), "functions are distinct")
        index = {(f["name"], f["module"]): i for i, f in enumerate(functions)}
        keep, main, module = (index[(name, self.script)] for name in ("keep", "main", "<module>"))
        recurse = index[("recurse", self.script)]
        chains = {}
        for event in profile["events"]:
            self.assertTrue(event["callchain"])
            self.assertTrue(all(0 <= i < len(functions) for i in event["callchain"]))
            chains.setdefault(tuple(event["callchain"]), []).append(event["cost"][0])
        # Innermost function first; one function per (name, file), whatever the line.
        self.assertIn(KEEP[0], chains[(keep, main, module)])
        self.assertIn(RECURSE[0], chains[(recurse,) * 4 + (main, module)])

    def test_gprof2dot_warns_about_missing_tools(self):
        """memray's advice after a gprof2dot file: a warning for each tool not on PATH."""
        empty = self.tmp / "empty-path"
        empty.mkdir(exist_ok=True)
        output = self.tmp / "no-tools.json"
        for path, missing in ((str(empty), ["gprof2dot", "Graphviz"]),
                              (os.environ.get("PATH", ""), [] if shutil.which("dot") else ["Graphviz"])):
            process = lib.run_memray(["transform", "gprof2dot", "-f", "-o", output, self.capture],
                                     env=lib.memray_env(extra={"PATH": path}))
            self.assertEqual(process.returncode, 0, process.stderr)
            self.assertIn("gprof2dot -f json %s | dot -Tpng -o output.png" % output, process.stdout)
            warnings = [line for line in process.stderr.splitlines() if line.startswith("memray transform: warning: ")]
            if not shutil.which("gprof2dot") and path != str(empty):
                missing = ["gprof2dot"] + missing
            self.assertEqual([w.split(": warning: ")[1].split()[0] for w in warnings], missing, process.stderr)

    def test_gprof2dot_and_dot_draw_the_graph(self):
        gprof2dot = which_gprof2dot()
        if gprof2dot is None:
            self.skipTest("gprof2dot is not installed (Debian does not package it): the JSON is checked "
                          "against its format only (test_gprof2dot_json_is_gprof2dot_input), not drawn")
        output, _ = self.gprof2dot_profile()
        graph = subprocess.run(gprof2dot + ["-f", "json", str(output)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, universal_newlines=True, timeout=lib.DEFAULT_TIMEOUT)
        self.assertEqual(graph.returncode, 0, graph.stderr)
        svg = subprocess.run(["dot", "-Tsvg"], input=graph.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True, timeout=lib.DEFAULT_TIMEOUT)
        self.assertEqual(svg.returncode, 0, svg.stderr)
        self.assertIn("<svg", svg.stdout)
        for name in ("keep", "recurse", "main", "temporary", "worker_alloc"):
            self.assertIn(name, svg.stdout)

    # --- speedscope -------------------------------------------------------------------------

    def speedscope_profile(self, *flags):
        output, process = self.transform("speedscope", *flags)
        self.assertEqual(process.stdout, "Wrote %s\n" % output)
        with open(str(output)) as f:
            profile = json.load(f)
        import jsonschema  # Debian's python3-jsonschema (tools/scripts/setup.sh)
        with open(str(SPEEDSCOPE_SCHEMA)) as f:
            schema = json.load(f)
        jsonschema.validate(profile, schema)
        return profile

    def sample_weights(self, profile, profile_index, frame):
        """The weight of samples whose innermost frame is FRAME, in one profile."""
        frames = profile["shared"]["frames"]
        wanted = {i for i, f in enumerate(frames)
                  if (f["name"], f.get("file"), str(f.get("line"))) == frame}
        chosen = profile["profiles"][profile_index]
        return sum(w for s, w in zip(chosen["samples"], chosen["weights"]) if s[-1] in wanted)

    def test_speedscope_is_valid_for_its_schema_and_weighs_the_known_allocations(self):
        profile = self.speedscope_profile()
        memory, allocations = profile["profiles"]
        self.assertEqual((memory["name"], memory["unit"]), ("Memory", "bytes"))
        self.assertEqual((allocations["name"], allocations["unit"]), ("Allocations", "none"))
        self.assertEqual(memory["endValue"], sum(memory["weights"]))
        self.assertEqual(allocations["endValue"], sum(allocations["weights"]))
        self.assertIn("script.py", profile["name"])
        self.assertTrue(profile["exporter"].startswith("memray@"))
        # Samples are outermost first: <module> -> main -> keep.
        frames = profile["shared"]["frames"]
        keep_samples = [s for s in memory["samples"] if frames[s[-1]]["name"] == "keep"]
        self.assertTrue(keep_samples)
        self.assertEqual([frames[i]["name"] for i in keep_samples[0][-3:]], ["<module>", "main", "keep"])
        # The bytes and counts, at least those of the known allocations (the interpreter's own
        # pymalloc arenas may share these lines).
        for frame, (size, count) in ((self.frame("keep", KEEP_LINE), KEEP),
                                     (self.frame("recurse", RECURSE_ALLOC_LINE), RECURSE),
                                     (self.frame("temporary", TEMPORARY_LINE), TEMPORARY)):
            self.assertGreaterEqual(self.sample_weights(profile, 0, frame), size)
            self.assertLess(self.sample_weights(profile, 0, frame), size + MiB)
            self.assertGreaterEqual(self.sample_weights(profile, 1, frame), count)

        leaks = self.speedscope_profile("--leaks")
        self.assertEqual(self.sample_weights(leaks, 0, self.frame("temporary", TEMPORARY_LINE)), 0)
        self.assertGreaterEqual(self.sample_weights(leaks, 0, self.frame("keep", KEEP_LINE)), KEEP[0])

    # --- the command line -------------------------------------------------------------------

    def test_default_names_refusals_and_errors(self):
        directory = self.tmp / "names"
        directory.mkdir()
        capture = directory / "memray-app.py.42.bin"
        shutil.copy(str(self.capture), str(capture))
        for fmt, name in (("csv", "memray-csv-app.py.42.csv"), ("gprof2dot", "memray-gprof2dot-app.py.42.json"),
                          ("SpeedScope", "memray-speedscope-app.py.42.speedscope.json")):
            process = lib.run_memray(["transform", fmt, capture])
            self.assertEqual(process.returncode, 0, process.stderr)
            expected = directory / name
            self.assertEqual(process.stdout.splitlines()[0], "Wrote %s" % expected)
            self.assertTrue(expected.is_file())
            again = lib.run_memray(["transform", fmt, capture])
            self.assertEqual(again.returncode, 1)
            self.assertEqual(again.stderr, "memray transform: error: File already exists, will not overwrite "
                                           "without --force: %s\n" % expected)
            forced = lib.run_memray(["transform", fmt, "-f", capture])
            self.assertEqual(forced.returncode, 0, forced.stderr)

        process = lib.run_memray(["transform", "pprof", self.capture])
        self.assertEqual(process.returncode, 2)
        self.assertEqual(process.stderr.splitlines(),
                         ["memray transform: error: Format not supported: pprof (one of gprof2dot, csv, speedscope) "
                          "(see 'memray transform --help')"])
        missing = self.tmp / "missing.bin"
        process = lib.run_memray(["transform", "csv", missing])
        self.assertEqual(process.returncode, 1)
        self.assertEqual(len(process.stderr.splitlines()), 1, process.stderr)
        self.assertIn(str(missing), process.stderr)
        for args in (["csv", "--leaks", "--temporary-allocations", self.capture],
                     ["csv", "--temporary-allocation-threshold", "0", self.capture],
                     ["csv"], []):
            process = lib.run_memray(["transform"] + args)
            self.assertEqual(process.returncode, 2, args)
            self.assertEqual(len(process.stderr.splitlines()), 1, process.stderr)
        help_text = lib.run_memray(["transform", "--help"]).stdout
        for option in ("--output", "--force", "--leaks", "--temporary-allocations",
                       "--temporary-allocation-threshold", "csv", "gprof2dot", "speedscope"):
            self.assertIn(option, help_text)
        self.assertIn("transform", lib.run_memray(["--help"]).stdout)


class AwkwardPathTestCase(lib.TempDirTestCase):
    """A script whose path holds what csv must quote and JSON must escape: a comma, double
    quotes, a backslash and non-ASCII text. The consumers read the path back as it is."""

    def test_paths_survive_quoting_and_escaping(self):
        directory = self.tmp / 'a,b "quoted" back\\slash \u00e9t\u00e9'
        result = lib.run_script(directory, PROGRAM)
        self.assertEqual(result.process.returncode, 0, result.process.stderr)
        script = str(result.script)
        csv_path, profile_path = self.tmp / "awkward.csv", self.tmp / "awkward.speedscope.json"
        for fmt, output in (("csv", csv_path), ("speedscope", profile_path)):
            process = lib.run_memray(["transform", fmt, "-o", output, result.capture])
            self.assertEqual(process.returncode, 0, process.stderr)
        _, rows = read_csv(csv_path)
        keep = [r for r in rows if ("keep", script, str(KEEP_LINE)) in r["frames"] and r["allocator"] == "MALLOC"]
        self.assertEqual([(int(r["size"]), int(r["num_allocations"])) for r in keep], [KEEP])
        with open(str(profile_path), encoding="utf-8") as f:
            profile = json.load(f)
        self.assertIn({"name": "keep", "file": script, "line": KEEP_LINE}, profile["shared"]["frames"])


class NativeTransformTestCase(lib.SharedCaptureTestCase):
    """A --native capture: the stacks are hybrid, the Python frames still where they were."""

    PROGRAM = PROGRAM
    OPTIONS = ("--native",)

    def test_hybrid_stacks_keep_the_python_frames(self):
        output = self.tmp / "native.csv"
        process = lib.run_memray(["transform", "csv", "-o", output, self.capture])
        self.assertEqual(process.returncode, 0, process.stderr)
        _, rows = read_csv(output)
        keep = (("keep", self.script, str(KEEP_LINE)))
        matching = [r for r in rows if keep in r["frames"] and r["allocator"] == "MALLOC"]
        self.assertEqual((sum(int(r["size"]) for r in matching), sum(int(r["num_allocations"]) for r in matching)),
                         KEEP)
        # Native frames below keep (the allocator's callers in the interpreter), keep above them.
        (row,) = matching
        position = row["frames"].index(keep)
        self.assertGreater(position, 0, row["frames"])
        self.assertEqual(row["frames"][position + 1][0], "main")

        profile_path = self.tmp / "native.speedscope.json"
        process = lib.run_memray(["transform", "speedscope", "-o", profile_path, self.capture])
        self.assertEqual(process.returncode, 0, process.stderr)
        import jsonschema
        with open(str(SPEEDSCOPE_SCHEMA)) as f:
            schema = json.load(f)
        with open(str(profile_path)) as f:
            jsonschema.validate(json.load(f), schema)


class AggregatedTransformTestCase(lib.SharedCaptureTestCase):
    """An --aggregate capture: peak and leaks as from the records, temporary allocations refused."""

    PROGRAM = PROGRAM
    OPTIONS = ("--aggregate",)

    def test_peak_and_leaks_work_and_temporary_is_refused(self):
        for flags in ([], ["--leaks"]):
            output = self.tmp / ("aggregate%s.csv" % "-".join(flags))
            process = lib.run_memray(["transform", "csv", "-o", output] + flags + [self.capture])
            self.assertEqual(process.returncode, 0, process.stderr)
            _, rows = read_csv(output)
            keep = ("keep", self.script, str(KEEP_LINE))
            matching = [r for r in rows if keep in r["frames"] and r["allocator"] == "MALLOC"]
            self.assertEqual((sum(int(r["size"]) for r in matching),
                              sum(int(r["num_allocations"]) for r in matching)), KEEP)
        process = lib.run_memray(["transform", "speedscope", "--temporary-allocations", "-o",
                                  self.tmp / "refused.json", self.capture])
        self.assertEqual(process.returncode, 1)
        self.assertEqual(process.stderr,
                         "memray transform: error: %s was captured with --aggregate, which keeps only what peak and "
                         "leaks reports need; a temporary allocations report needs every allocation\n" % self.capture)
        self.assertFalse((self.tmp / "refused.json").exists())


if __name__ == "__main__":
    unittest.main()
