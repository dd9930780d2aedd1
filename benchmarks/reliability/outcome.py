"""Runs one `memray` command on one file, bounded in time and memory, and says what happened.

Classes (the fuzz's goal is none of the last four):
  success       exit 0; stderr empty or only "memray CMD: warning: ..." lines; the output whole
                (an HTML report holds data that parses as JSON; parse ends with its END line)
  clean_error   exit 1 and exactly one line on stderr, "memray CMD: error: ...", that leaks no
                internals (C++ exception names, library messages)
  crash         killed by a signal (SIGSEGV, SIGABRT from an uncaught exception or a failed
                assertion, ...) or an exit status other than 0 and 1
  hang          still running at the timeout
  unclean       exit 0 or 1 with anything else on stderr (more lines, another prefix, a leaked
                exception name), or exit 0 with a broken output
  memory        peak RSS over the limit, or an allocation refused by the address-space limit
"""

import csv
import json
import os
import re
import signal
import subprocess
import tempfile
import time

CLASSES = ["success", "clean_error", "crash", "hang", "unclean", "memory"]
DEFECTS = ["crash", "hang", "unclean", "memory"]

# Text that only an escaped C++ or library exception would put in a message.
LEAKED_INTERNALS = re.compile(r"\w::\w|bad_alloc|\bbasic_\w+|_M_|json\.exception|terminate called|"
                              r"what\(\)|Assertion|AddressSanitizer|runtime error:|\bnullptr\b|0x[0-9a-f]{12}")
MEMORY_WORDS = re.compile(r"bad_alloc|cannot allocate|out of memory", re.IGNORECASE)
# C0 controls but tab and newline, DEL, and the C1 controls as UTF-8 (U+0080-U+009F: CSI is one).
CONTROL_CHARACTERS = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")
DATA_SCRIPT = re.compile(rb'<script type="application/json" id="memray-data">(.*?)</script>', re.DOTALL)


class Result:
    def __init__(self, kind, detail, seconds, max_rss_mib, returncode):
        self.kind = kind
        self.detail = detail
        self.seconds = seconds
        self.max_rss_mib = max_rss_mib
        self.returncode = returncode


# Options each command is also run with (a case draws one, or none): the analyses they select
# (leaks, temporary allocations, memory over time, threads apart) read the same records
# differently.
VARIANTS = {
    "stats": [["--json"], ["-n", "1"]],
    "flamegraph": [["--temporal"], ["--leaks"], ["--temporary-allocations"], ["--split-threads"],
                   ["--temporal", "--leaks"], ["--inverted", "--max-memory-records", "3"]],
    "table": [["--leaks"], ["--temporary-allocations"], ["--split-threads"]],
    "tree": [["--leaks"], ["--temporary-allocation-threshold", "3"], ["-b", "1", "--show-all-frames"]],
    "summary": [["--leaks"], ["--temporary-allocations"], ["-s", "5", "-r", "1"]],
    "parse": [],
    # The first option is the format (csv when none is drawn).
    "transform": [["gprof2dot"], ["speedscope"], ["speedscope", "--leaks"], ["csv", "--temporary-allocations"]],
}


def command_argv(memray, command, options, capture, output):
    """The argv that runs `command` with `options` on `capture`; reports go to `output`."""
    if command == "transform":
        return [memray, command, *(options or ["csv"]), "-f", "-o", output, capture]
    if command in ("flamegraph", "table") or "--json" in options:
        return [memray, command, *options, "-f", "-o", output, capture]
    return [memray, command, *options, capture]


def _wait(process, timeout):
    """(status, rusage, timed_out): waits with os.wait4 (which Popen.wait does not use) so the
    child's own peak RSS is known."""
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return status, usage, False
        if time.monotonic() > deadline:
            process.kill()
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
            return status, usage, True
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def run(memray, command, options, capture, scratch, timeout, memory_limit_mib):
    name = command
    output = os.path.join(scratch, "report.out")
    if os.path.exists(output):
        os.unlink(output)
    argv = ["prlimit", "--as=%d" % (memory_limit_mib * 2 << 20), "--core=0"] + \
        command_argv(memray, command, options, capture, output)
    with tempfile.TemporaryFile(dir=scratch) as out, tempfile.TemporaryFile(dir=scratch) as err:
        start = time.monotonic()
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=scratch)
        status, usage, timed_out = _wait(process, timeout)
        seconds = time.monotonic() - start
        err.seek(0)
        stderr = err.read().decode(errors="replace")
        out.seek(0)
        stdout = out.read(64 << 20)
    rss = usage.ru_maxrss / 1024
    code = process.returncode

    def result(kind, detail):
        return Result(kind, detail, seconds, rss, code)

    lines = stderr.splitlines()
    if timed_out:
        return result("hang", "no exit after %.0f s" % timeout)
    if code < 0:
        return result("crash", "killed by %s; stderr: %s" % (signal.Signals(-code).name, stderr.strip()[-300:]))
    if rss > memory_limit_mib or MEMORY_WORDS.search(stderr):
        return result("memory", "peak RSS %.0f MiB; stderr: %s" % (rss, stderr.strip()[-300:]))
    if code not in (0, 1):
        return result("crash", "exit status %d; stderr: %s" % (code, stderr.strip()[-300:]))
    prefix = "memray %s: " % name
    if code == 1:
        if len(lines) != 1 or not lines[0].startswith(prefix + "error: "):
            return result("unclean", "error output is not one 'memray %s: error:' line: %r" % (name, stderr[-400:]))
        if LEAKED_INTERNALS.search(lines[0]):
            return result("unclean", "error leaks internals: %r" % lines[0][:400])
        return result("clean_error", lines[0])
    stray = [line for line in lines if not line.startswith(prefix + "warning: ")]
    if stray:
        return result("unclean", "success with stray stderr: %r" % "\n".join(stray)[-400:])
    broken = _broken_output(command, options, output, stdout)
    if broken:
        return result("unclean", "success with a broken output: " + broken)
    return result("success", lines[0] if lines else "")


def _broken_output(command, options, output, stdout):
    if command == "transform" and (options or ["csv"])[0] == "csv":
        # A deep stack makes a stack_trace longer than the csv module's default limit (128 KiB).
        csv.field_size_limit(1 << 30)
        try:
            with open(output, newline="", encoding="utf-8") as table:
                rows = list(csv.reader(table))
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            return "csv unreadable: %s" % str(error)[:200]
        if not rows or rows[0] != ["allocator", "num_allocations", "size", "tid", "thread_name", "stack_trace"]:
            return "csv without its header"
        if any(len(row) != 6 for row in rows):
            return "csv row without its six fields"
        return None
    if command in ("flamegraph", "table", "transform") or "--json" in options:
        try:
            with open(output, "rb") as report:
                text = report.read()
        except OSError as error:
            return "no report: %s" % error
        if command not in ("stats", "transform"):
            found = DATA_SCRIPT.search(text)
            if not found:
                return "no data element in the report"
            text = found.group(1)
        try:
            json.loads(text.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            return "report data is not valid JSON: %s" % str(error)[:200]
        return None
    # Text for a terminal (not one here: no colours) holds no control characters but the
    # line breaks and tabs it is laid out with: a name from the capture must not move the
    # cursor, clear the screen or start a line of its own.
    control = CONTROL_CHARACTERS.search(stdout)
    if control:
        start = max(0, control.start() - 40)
        return "control character in the output: %r" % stdout[start:control.end() + 20]
    if command == "parse":
        last = stdout[-4096:].rstrip(b"\n").rsplit(b"\n", 1)[-1]
        if not last.startswith(b"END "):
            return "parse output does not end with its END line: %r" % last[-100:]
    return None
