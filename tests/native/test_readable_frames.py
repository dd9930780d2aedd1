"""Native frames a person can read, on real captures of a real program: Python calling the
program's own C library through ctypes (tests/native/readable_frames_probe.c, built here with
debug info), with a C function between two Python frames, Python code that makes the
interpreter allocate, and a C library that only MiniDebugInfo can name.

  * Every report hides the unnamed native frames of the interpreter's own image
    ("python3.11+0x1a2b3c" in Debian's stripped static /usr/bin/python3.11) and keeps the
    program's C functions with their file and line; `memray tree --show-all-frames` and the
    flame graph's "Hide irrelevant frames" checkbox show them again.
  * A local function of a library whose symbol table and debug info were stripped, leaving a
    MiniDebugInfo section (.gnu_debugdata) as Fedora's find-debuginfo makes it, is named.
  * `memray tree` folds long chains without hiding the C function that has a source location.
"""

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import html_report_lib as html  # noqa: E402
import memray_testlib as lib  # noqa: E402

HERE = Path(__file__).resolve().parent
PROBE_SOURCE = HERE / "readable_frames_probe.c"
DUMP = lib.BUILD_DIR / "bin" / "memray-hybrid-dump"
NODE = os.environ.get("MEMRAY_NODE", "node")

# Distinct sizes, so each allocation is found by its size; big enough to be drawn wide.
DIRECT = 7340033      # <module> -> c_caller -> make_buffer
CALLBACK = 6291469    # <module> -> through_c -> visit_with -> from_c -> make_buffer
PYTHON = 5242883      # <module> -> Holder() -> __init__ -> bytearray (the interpreter allocates)
MINI = 4194319        # -> through_local_function -> local_allocator, named by MiniDebugInfo
STRIPPED = 3145739    # the same in a copy stripped without MiniDebugInfo: no name

PROGRAM = """\
import ctypes

def load(path):
    library = ctypes.CDLL(path)
    for name in ("make_buffer", "through_local_function"):
        getattr(library, name).restype = ctypes.c_void_p
        getattr(library, name).argtypes = [ctypes.c_size_t]
    return library

probe = load("PROBE")
mini = load("MINI_LIBRARY")
stripped = load("STRIPPED_LIBRARY")
CALLBACK_TYPE = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_size_t)
probe.visit_with.restype = ctypes.c_void_p
probe.visit_with.argtypes = [CALLBACK_TYPE, ctypes.c_size_t]

def from_c(size):
    return probe.make_buffer(size)

callback = CALLBACK_TYPE(from_c)

def c_caller():
    return probe.make_buffer(%(direct)d)

def through_c():
    return probe.visit_with(callback, %(callback)d)

class Holder:
    def __init__(self):
        self.data = bytearray(%(python)d)

kept = [c_caller(), through_c(), Holder(), mini.through_local_function(%(mini)d),
        stripped.through_local_function(%(stripped)d)]
""" % {"direct": DIRECT, "callback": CALLBACK, "python": PYTHON, "mini": MINI, "stripped": STRIPPED}


def marker_line(source, marker):
    for number, text in enumerate(Path(source).read_text().splitlines(), 1):
        if text.rstrip().endswith("LINE:%s" % marker):
            return number
    raise AssertionError("no LINE:%s in %s" % (marker, source))


def caller_line(tree, pattern):
    """The line of `memray tree`'s text whose frame called the frame of the line matching
    `pattern`: the line before a chain line ("↳"), or, for a node line ("├──"/"└──"), its parent
    node line one level up or the last chain line of that parent."""
    lines = tree.splitlines()
    index = next(i for i, line in enumerate(lines) if re.search(pattern, line))

    def marker(line):
        found = re.search(r"[├└↳⋮]", line)
        return (found.start(), found.group()) if found else (-1, "")

    column, kind = marker(lines[index])
    if kind == "↳":
        return lines[index - 1]
    for line in reversed(lines[:index]):
        at, what = marker(line)
        if (what in "↳⋮" and at == column) or (what in "├└" and at == column - 4):
            return line
    raise AssertionError("no caller of %r in\n%s" % (pattern, tree))


def run(args):
    subprocess.run([str(a) for a in args], check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def make_minidebuginfo_library(source, output, workdir):
    """Builds `source` into `output` the way Fedora's find-debuginfo ships a library: debug info
    and the full symbol table stripped, the function symbols that .dynsym lacks kept in a small
    ELF compressed with xz into the .gnu_debugdata section."""
    run(["cc", "-g", "-O2", "-fPIC", "-shared", "-o", output, source])
    dynamic = subprocess.run(["nm", "-D", "--format=posix", "--defined-only", str(output)], check=True,
                             stdout=subprocess.PIPE, universal_newlines=True).stdout
    everything = subprocess.run(["nm", "--format=posix", "--defined-only", str(output)], check=True,
                                stdout=subprocess.PIPE, universal_newlines=True).stdout
    exported = {line.split()[0] for line in dynamic.splitlines() if line.strip()}
    functions = {fields[0] for fields in (line.split() for line in everything.splitlines())
                 if len(fields) > 1 and fields[1] in ("T", "t")}
    keep = workdir / "keep_symbols"
    keep.write_text("".join(name + "\n" for name in sorted(functions - exported)))
    debug = workdir / "debug.elf"
    mini = workdir / "mini.elf"
    run(["objcopy", "--only-keep-debug", output, debug])
    run(["objcopy", "-S", "--remove-section", ".gdb_index", "--remove-section", ".comment",
         "--keep-symbols=%s" % keep, debug, mini])
    run(["strip", "--strip-all", "-R", ".comment", output])
    run(["xz", "-f", mini])
    run(["objcopy", "--add-section", ".gnu_debugdata=%s.xz" % mini, output])
    return sorted(functions - exported)


def section_names(path):
    out = subprocess.run(["readelf", "-S", "-W", str(path)], check=True, stdout=subprocess.PIPE,
                         universal_newlines=True).stdout
    return set(re.findall(r"\]\s+(\S+)", out))


def interpreter_is_static():
    out = subprocess.run([lib.test_python(), "-c",
                          "print(any('libpython' in line for line in open('/proc/self/maps')))"],
                         check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout
    return out.strip() == "False"


def interpreter_image_names():
    """The basenames of the interpreter's own image (its executable, and libpython if shared)."""
    out = subprocess.run([lib.test_python(), "-c", "import os, sys\n"
                          "names = {os.path.basename(os.path.realpath(sys.executable))}\n"
                          "for line in open('/proc/self/maps'):\n"
                          "    if 'libpython' in line: names.add(os.path.basename(line.split()[-1]))\n"
                          "print('\\n'.join(names))"],
                         check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout
    return out.split()


class ReadableNativeFramesTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="memray-readable-frames-")).resolve()
        cls.probe = cls.tmp / "libreadable_probe.so"
        cls.mini = cls.tmp / "libreadable_mini.so"
        cls.stripped = cls.tmp / "libreadable_stripped.so"
        run(["cc", "-g", "-O2", "-fPIC", "-shared", "-o", cls.probe, PROBE_SOURCE])
        cls.mini_only = make_minidebuginfo_library(PROBE_SOURCE, cls.mini, cls.tmp)
        run(["cc", "-g", "-O2", "-fPIC", "-shared", "-o", cls.stripped, PROBE_SOURCE])
        run(["strip", "--strip-all", cls.stripped])
        source = (PROGRAM.replace("PROBE", str(cls.probe)).replace("MINI_LIBRARY", str(cls.mini))
                  .replace("STRIPPED_LIBRARY", str(cls.stripped)))
        result = lib.run_script(cls.tmp, source, options=["--native"])
        if result.process.returncode != 0:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise AssertionError("memray run --native failed: %s" % result.process.stderr)
        cls.capture = result.capture
        cls.static = interpreter_is_static()
        # "python3.11+0x1a2b3c": an unnamed frame of the interpreter's own image.
        cls.unnamed_interpreter = re.compile(
            r"(?:%s)\+0x[0-9a-f]+" % "|".join(re.escape(name) for name in interpreter_image_names()))
        cls.source = str(PROBE_SOURCE)
        cls.make_buffer_line = marker_line(PROBE_SOURCE, "make_buffer")
        cls.visit_with_line = marker_line(PROBE_SOURCE, "visit_with")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def memray(self, *args):
        process = lib.run_memray([str(a) for a in args],
                                 env=lib.memray_env(extra={"COLUMNS": "400", "LINES": "200"}))
        self.assertEqual(process.returncode, 0, process.stderr)
        return process.stdout

    def tree_section(self, tree, function):
        """The lines of `tree` from the one naming `function` down to the next 📂/📄 line."""
        lines = tree.splitlines()
        start = next(i for i, line in enumerate(lines) if re.search(r"[📂📄].* %s  " % function, line))
        end = next((i for i in range(start + 1, len(lines)) if "📄" in lines[i]), len(lines) - 1)
        return lines[start:end + 1]

    # --- the unnamed interpreter frames --------------------------------------------------

    def test_the_capture_has_unnamed_interpreter_frames_only_on_a_stripped_interpreter(self):
        """The premise: memray-hybrid-dump --all-frames shows every frame of every stack."""
        dump = subprocess.run([str(DUMP), str(self.capture), "--all-frames"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, timeout=lib.DEFAULT_TIMEOUT)
        self.assertEqual(dump.returncode, 0, dump.stderr)
        found = self.unnamed_interpreter.findall(dump.stdout)
        if self.static:
            self.assertTrue(found, dump.stdout)
        else:
            self.assertEqual(found, [], "a pyenv build's libpython has its symbol table")
        default = subprocess.run([str(DUMP), str(self.capture)], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, universal_newlines=True, timeout=lib.DEFAULT_TIMEOUT)
        self.assertEqual(default.returncode, 0, default.stderr)
        self.assertEqual(self.unnamed_interpreter.findall(default.stdout), [], default.stdout)

    def test_tree_hides_them_and_keeps_the_c_function_with_its_line(self):
        tree = self.memray("tree", self.capture)
        self.assertEqual(self.unnamed_interpreter.findall(tree), [], tree)
        self.assertIn("[native] make_buffer  %s:%d" % (self.source, self.make_buffer_line), tree)
        self.assertIn("__init__", tree)
        everything = self.memray("tree", "--show-all-frames", self.capture)
        self.assertIn("[native] make_buffer  %s:%d" % (self.source, self.make_buffer_line), everything)
        if self.static:
            self.assertRegex(everything, self.unnamed_interpreter)
            # Holder() reaches __init__ through the interpreter's own unnamed helpers (type_call,
            # slot_tp_init...): hidden by default, the frame above __init__ is then <module>.
            self.assertRegex(caller_line(everything, r"__init__  .*script\.py:"), self.unnamed_interpreter, everything)
            self.assertIn("<module>  ", caller_line(tree, r"__init__  .*script\.py:"), tree)
            self.assertRegex(tree, r"frames? of the import system, of start-up, of the interpreter's machinery")

    def test_summary_stats_and_transform_hide_them(self):
        summary = self.memray("summary", "-r", "500", self.capture)
        self.assertEqual(self.unnamed_interpreter.findall(summary), [], summary)
        self.assertIn("[native] make_buffer at %s" % self.source, summary)
        stats = self.memray("stats", "-n", "50", self.capture)
        self.assertEqual(self.unnamed_interpreter.findall(stats), [], stats)
        self.assertIn("[native] make_buffer:%s:%d" % (self.source, self.make_buffer_line), stats)
        # bytearray's buffer is charged to the named function that called the allocator.
        self.assertIn("[native] PyByteArray_Resize", stats)

        out = self.tmp / "frames.csv"
        self.memray("transform", "csv", "-f", "-o", out, self.capture)
        with open(out, newline="") as f:
            text = f.read()
        self.assertEqual(self.unnamed_interpreter.findall(text), [], text[:2000])
        rows = list(csv.reader(text.splitlines()))
        self.assertTrue([row for row in rows if any("make_buffer" in field for field in row)], text[:2000])
        for kind in ("speedscope", "gprof2dot"):
            out = self.tmp / ("frames-%s.json" % kind)
            self.memray("transform", kind, "-f", "-o", out, self.capture)
            text = out.read_text()
            json.loads(text)
            self.assertEqual(self.unnamed_interpreter.findall(text), [], kind)
            self.assertIn("make_buffer", text, kind)

    def test_html_data_flags_them_and_the_table_never_shows_them(self):
        flame = self.tmp / "flame.html"
        self.memray("flamegraph", "-f", "-o", flame, self.capture)
        data = html.report_data(flame)
        strings, frames = data["strings"], data["frames"]
        flagged = [i for i, f in enumerate(frames["flags"]) if f & 8]
        unnamed = [i for i, name in enumerate(frames["function"]) if self.unnamed_interpreter.fullmatch(strings[name])]
        if self.static:
            self.assertTrue(flagged, "the flame graph keeps them, flagged, for its checkbox")
        # Every flagged frame is an unnamed native interpreter frame, and every such frame below
        # a Python frame is flagged (one outside Python, in a thread that never ran it, would not be).
        for i in flagged:
            self.assertTrue(frames["flags"][i] & 4)
            self.assertRegex(strings[frames["function"][i]], self.unnamed_interpreter)
        self.assertEqual(set(unnamed) - set(flagged), set(), [strings[frames["function"][i]] for i in unnamed])
        table = self.tmp / "table.html"
        self.memray("table", "-f", "-o", table, self.capture)
        data = html.report_data(table)
        names = [data["strings"][data["frames"]["function"][frame]] for frame in data["table"]["frame"] if frame >= 0]
        self.assertEqual([n for n in names if self.unnamed_interpreter.fullmatch(n)], [], names)
        self.assertIn("make_buffer", names)

    def test_flame_graph_checkbox_in_chromium(self):
        flame = self.tmp / "flame-browser.html"
        self.memray("flamegraph", "-f", "-o", flame, self.capture)
        screenshots = lib.BUILD_DIR / "tests" / "web-screenshots" / ("unnamed-frames-%s" % ("static" if self.static else "shared"))
        checker = lib.SOURCE_DIR / "tests" / "web" / "check_unnamed_frames.mjs"
        args = [NODE, str(checker), "--report", str(flame), "--hidden", "^(?:%s)$" % self.unnamed_interpreter.pattern,
                "--keep", "make_buffer", "--keep", "visit_with", "--keep", "__init__", "--screenshots", str(screenshots)]
        if self.static:
            args.append("--expect-hidden")
        process = lib.run_explained(args, env=dict(os.environ), timeout=600)
        print(process.stdout)
        self.assertEqual(process.returncode, 0, process.stdout + process.stderr)

    # --- MiniDebugInfo --------------------------------------------------------------------

    def test_minidebuginfo_names_a_local_function(self):
        sections = section_names(self.mini)
        self.assertIn(".gnu_debugdata", sections)
        self.assertNotIn(".symtab", sections)
        self.assertFalse([s for s in sections if s.startswith(".debug_")], sections)
        self.assertIn("local_allocator", self.mini_only, "the local function is only in the mini symbol table")
        tree = self.memray("tree", "--show-all-frames", self.capture)
        mini = [line for line in tree.splitlines() if "local_allocator" in line]
        self.assertTrue(mini, tree)
        # Its copy stripped without MiniDebugInfo: the object and offset only.
        self.assertRegex(tree, r"\[native\] libreadable_stripped\.so\+0x[0-9a-f]+")
        stats = self.memray("stats", "-n", "50", self.capture)
        self.assertIn("[native] local_allocator", stats)

    # --- folding long chains ----------------------------------------------------------------

    def test_folding_keeps_the_c_function_between_python_frames(self):
        tree = self.memray("tree", self.capture)
        section = self.tree_section(tree, "through_c")
        text = "\n".join(section)
        self.assertIn("[native] visit_with  %s:%d" % (self.source, self.visit_with_line), text)
        self.assertIn("from_c  ", text)
        self.assertIn("[native] make_buffer  %s:%d" % (self.source, self.make_buffer_line), text)
        everything = "\n".join(self.tree_section(self.memray("tree", "--show-all-frames", self.capture), "through_c"))
        # ctypes' and libffi's frames make the chain long enough to fold.
        self.assertGreater(len(everything.splitlines()), 7, everything)
        self.assertIn("more call", text)
        self.assertNotIn("more call", everything)


if __name__ == "__main__":
    unittest.main()
