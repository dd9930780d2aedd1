#!/usr/bin/env python3
"""memray's benchmark suite: tracking overhead, fixed cost, capture size and reporter speed,
measured side by side with the peers installed here, written to a markdown file.

    tools/scripts/bench.sh                      # Release build, then this script, 5 rounds
    benchmarks/run_benchmarks.py --memray build-release/bin/memray --rounds 5

Every case runs several rounds. Within a round each variant runs once, in an order rotated
from round to round, and each figure is a ratio to the untracked run of the same round, so
slow drift of the machine (other load, thermal state) cancels out. The report gives the
median ratio and its spread (lowest and highest round).
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

import memray_size_model
import native_symbolization
from python_api_section import python_api_section
from pytest_plugin_section import pytest_plugin_section
from reliability_section import reliability_section
from live_section import live_section
from native_unwind_section import native_unwind_section
from depth_section import depth_section
from deep_async_section import deep_async_section
from cpython_tests_section import cpython_tests_section, default_pythons

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = os.path.join(HERE, "workloads")
BENCH_ATTACH = os.path.join(HERE, os.pardir, "tests", "integration", "bench_attach.py")
SCALE_TEST = os.path.join(HERE, os.pardir, "tests", "web", "scale_test.mjs")

# (name, script, what it stands for)
OVERHEAD_WORKLOADS = [
    ("churn", "churn.py", "pure-Python object churn"),
    ("recursion", "recursion.py", "deep recursion (500 frames)"),
    ("threads", "threads.py", "4 threads allocating"),
    ("c_heavy", "c_heavy.py", "C allocations: zlib, json, pickle, bytearray"),
]

# The floors, as ratios to the untracked run (None: no target for that pair).
OVERHEAD_TARGETS = {
    ("churn", "memray"): 1.3,
    ("c_heavy", "memray"): 1.5,
    ("c_heavy", "memray --native"): 2.0,
    ("churn", "memray --trace-python-allocators"): 2.0,
    ("recursion", "memray --trace-python-allocators"): 2.0,
    ("threads", "memray --trace-python-allocators"): 2.0,
    ("c_heavy", "memray --trace-python-allocators"): 2.0,
}


class Measurement:
    def __init__(self, wall, cpu, max_rss_kib):
        self.wall = wall
        self.cpu = cpu
        self.max_rss_kib = max_rss_kib


def run_measured(argv, stdout=subprocess.DEVNULL, cwd=None):
    """Runs argv to completion; its wall time, CPU time (user + system, children included) and
    peak RSS. Raises RuntimeError with the end of its stderr if it fails."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        process = subprocess.Popen(argv, stdout=stdout, stderr=errors, cwd=cwd)
        # wait4 gives this child's own resource usage, which Popen.wait would not.
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            tail = errors.read().decode(errors="replace").strip().splitlines()[-3:]
            raise RuntimeError("%s exited with %d: %s" % (" ".join(argv), process.returncode, " | ".join(tail)))
    return Measurement(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)


class Context:
    def __init__(self, args, scratch):
        self.memray = os.path.abspath(args.memray)
        self.synth = os.path.abspath(args.synth)
        self.python = args.python
        self.rounds = args.rounds
        self.quick = args.quick
        self.scratch = scratch
        self.capture = os.path.join(scratch, "capture.bin")
        self.out = os.path.abspath(args.out)
        self.depth_pythons = args.depth_pythons.split(",") if args.depth_pythons else [args.python]
        self.cpython_test_pythons = (args.cpython_test_pythons.split(",") if args.cpython_test_pythons
                                     else default_pythons())

    def memray_run(self, *options):
        return [self.memray, "run", "-q", "-f", "-o", self.capture, "--python", self.python, *options]

    def workload_args(self, name):
        # --quick: tiny sizes, to check that the suite itself works (tests/cmake/benchmarks.cmake).
        sizes = {"churn": "2000", "recursion": "10", "threads": "5000", "c_heavy": "1"}
        return [sizes[name]] if self.quick else []


def variants(ctx):
    """The ways to run a script, in report order: (name, argv prefix), or argv None when the
    tool is not available here."""
    heaptrack = shutil.which("heaptrack")
    return [
        ("untracked", [ctx.python]),
        ("memray", ctx.memray_run()),
        ("memray --native", ctx.memray_run("--native")),
        ("memray --trace-python-allocators", ctx.memray_run("--trace-python-allocators")),
        ("memray --aggregate", ctx.memray_run("--aggregate")),
        ("python -X tracemalloc", [ctx.python, "-X", "tracemalloc"]),
        ("heaptrack", [heaptrack, "-o", os.path.join(ctx.scratch, "heaptrack"), ctx.python] if heaptrack else None),
    ]


def rounds_of(ctx, cases):
    """Runs every (name, argv) case once per round, rotating the order; returns name -> list
    of Measurement (None where a run failed, with the error kept in failures)."""
    results = {name: [] for name, _ in cases}
    failures = {}
    for round_index in range(ctx.rounds):
        shift = round_index % len(cases)
        for name, argv in cases[shift:] + cases[:shift]:
            if argv is None or name in failures:
                results[name].append(None)
                continue
            try:
                results[name].append(run_measured(argv))
            except RuntimeError as error:
                if ctx.quick:  # the smoke test: every variant must run
                    raise
                failures[name] = str(error)
                results[name].append(None)
    return results, failures


def ratio_summary(values, baselines):
    ratios = [v.wall / b.wall for v, b in zip(values, baselines) if v is not None and b is not None]
    if not ratios:
        return None
    return statistics.median(ratios), min(ratios), max(ratios)


def format_ratio(summary, target=None):
    if summary is None:
        return "n/a"
    median, low, high = summary
    text = "%.2fx (%.2f-%.2f)" % (median, low, high)
    if target is not None:
        text += " %s <= %.1fx" % ("meets" if median <= target else "**misses**", target)
    return text


# The second untracked run of each overhead round, and how much the rounds' baselines may
# differ before a row is called unsteady.
UNTRACKED_AGAIN = "untracked (again)"
UNSTEADY_BASELINE = 1.2


def format_baseline(walls):
    if not walls:
        return "n/a"
    return "%.3f (%.3f-%.3f)" % (statistics.median(walls), min(walls), max(walls))


def overhead_section(ctx):
    lines = ["## Tracking overhead", "",
             "Wall time of the whole run (interpreter start-up, CLI and capture finishing included) as a",
             "ratio to the untracked run of the same round: median (lowest-highest round). Targets from",
             "issue 6 are marked. The untracked run goes twice in each round and the faster of the",
             "two is the round's baseline; its median and range are in the second column.", ""]
    names = [name for name, _ in variants(ctx)]
    lines.append("| workload | untracked (median s, range) | " + " | ".join(names[1:]) + " |")
    lines.append("|---|---|" + "---|" * (len(names) - 1))
    notes = []
    for workload, script, description in OVERHEAD_WORKLOADS:
        argv_tail = [os.path.join(WORKLOADS, script)] + ctx.workload_args(workload)
        cases = [(name, prefix + argv_tail if prefix else None) for name, prefix in variants(ctx)]
        # The untracked run twice per round, half a round apart: a disturbance of
        # this VM that slows one of them would otherwise make every ratio of the round look
        # better than it is. The round's baseline is the faster of the two.
        cases.insert(len(cases) // 2, (UNTRACKED_AGAIN, cases[0][1]))
        results, failures = rounds_of(ctx, cases)
        baselines = [min((m for m in pair if m is not None), key=lambda m: m.wall, default=None)
                     for pair in zip(results["untracked"], results[UNTRACKED_AGAIN])]
        base_walls = [m.wall for m in baselines if m is not None]
        row = ["%s: %s" % (workload, description), format_baseline(base_walls)]
        impossible = []
        for name in names[1:]:
            summary = ratio_summary(results[name], baselines)
            row.append(format_ratio(summary, OVERHEAD_TARGETS.get((workload, name))))
            if summary is not None and summary[0] < 1.0:
                impossible.append(name)
        lines.append("| " + " | ".join(row) + " |")
        if impossible:
            notes.append("- %s: %s ran faster than the untracked program, which tracking cannot do: the"
                         " machine was disturbed during this row." % (workload, ", ".join(impossible)))
        if base_walls and max(base_walls) > UNSTEADY_BASELINE * min(base_walls):
            notes.append("- %s: the untracked run varied by %.0f%% between rounds (more than %.0f%%): the"
                         " machine was not steady, and this row's ratios are less certain."
                         % (workload, 100 * (max(base_walls) / min(base_walls) - 1), 100 * (UNSTEADY_BASELINE - 1)))
        for name, error in failures.items():
            notes.append("- %s, %s: failed: %s" % (workload, name, error))
    return lines + [""] + notes + ([""] if notes else [])


def fixed_cost_section(ctx):
    empty = os.path.join(WORKLOADS, "empty.py")
    cases = [("python", [ctx.python, empty]), ("memray run", ctx.memray_run() + [empty])]
    results, failures = rounds_of(ctx, cases)
    python = statistics.median(m.wall for m in results["python"])
    memray = statistics.median(m.wall for m in results["memray run"])
    return ["## Fixed cost", "",
            "An empty script: `python empty.py` against `memray run empty.py` (median wall time).", "",
            "| python | memray run | added by memray | target |", "|---|---|---|---|",
            "| %.3f s | %.3f s | %+.3f s | < 0.1 s: %s |" % (python, memray, memray - python,
                                                          "meets" if memray - python < 0.1 else "**misses**"), ""]


def raw_record_bytes(path):
    """Sum of the decompressed sizes of a capture's chunks, from their headers
    (format/include/memray/format/capture_format.h: FileHeader, then ChunkHeader + block)."""
    total = 0
    with open(path, "rb") as capture:
        magic, _, metadata_size = struct.unpack("<8sII", capture.read(16))
        capture.seek(metadata_size, os.SEEK_CUR)
        while True:
            header = capture.read(12)
            if len(header) < 12:
                return total
            raw_size, stored_size, _ = struct.unpack("<III", header)
            total += raw_size & 0x7FFFFFFF
            capture.seek(stored_size, os.SEEK_CUR)


def count_records(ctx):
    """(records, allocations) of ctx.capture, from `memray parse`: allocation records, or in an
    aggregated capture the allocations its last checkpoint counted."""
    records = allocations = 0
    process = subprocess.Popen([ctx.memray, "parse", ctx.capture], stdout=subprocess.PIPE)
    for line in process.stdout:
        if line.startswith((b"HEADER", b"END")):  # parse's own framing lines, not records
            continue
        records += 1
        if line.startswith(b"ALLOCATION "):
            allocations += 1
        elif line.startswith(b"AGGREGATE_BEGIN "):
            allocations = int(re.search(rb" allocations=(\d+)", line).group(1))
    if process.wait() != 0:
        raise RuntimeError("memray parse failed on %s" % ctx.capture)
    return records, allocations


def capture_size_section(ctx):
    lines = ["## Capture size", "",
             "`memray run` of each workload: file bytes per allocation record (compressed as written,",
             "and raw: the records before compression). memray 1.19 cannot be installed here, so its",
             "column is modelled: benchmarks/memray_size_model.py re-encodes the same run's events in",
             "memray's documented format, choosing in memray's favour where the documentation is",
             "silent, and LZ4-compresses it as memray does at exit. The model leaves out memray's",
             "header (which also lists sys.path) and its line tables, so where a capture has few",
             "records and such fixed costs dominate, the ratio says little.", "",
             "| workload | options | allocation records | all records | file bytes | compressed B/allocation | raw B/allocation | memray 1.19 (modelled) bytes | ours / memray |",
             "|---|---|---|---|---|---|---|---|---|"]
    model_scratch = os.path.join(ctx.scratch, "memray-model.bin")
    for options in ([], ["--trace-python-allocators"], ["--trace-python-allocators", "--aggregate"]):
        for workload, script, _ in OVERHEAD_WORKLOADS:
            run_measured(ctx.memray_run(*options) + [os.path.join(WORKLOADS, script)] + ctx.workload_args(workload))
            records, allocations = count_records(ctx)
            size = os.path.getsize(ctx.capture)
            raw = raw_record_bytes(ctx.capture)
            if "--aggregate" in options:  # memray's aggregated files are written at exit: not modelled
                memray_column = "n/a | n/a"
            else:
                _, memray_bytes = memray_size_model.modelled_sizes(ctx.memray, ctx.capture, model_scratch)
                memray_column = "%d | %.2f" % (memray_bytes, size / max(memray_bytes, 1))
            lines.append("| %s | %s | %d | %d | %d | %.2f | %.2f | %s |" % (
                workload, " ".join(options) or "default", allocations, records, size,
                size / max(allocations, 1), raw / max(allocations, 1), memray_column))
    return lines + [""]


def available_commands(ctx):
    help_text = subprocess.run([ctx.memray, "--help"], capture_output=True, text=True).stdout
    return set(re.findall(r"^  (\w+)\s", help_text, re.MULTILINE))


def reporter_section(ctx):
    sizes = [100_000] if ctx.quick else [1_000_000, 10_000_000]
    commands = available_commands(ctx)
    lines = ["## Reader and reporters", "",
             "Synthetic captures from `memray-synth` (100,000 distinct stacks, 4 threads). Median wall",
             "time and peak RSS of each command over the rounds; records/s for `parse` and `stats`.", ""]
    lines.append("| allocations | command | wall | peak RSS | records/s |")
    lines.append("|---|---|---|---|---|")
    for allocations in sizes:
        capture = os.path.join(ctx.scratch, "synth-%d.bin" % allocations)
        output = subprocess.run([ctx.synth, "-o", capture, "-n", str(allocations), "-s", "100000"],
                                capture_output=True, text=True, check=True).stdout
        records = int(re.search(r"records=(\d+)", output).group(1))
        report = os.path.join(ctx.scratch, "report.out")
        cases = [
            ("parse", [ctx.memray, "parse", capture]),
            ("stats", [ctx.memray, "stats", capture]),
            ("flamegraph", [ctx.memray, "flamegraph", "-f", "-o", report, capture]),
            ("table", [ctx.memray, "table", "-f", "-o", report, capture]),
            ("summary", [ctx.memray, "summary", capture]),
            ("tree", [ctx.memray, "tree", capture]),
            ("transform csv", [ctx.memray, "transform", "csv", "-f", "-o", report, capture]),
            ("transform gprof2dot", [ctx.memray, "transform", "gprof2dot", "-f", "-o", report, capture]),
            ("transform speedscope", [ctx.memray, "transform", "speedscope", "-f", "-o", report, capture]),
        ]
        for name, argv in cases:
            if name.split()[0] not in commands:
                lines.append("| %d | %s | not built yet | | |" % (allocations, name))
                continue
            runs = []
            for _ in range(ctx.rounds):
                with open(os.devnull, "wb") as sink:
                    runs.append(run_measured(argv, stdout=sink))
            wall = statistics.median(m.wall for m in runs)
            rss = statistics.median(m.max_rss_kib for m in runs) / 1024
            rate = "%.1f M" % (records / wall / 1e6) if name in ("parse", "stats") else ""
            lines.append("| %d | %s | %.2f s | %.0f MiB | %s |" % (allocations, name, wall, rss, rate))
    return lines + [""]


def symbolization_section(ctx):
    shapes = [(2, 10)] if ctx.quick else [(100, 1000), (5, 20000)]
    lines = ["## Native symbolization", "",
             "`memray run --native` of a generated C library whose calls reach malloc through",
             "outer_<a> -> inner_<b>: outer x inner distinct native stacks. Median wall time and peak RSS",
             "of reports on that capture (reading, symbolizing every distinct address with libdw, and",
             "writing the report).", "",
             "| distinct native stacks | functions | capture bytes | command | wall | peak RSS |",
             "|---|---|---|---|---|---|"]
    for outer, inner in shapes:
        directory = os.path.join(ctx.scratch, "native-%d-%d" % (outer, inner))
        os.makedirs(directory)
        library = native_symbolization.build_library(directory, outer, inner)
        script = native_symbolization.driver_script(directory, library, outer, inner)
        run_measured(ctx.memray_run("--native") + [script])
        capture = os.path.join(directory, "native.bin")
        os.replace(ctx.capture, capture)
        report = os.path.join(directory, "report.out")
        cases = [("flamegraph", [ctx.memray, "flamegraph", "-f", "-o", report, capture]),
                 ("summary", [ctx.memray, "summary", capture])]
        for name, argv in cases:
            runs = []
            for _ in range(ctx.rounds):
                with open(os.devnull, "wb") as sink:
                    runs.append(run_measured(argv, stdout=sink))
            lines.append("| %d | %d | %d | %s | %.2f s | %.0f MiB |" % (
                outer * inner, outer + inner, os.path.getsize(capture), name,
                statistics.median(m.wall for m in runs), statistics.median(m.max_rss_kib for m in runs) / 1024))
    return lines + [""]


def html_render_section(ctx):
    """How long a 100,000-stack flame graph takes to render in headless Chromium
    (tests/web/scale_test.mjs with a budget: best of up to three loads)."""
    build = os.path.dirname(os.path.dirname(ctx.memray))
    tool = os.path.join(build, "tests", "web", "memray_test_render_html_report")
    stacks = "2000" if ctx.quick else "100000"
    budget_ms = 3000
    node = shutil.which("node")
    lines = ["## HTML report in a browser", "",
             "A flame graph of %s distinct stacks (synthetic data through the report writer) opened in" % stacks,
             "headless Chromium: time from navigation start to the app's rendered mark, best of up to three",
             "loads (the first also pays for cold caches); the target is %d ms." % budget_ms, ""]
    if not node or not os.path.exists(tool):
        return lines + ["Not measured: %s is missing." % ("node" if not node else tool), ""]
    # playwright-core comes from the npm packages the build installed (reporters/CMakeLists.txt).
    env = dict(os.environ, MEMRAY_WEB_MODULES=os.path.join(build, "reporters", "web", "node_modules"))
    process = subprocess.run([node, SCALE_TEST, "--tool", tool, "--workdir", os.path.join(ctx.scratch, "html"),
                              "--stacks", stacks, "--budget-ms", str(budget_ms)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, env=env)
    loads = re.findall(r"rendered after (\d+) ms", process.stdout)
    best = re.search(r"best render: (\d+) ms", process.stdout)
    lines += ["| stacks | loads (ms) | best | target met |", "|---|---|---|---|",
              "| %s | %s | %s | %s |" % (stacks, ", ".join(loads) or "none", best.group(1) + " ms" if best else "failed",
                                         "yes" if process.returncode == 0 else "no")]
    if process.returncode != 0:
        lines += ["", "    " + "\n    ".join(process.stdout.strip().splitlines()[-5:])]
    return lines + [""]


def machine_lines(ctx):
    cpu = "unknown"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    version = subprocess.run([ctx.python, "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True).stdout.strip()
    load = os.getloadavg()
    return ["- date: %s" % datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "- machine: %d cores, %s, Linux %s" % (os.cpu_count(), cpu, platform.release()),
            "- load average when the run started: %.2f %.2f %.2f" % load,
            "- python: %s (%s)" % (ctx.python, version),
            "- memray: %s" % ctx.memray,
            "- rounds: %d%s" % (ctx.rounds, " (quick mode: tiny workloads, figures meaningless)" if ctx.quick else "")]


def attach_section(ctx):
    """`memray attach` and `memray detach` latency, by tests/integration/bench_attach.py (which the
    attach work of issue 3 wrote): its full page goes next to this one, its verdicts go here."""
    page = os.path.join(os.path.dirname(ctx.out), "attach.md")
    # bench_attach finds memray and the payload through the build tree memray belongs to.
    env = dict(os.environ, MEMRAY_BUILD_DIR=os.path.dirname(os.path.dirname(ctx.memray)))
    argv = [sys.executable, BENCH_ATTACH, "--cycles", "2" if ctx.quick else "20", "--markdown", page]
    argv += [ctx.python] if ctx.quick else ["--all"]
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    with open(page) as text:
        verdicts = text.read().split("Against the goals", 1)[1].strip().splitlines()[1:]
    lines = ["## Attach and detach", "",
             "Wall time of `memray attach` and `memray detach`, and the longest time any target thread",
             "is held stopped, on a busy and an idle target of every interpreter the tests use, after",
             "one warm-up cycle. Every figure with its spread is in [attach.md](attach.md), written by",
             "the same command. Against issue 6's targets (worst interpreter):", ""]
    return lines + [line for line in verdicts if line.strip()] + [""]


def updated_results(old_lines, measured, chosen, machine):
    """The lines of an existing results file with the sections in MEASURED (each starting with
    its "## " heading) put in place of the ones of the same heading (or added at the end), and a
    note under the machine lines saying which sections were measured when, and how."""
    head_end = next((i for i, line in enumerate(old_lines) if line.startswith("## ")), len(old_lines))
    head, blocks = old_lines[:head_end], []
    for line in old_lines[head_end:]:
        if line.startswith("## "):
            blocks.append([])
        blocks[-1].append(line)
    for section in measured:
        for index, block in enumerate(blocks):
            if block[0] == section[0]:
                blocks[index] = section
                break
        else:
            blocks.append(section)
    while head and not head[-1].strip():
        head.pop()
    note = ["- re-measured later (--update): %s, with:" % ", ".join(chosen)] + ["  " + line for line in machine]
    for block in blocks:
        if block[-1].strip():
            block.append("")
    return without_remeasured(head, chosen) + note + [""] + [line for block in blocks for line in block]


REMEASURED = "- re-measured later (--update): "


def without_remeasured(head, chosen):
    """HEAD with the sections in CHOSEN struck from its earlier re-measured notes (they are about
    to be measured again), and a note left with no section dropped with its machine lines."""
    kept, skipping = [], False
    for line in head:
        if line.startswith(REMEASURED):
            names = [name for name in line[len(REMEASURED):-len(", with:")].split(", ") if name not in chosen]
            skipping = not names
            if names:
                kept.append(REMEASURED + ", ".join(names) + ", with:")
        elif not (skipping and line.startswith("  ")):
            skipping = False
            kept.append(line)
    return kept


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--memray", required=True, help="the memray binary (a Release build)")
    parser.add_argument("--synth", required=True, help="the memray-synth binary")
    parser.add_argument("--python", default=shutil.which("python3"), help="the interpreter to measure")
    parser.add_argument("--depth-pythons", default=None,
                        help="comma-separated interpreters for the depth section (default: --python)")
    parser.add_argument("--cpython-test-pythons", default=None,
                        help="comma-separated interpreters for the cpython_tests section (default: pyenv's 3.12 and 3.13)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default=os.path.join(HERE, "results", "RESULTS.md"))
    parser.add_argument("--quick", action="store_true", help="tiny workloads and one size: checks the suite runs")
    parser.add_argument("--update", action="store_true",
                        help="replace only the chosen sections in the existing --out file, and say when they were measured")
    parser.add_argument("--sections",
                        default="overhead,native_unwind,depth,cpython_tests,deep_async,fixed,size,reporters,html,native,attach,reliability,"
                                "live,python_api,pytest_plugin",
                        help="comma-separated subset of: overhead, native_unwind, depth, cpython_tests, deep_async, fixed, size, reporters, html, "
                             "native, "
                             "attach, reliability, live, python_api, pytest_plugin")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    chosen = args.sections.split(",")
    sections = {"overhead": overhead_section,
                "native_unwind": lambda ctx: native_unwind_section(ctx, rounds_of, WORKLOADS),
                "depth": depth_section,
                "cpython_tests": lambda ctx: cpython_tests_section(ctx, rounds_of, ctx.cpython_test_pythons),
                "deep_async": lambda ctx: deep_async_section(ctx, ctx.cpython_test_pythons),
                "fixed": fixed_cost_section, "size": capture_size_section,
                "reporters": reporter_section, "html": html_render_section, "native": symbolization_section,
                "attach": attach_section, "reliability": reliability_section, "live": live_section,
                "python_api": python_api_section, "pytest_plugin": pytest_plugin_section}
    unknown = [name for name in chosen if name not in sections]
    if unknown:
        parser.error("unknown section(s): %s" % ", ".join(unknown))

    with tempfile.TemporaryDirectory(prefix="memray-bench-") as scratch:
        ctx = Context(args, scratch)
        measured = []
        for name in chosen:
            print("benchmarks: %s..." % name, file=sys.stderr, flush=True)
            measured.append(sections[name](ctx))
        if args.update and os.path.exists(args.out):
            with open(args.out) as existing:
                old_lines = existing.read().splitlines()
            lines = updated_results(old_lines, measured, chosen, machine_lines(ctx))
        else:
            lines = ["# Benchmark results", "",
                     "Written by `tools/scripts/bench.sh` (benchmarks/run_benchmarks.py); do not edit by hand.", ""]
            lines += machine_lines(ctx) + [""]
            for section in measured:
                lines += section
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as out:
        out.write("\n".join(lines).rstrip() + "\n")
    print("benchmarks: wrote %s" % args.out, file=sys.stderr)


if __name__ == "__main__":
    main()
