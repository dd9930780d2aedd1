"""The benchmark suite's native-unwinding section: what `--native` costs on a program whose
allocations are made by C code (benchmarks/workloads/c_mix.py: zlib, json, pickle, re, array
growth; about 10 million malloc-level allocations in 2.6 s of CPU untracked on Debian's
python3.11), with the incremental unwind and, in the same rounds, with every stack unwound whole by libunwind
(MEMRAY_NATIVE_UNWIND_WHOLE=1, the way every stack was unwound before). Target: --native at
most 1.6x the untracked run.
"""

import os
import statistics

TARGET = 1.6


def native_unwind_section(ctx, rounds_of, workloads_dir):
    script = os.path.join(workloads_dir, "c_mix.py")
    argv_tail = [script] + (["1"] if ctx.quick else [])
    whole = ["env", "MEMRAY_NATIVE_UNWIND_WHOLE=1"]
    cases = [
        ("untracked", [ctx.python] + argv_tail),
        ("memray", ctx.memray_run() + argv_tail),
        ("memray --native", ctx.memray_run("--native") + argv_tail),
        ("memray --native, whole unwinds", whole + ctx.memray_run("--native") + argv_tail),
    ]
    results, failures = rounds_of(ctx, cases)
    lines = ["## Native unwinding", "",
             "`memray run --native` on benchmarks/workloads/c_mix.py (allocations from zlib, json, pickle, re",
             "and array growth, shallow Python stacks). Ratios to the untracked run of the same round, of",
             "wall time and of CPU time (user + system): median (lowest-highest round). \"whole unwinds\" is",
             "--native with MEMRAY_NATIVE_UNWIND_WHOLE=1: every stack unwound whole by libunwind, as",
             "before the incremental unwind. Target for --native: at most %.1fx." % TARGET, "",
             "| variant | wall ratio | CPU ratio |", "|---|---|---|"]
    baselines = results["untracked"]
    walls = [m.wall for m in baselines if m is not None]
    cpus = [m.cpu for m in baselines if m is not None]
    if walls:
        lines.append("| untracked | %.2f s (%.2f-%.2f) | %.2f s (%.2f-%.2f) |"
                     % (statistics.median(walls), min(walls), max(walls),
                        statistics.median(cpus), min(cpus), max(cpus)))
    for name, _ in cases[1:]:
        cells = []
        for attribute in ("wall", "cpu"):
            ratios = [getattr(m, attribute) / getattr(b, attribute)
                      for m, b in zip(results[name], baselines)
                      if m is not None and b is not None and getattr(b, attribute) > 0]
            if not ratios:
                cells.append("n/a")
                continue
            median = statistics.median(ratios)
            text = "%.2fx (%.2f-%.2f)" % (median, min(ratios), max(ratios))
            if name == "memray --native":
                text += " %s <= %.1fx" % ("meets" if median <= TARGET else "**misses**", TARGET)
            cells.append(text)
        lines.append("| %s | %s |" % (name, " | ".join(cells)))
    lines.append("")
    for name, error in failures.items():
        lines.append("- %s: failed: %s" % (name, error))
    if failures:
        lines.append("")
    return lines
