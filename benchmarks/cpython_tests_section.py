"""The benchmark suite's CPython test-suite section: CPython's own test_json and test_re (run with
`python -m unittest`) under `memray run`, on 3.12 and 3.13.

Real code with real stacks: test_json's recursion tests nest calls and 5000-deep chains of
generators (`yield from`) and unwind RecursionError through them, test_re runs the regular
expression engine, which allocates from C. Every figure is a ratio to the untracked run of the
same round, of CPU time (user + system of the whole process tree) and of wall time. Target for
the default mode: at most 1.3x.
"""

import glob
import statistics

from depth_section import depth_variants, format_cell

TARGET = 1.3
SUITES = ("test.test_json", "test.test_re")
# --quick: one small piece of each suite, only to prove the section runs.
QUICK_SUITES = ("test.test_json.test_dump", "test.test_re.ReTests.test_basic_re_sub")


def default_pythons():
    """The pyenv 3.12 and 3.13 interpreters of this machine (the versions the section is about)."""
    found = []
    for minor in (12, 13):
        candidates = sorted(glob.glob("/root/.pyenv/versions/3.%d.*/bin/python3.%d" % (minor, minor)))
        found += candidates[:1]
    return found


def ratio_cell(results, baselines, attribute, target=None):
    """Median (lowest-highest) of the per-round ratios of `attribute` to the untracked run."""
    pairs = [(getattr(m, attribute), getattr(b, attribute)) for m, b in zip(results, baselines) if m and b]
    ratios = [tracked / untracked for tracked, untracked in pairs if untracked > 0]
    if not ratios:
        return "n/a"
    text = format_cell(ratios)
    if target is not None:
        text += " %s <= %.1fx" % ("meets" if statistics.median(ratios) <= target else "**misses**", target)
    return text


def cpython_tests_section(ctx, rounds_of, pythons):
    suites = QUICK_SUITES if ctx.quick else SUITES
    lines = ["## CPython's test_json and test_re", "",
             "`memray run` on `python -m unittest SUITE` with each interpreter's own test package.",
             "Ratios to the untracked run of the same round, of CPU time (user + system of the process",
             "tree) and of wall time: median (lowest-highest round). Target for `memray`: at most %.1fx." % TARGET,
             ""]
    if not pythons:
        return lines + ["No CPython 3.12 or 3.13 found (--cpython-test-pythons).", ""]
    for python in pythons:
        lines += ["### %s" % python, "",
                  "| suite | variant | CPU ratio | wall ratio |", "|---|---|---|---|"]
        failures = {}
        for suite in suites:
            cases = [(name, prefix + ["-m", "unittest", "-q", suite])
                     for name, prefix, extra, _ in depth_variants(ctx, python) if not extra]
            results, suite_failures = rounds_of(ctx, cases)
            failures.update(("%s, %s" % (suite, name), error) for name, error in suite_failures.items())
            baselines = results["untracked"]
            cpus = [m.cpu for m in baselines if m is not None]
            if cpus:
                lines.append("| %s | untracked (median s) | %.2f | %.2f |" % (
                    suite, statistics.median(cpus), statistics.median(m.wall for m in baselines if m is not None)))
            for name, _ in cases[1:]:
                target = TARGET if name == "memray" else None
                lines.append("| %s | %s | %s | %s |" % (
                    suite, name, ratio_cell(results[name], baselines, "cpu", target),
                    ratio_cell(results[name], baselines, "wall")))
        lines.append("")
        if failures:
            lines += ["- %s: failed: %s" % failure for failure in failures.items()] + [""]
    return lines
