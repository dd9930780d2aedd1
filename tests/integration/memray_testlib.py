"""Helpers shared by the integration tests (standard library only).

The tests run under MEMRAY_TEST_DRIVER, and learn from the environment what to test
(tests/CMakeLists.txt, memray_add_python_test):

    MEMRAY_BUILD_DIR     the build tree: bin/memray, lib/libmemray_payload.so
    MEMRAY_TEST_PYTHON   the interpreter under test (default: the one running the tests)
    MEMRAY_SOURCE_DIR    the source tree

Typical use:

    class MyTests(memray_testlib.TempDirTestCase):
        def test_something(self):
            result = memray_testlib.run_script(self.tmp, "x = [0] * 1000")
            self.assertEqual(result.process.returncode, 0, result.process.stderr)
            capture = memray_testlib.parse_capture(result.capture)
            self.assertTrue(capture.allocations)
"""

import collections
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hang_report  # noqa: E402

SOURCE_DIR = Path(os.environ.get("MEMRAY_SOURCE_DIR") or Path(__file__).resolve().parents[2])
# Absolute: commands run from other directories (attach runs from /).
BUILD_DIR = Path(os.environ.get("MEMRAY_BUILD_DIR") or SOURCE_DIR / "build").resolve()

# Generous: a loaded CI machine running seven interpreters' worth of tests in parallel.
DEFAULT_TIMEOUT = 120


def memray_binary():
    """The memray executable of the build under test."""
    return str(BUILD_DIR / "bin" / "memray")


def test_python():
    """The interpreter under test (an absolute path)."""
    return os.environ.get("MEMRAY_TEST_PYTHON") or sys.executable


@functools.lru_cache(maxsize=None)
def python_version(python=None):
    """(major, minor) of `python` (default: the interpreter under test)."""
    out = subprocess.run(
        [python or test_python(), "-c", "import sys; print('%d %d' % sys.version_info[:2])"],
        check=True, stdout=subprocess.PIPE, universal_newlines=True,
    ).stdout.split()
    return int(out[0]), int(out[1])


@functools.lru_cache(maxsize=None)
def profile_slot_offset(python=None):
    """Where PyThreadState keeps its profile function in `python` (default: the interpreter
    under test), from the payload's layout table; None from 3.12 on, where memray does not use
    it (tests/integration/profile_slots.py reads it)."""
    minor = python_version(python)[1]
    dump = subprocess.run([str(BUILD_DIR / "bin" / "python_frames_layout_dump"), str(minor)], check=True,
                          stdout=subprocess.PIPE, universal_newlines=True).stdout
    for line in dump.splitlines():
        key, value = line.split()
        if key == "tstate.c_profilefunc":
            return int(value)
    return None


def real_payload():
    """The real payload, where the CLI finds it in a build tree."""
    return BUILD_DIR / "lib" / "libmemray_payload.so"


def stand_in_payload():
    """TEST FIXTURE ONLY (tests/integration/cli_stand_in_payload.c): exports the payload's
    C API, creates the output file with the configuration it was given, and tracks nothing.
    For testing the CLI's plumbing; never for tests of what a capture contains."""
    return BUILD_DIR / "tests" / "cli" / "libmemray_cli_test_stand_in_payload.so"


def memray_env(payload=None, extra=None):
    """The environment for a memray command: this one, without MEMRAY_* overrides unless
    `payload` is given (then MEMRAY_PAYLOAD=payload), plus `extra` (a None value removes)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMRAY_")}
    # Keep the variables that tell the tests where things are; memray itself ignores them.
    for key in ("MEMRAY_BUILD_DIR", "MEMRAY_TEST_PYTHON", "MEMRAY_SOURCE_DIR"):
        if key in os.environ:
            env[key] = os.environ[key]
    if payload is not None:
        env["MEMRAY_PAYLOAD"] = str(payload)
    for key, value in (extra or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_explained(command, cwd=None, env=None, input=None, timeout=DEFAULT_TIMEOUT, preexec_fn=None, involved=()):
    """subprocess.run(COMMAND) with text output, except that a command still running after
    TIMEOUT seconds fails the test with the stack of every thread of every process it started,
    and of the processes INVOLVED (pids, e.g. an attach's target) and theirs (hang_report),
    instead of a bare TimeoutExpired that explains nothing."""
    process = subprocess.Popen(
        [str(a) for a in command],
        cwd=None if cwd is None else str(cwd),
        env=env,
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        preexec_fn=preexec_fn,
    )
    stdout, stderr = communicate_explained(process, input, timeout, involved)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def communicate_explained(process, input=None, timeout=DEFAULT_TIMEOUT, involved=()):
    """process.communicate(INPUT, TIMEOUT) for a Popen started by a test; past the timeout, the
    test fails with every thread's stack of the process, the processes INVOLVED and all below
    them, and the process tree is killed."""
    try:
        return process.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        stacks = "\n".join(hang_report.describe_tree(pid) for pid in [process.pid] + list(involved))
        hang_report.kill_tree(process.pid)
        stdout, stderr = process.communicate()
        raise AssertionError("%s did not finish within %s s.\nstdout: %s\nstderr: %s\n%s"
                             % (" ".join(str(a) for a in process.args), timeout, (stdout or "")[-3000:],
                                (stderr or "")[-3000:], stacks))


def read_line(process, timeout=DEFAULT_TIMEOUT, stream=None):
    """The next line of a Popen's stdout (or STREAM, e.g. its stderr; text mode). If none comes
    within TIMEOUT seconds, the test fails with every thread's stack of the process and all below
    it, which are killed."""
    stacks = []

    def expire():
        stacks.append(hang_report.describe_tree(process.pid))
        hang_report.kill_tree(process.pid)
    timer = threading.Timer(timeout, expire)
    timer.start()
    try:
        line = (stream or process.stdout).readline()
    finally:
        timer.cancel()
    if stacks:
        raise AssertionError("no line from %s within %s s:\n%s"
                             % (" ".join(str(a) for a in process.args), timeout, stacks[0]))
    return line


def run_memray(args, cwd=None, env=None, input=None, timeout=DEFAULT_TIMEOUT, payload=None):
    """Runs `memray ARGS`; returns the subprocess.CompletedProcess (text output)."""
    return run_explained([memray_binary()] + list(args), cwd=cwd,
                         env=env if env is not None else memray_env(payload), input=input, timeout=timeout)


def run_python(args, cwd=None, env=None, input=None, timeout=DEFAULT_TIMEOUT):
    """Runs the interpreter under test directly, for comparison with `memray run`."""
    return run_explained([test_python()] + list(args), cwd=cwd,
                         env=env if env is not None else memray_env(), input=input, timeout=timeout)


def write_file(path, text):
    """Writes dedented `text` to `path` (creating directories); returns the Path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


RunResult = collections.namedtuple("RunResult", "process capture script")


def run_script(directory, source, args=(), options=(), output="capture.bin", payload=None,
               cwd=None, input=None, env=None, timeout=DEFAULT_TIMEOUT):
    """Writes `source` (dedented) to DIRECTORY/script.py and runs
    `memray run --python PY -q -o DIRECTORY/OUTPUT OPTIONS script.py ARGS` in `cwd`
    (default DIRECTORY) with the real payload unless `payload` says otherwise.
    Returns RunResult(process, capture path, script path)."""
    directory = Path(directory)
    script = write_file(directory / "script.py", source)
    # `from capture_waits import wait_for_samples` in SOURCE: waits on the capture (see there).
    shutil.copy(str(Path(__file__).resolve().parent / "capture_waits.py"), str(directory / "capture_waits.py"))
    capture = directory / output
    process = run_memray(
        ["run", "--python", test_python(), "-q", "-o", capture] + list(options)
        + [script] + list(args),
        cwd=cwd or directory, input=input, timeout=timeout,
        env=env if env is not None else memray_env(payload),
    )
    return RunResult(process, capture, script)


class TempDirTestCase(unittest.TestCase):
    """A test case with a fresh temporary directory in self.tmp (a resolved Path)."""

    def setUp(self):
        super().setUp()
        tmp = tempfile.mkdtemp(prefix="memray-test-")
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        self.tmp = Path(tmp).resolve()


class SharedCaptureTestCase(unittest.TestCase):
    """A test case whose tests only read one capture, made once for the class: the subclass sets
    PROGRAM (and OPTIONS for `memray run`); the tests find cls.capture, cls.script and cls.tmp."""

    PROGRAM = ""
    OPTIONS = ()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = Path(tempfile.mkdtemp(prefix="memray-test-")).resolve()
        result = run_script(cls.tmp, cls.PROGRAM, options=cls.OPTIONS)
        if result.process.returncode != 0:
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise AssertionError("memray run %s failed: %s" % (" ".join(cls.OPTIONS), result.process.stderr))
        cls.capture = result.capture
        cls.script = str(result.script)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()


# --- memray parse --------------------------------------------------------------------------
#
# `memray parse FILE` prints one record per line (reader/include/memray/reader/record_text.h):
#     KIND key=value key="quoted \" \\ \xNN" ...
# Numbers are decimal or 0x-hex; strings are always quoted. The parser below does not depend
# on the order of the fields, and keeps unknown kinds and fields.


class Record(dict):
    """One parsed line: the fields as a dict, the record kind in .kind."""

    def __init__(self, kind, fields):
        super().__init__(fields)
        self.kind = kind

    def __repr__(self):
        return "Record(%r, %s)" % (self.kind, dict.__repr__(self))


def _unquote(text, start):
    """Reads a quoted string starting at text[start] == '"'; returns (value, next index)."""
    out = bytearray()
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == '"':
            return out.decode("utf-8", "surrogateescape"), i + 1
        if c == "\\" and i + 1 < len(text):
            n = text[i + 1]
            if n == "x" and i + 3 < len(text):
                out.append(int(text[i + 2:i + 4], 16))
                i += 4
                continue
            out.extend(n.encode("utf-8", "surrogateescape"))
            i += 2
            continue
        out.extend(c.encode("utf-8", "surrogateescape"))
        i += 1
    raise ValueError("unterminated string in %r" % text)


def _convert(value):
    try:
        if value.startswith("0x"):
            return int(value, 16)
        return int(value)
    except ValueError:
        return value


def parse_line(line):
    """Parses one line of `memray parse` output into a Record."""
    line = line.rstrip("\n")
    kind, _, rest = line.partition(" ")
    fields = {}
    i = 0
    while i < len(rest):
        if rest[i] == " ":
            i += 1
            continue
        equals = rest.index("=", i)
        key = rest[i:equals]
        i = equals + 1
        if i < len(rest) and rest[i] == '"':
            value, i = _unquote(rest, i)
        else:
            end = rest.find(" ", i)
            end = len(rest) if end < 0 else end
            value = _convert(rest[i:end])
            i = end
        fields[key] = value
    return Record(kind, fields)


class Capture:
    """A parsed capture: .records in file order, plus indexes for the common questions."""

    def __init__(self, records):
        self.records = records
        self.header = next((r for r in records if r.kind == "HEADER"), None)
        self.end = next((r for r in records if r.kind == "END"), None)
        self.codes = {r["id"]: r for r in records if r.kind == "CODE"}
        self.frames = {r["id"]: r for r in records if r.kind == "FRAME"}
        self.stacks = {r["id"]: r for r in records if r.kind == "STACK"}
        self.allocations = [r for r in records if r.kind == "ALLOCATION"]
        self.deallocations = [r for r in records if r.kind == "DEALLOCATION"]

    def of_kind(self, kind):
        return [r for r in self.records if r.kind == kind]

    def stack(self, stack_id):
        """The Python frames of a stack, innermost first, as (function, file, line)."""
        frames = []
        seen = set()
        while stack_id and stack_id not in seen:
            seen.add(stack_id)
            node = self.stacks[stack_id]
            frame = self.frames[node["frame"]]
            code = self.codes[frame["code"]]
            frames.append((code["name"], code["file"], frame["line"]))
            stack_id = node["parent"]
        return frames


def run_parse(capture, timeout=DEFAULT_TIMEOUT):
    """Runs `memray parse CAPTURE` (stdout to a pipe, as it requires)."""
    return run_memray(["parse", capture], timeout=timeout)


def parse_capture(capture, timeout=DEFAULT_TIMEOUT):
    """Runs `memray parse CAPTURE` and returns a Capture; raises AssertionError if it fails."""
    process = run_parse(capture, timeout=timeout)
    if process.returncode != 0:
        raise AssertionError("memray parse %s failed (%d): %s"
                             % (capture, process.returncode, process.stderr))
    return Capture([parse_line(line) for line in process.stdout.splitlines() if line])
