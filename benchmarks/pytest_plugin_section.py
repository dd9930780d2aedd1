"""The benchmark suite's pytest plugin section: ``pytest --memray`` against plain ``pytest``
(issue 15's target: at most 1.3x) on a suite of this repo's making,
benchmarks/workloads/pytest_suite.py (120 tests of a few tens of milliseconds each: records made,
serialised, parsed, sorted, searched, compressed), and on as many empty tests, which show the
fixed cost of tracking one test.

Both run with the wheel installed into a venv (--system-site-packages) of an interpreter that
has pytest: --python if it has one, else Debian's /usr/bin/python3.11 (python3-pytest). "Plain"
is the same venv without --memray: the plugin is loaded but tracks nothing.
"""

import os
import resource
import statistics
import subprocess
import sys
import time

from python_api_section import installed_python

HERE = os.path.dirname(os.path.abspath(__file__))
SUITE = os.path.join(HERE, "workloads", "pytest_suite.py")
TARGET_RATIO = 1.3
SEEDS, QUICK_SEEDS = 20, 2  # tests of each of the suite's 6 kinds
DEBIAN_PYTHON = "/usr/bin/python3.11"


def python_with_pytest(ctx):
    for candidate in (ctx.python, DEBIAN_PYTHON):
        if candidate and subprocess.run([candidate, "-c", "import pytest"], capture_output=True).returncode == 0:
            return candidate
    return None


def timed_run(argv, cwd, env):
    """(wall seconds, CPU seconds of the child) of one run, which must pass."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        raise RuntimeError("%s exited with %d: %s" % (" ".join(argv), process.returncode, process.stdout[-1000:]))
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def empty_suite(ctx, tests):
    path = os.path.join(ctx.scratch, "test_empty_suite.py")
    with open(path, "w") as out:
        out.write("".join("def test_%d():\n    pass\n\n\n" % i for i in range(tests)))
    return path


def pytest_plugin_section(ctx):
    lines = ["## pytest plugin", ""]
    python = python_with_pytest(ctx)
    if python is None:
        return lines + ["Not measured: neither %s nor %s has pytest (Debian: python3-pytest)." % (
            ctx.python, DEBIAN_PYTHON), ""]
    venv_python = installed_python(ctx, python, "pytest-plugin-venv", system_site_packages=True)
    seeds = QUICK_SEEDS if ctx.quick else SEEDS
    tests = 6 * seeds
    env = dict(os.environ, MEMRAY_BENCH_SEEDS=str(seeds))
    env.pop("PYTEST_ADDOPTS", None)
    base = [venv_python, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    suites = [("pytest_suite.py", SUITE), ("empty tests", empty_suite(ctx, tests))]
    lines += ["`pytest -q` against `pytest -q --memray` (which adds the MEMRAY REPORT) with the wheel in a venv",
              "of %s, %d tests per suite, the two alternating within each of %d rounds; medians of the" % (
                  python, tests, ctx.rounds),
              "wall time of the whole pytest process (start, collection, report) and of its CPU time (the",
              "figure to trust on a loaded machine). The empty suite's difference, divided by its tests, is",
              "the fixed cost of tracking a test (a Tracker's file, the payload's start and stop, reading the",
              "capture's peak back). Wall time beyond CPU time is mostly waiting: each tracked test starts and",
              "joins the payload's writer thread, and on a loaded machine each such hand-over waits its turn.", "",
              "| suite | plain wall | --memray wall | ratio | plain CPU | --memray CPU | ratio | per test | target |",
              "|---|---|---|---|---|---|---|---|---|"]
    for name, path in suites:
        measured = {"plain": [], "memray": []}
        for _ in range(ctx.rounds):
            for variant, extra in (("plain", []), ("memray", ["--memray"])):
                measured[variant].append(timed_run(base + extra + [path], ctx.scratch, env))
        plain_wall, memray_wall = (statistics.median(w for w, _ in measured[v]) for v in ("plain", "memray"))
        plain_cpu, memray_cpu = (statistics.median(c for _, c in measured[v]) for v in ("plain", "memray"))
        verdict = ""
        if name == "pytest_suite.py" and not ctx.quick:
            verdict = "%.1fx: CPU %s, wall %s" % (
                TARGET_RATIO, "met" if memray_cpu / plain_cpu <= TARGET_RATIO else "MISSED",
                "met" if memray_wall / plain_wall <= TARGET_RATIO else "MISSED")
        lines.append("| %s | %.2f s | %.2f s | %.2fx | %.2f s | %.2f s | %.2fx | %.1f ms | %s |" % (
            name, plain_wall, memray_wall, memray_wall / plain_wall, plain_cpu, memray_cpu, memray_cpu / plain_cpu,
            (memray_wall - plain_wall) / tests * 1000, verdict))
    return lines + [""]


if __name__ == "__main__":
    sys.exit("run through benchmarks/run_benchmarks.py --sections pytest_plugin")
