"""The benchmark suite's stack depth section: what an allocation costs at the bottom of a deep
Python stack.

benchmarks/workloads/depth.py makes 2 million bytearray(600) from one leaf function under a
recursion DEPTH frames deep and prints the CPU time of that loop alone (measured inside the
program, so start-up and capture finishing do not count). Each tracking mode runs it at depths
10, 100, 300 and 1000; every figure is a ratio to the untracked loop of the same round and
depth. A tracker whose cost grows with the depth shows here as ratios that climb from left to
right. The last row of the first table runs the same loop with every second level entered from
C (through map()): each such level adds native frames, so --native there shows whether
unwinding grows with the depth; its ratio is to the untracked run of that variant. A second
table makes CALLS Python calls between allocations, in the default mode: what keeping track of
frames as they come and go costs where calls outnumber allocations (before 3.12, a profile
function in the thread's slot).
"""

import os
import re
import statistics
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOAD = os.path.join(HERE, "workloads", "depth.py")
DEPTHS = (10, 100, 300, 1000)
QUICK_DEPTHS = (10, 1000)  # --quick: only that the sweep runs, in the smoke test's time
CALLS = 20  # Python calls between allocations in the second table
LOOP = re.compile(r"loop_seconds ([0-9.]+)")


def loop_seconds(argv):
    process = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    match = LOOP.search(process.stdout)
    if process.returncode != 0 or match is None:
        tail = " | ".join(process.stderr.strip().splitlines()[-3:])
        raise RuntimeError("%s exited with %d: %s" % (" ".join(argv), process.returncode, tail))
    return float(match.group(1))


# Every second level entered from C: depth.py's EVERY argument.
THROUGH_C = ["2"]


def depth_variants(ctx, python):
    """(name, command prefix, extra workload arguments, name of the untracked run it is compared
    with)."""
    run = [ctx.memray, "run", "-q", "-f", "-o", ctx.capture, "--python", python]
    return [
        ("untracked", [python], [], None),
        ("untracked, every 2nd level entered from C", [python], THROUGH_C, None),
        ("memray", run, [], "untracked"),
        ("memray --native", run + ["--native"], [], "untracked"),
        ("memray --trace-python-allocators", run + ["--trace-python-allocators"], [], "untracked"),
        ("memray --aggregate", run + ["--aggregate"], [], "untracked"),
        ("memray --native, every 2nd level entered from C", run + ["--native"], THROUGH_C,
         "untracked, every 2nd level entered from C"),
    ]


def sweep(ctx, python, count, depths, variants=None, calls=0):
    """{(variant, depth): [ratio per round]} and the untracked loop times by depth."""
    variants = variants or depth_variants(ctx, python)
    ratios = {}
    untracked = {depth: [] for depth in depths}
    for round_index in range(ctx.rounds):
        for depth in depths:
            shift = round_index % len(variants)
            seconds = {}
            for name, prefix, extra, _ in variants[shift:] + variants[:shift]:
                seconds[name] = loop_seconds(prefix + [WORKLOAD, str(depth), str(count), str(calls)] + extra)
            untracked[depth].append(seconds["untracked"])
            for name, _, _, baseline in variants:
                if baseline is not None:
                    base = seconds[baseline]
                    ratios.setdefault((name, depth), []).append(seconds[name] / base if base > 0 else float("inf"))
    return variants, ratios, untracked


def format_cell(values):
    return "%.2fx (%.2f-%.2f)" % (statistics.median(values), min(values), max(values))


def depth_section(ctx):
    count = 5_000 if ctx.quick else 2_000_000
    depths = QUICK_DEPTHS if ctx.quick else DEPTHS
    lines = ["## Stack depth", "",
             "CPU time of a loop of %s bytearray(600) made at the bottom of a Python stack DEPTH frames" % format(count, ","),
             "deep (benchmarks/workloads/depth.py, timed inside the program), as a ratio to the untracked loop",
             "of the same round and depth: median (lowest-highest round). The goal is a cost that does not",
             "grow with the depth: depth 1000 at most 1.5x depth 10 in every mode.", ""]
    for python in ctx.depth_pythons:
        lines.append("### %s" % python)
        lines.append("")
        lines += depth_table(*sweep(ctx, python, count, depths), depths)
        # Fewer allocations: each comes with CALLS calls.
        default_only = [variant for variant in depth_variants(ctx, python) if variant[0] in ("untracked", "memray")]
        lines.append("With %d Python calls between allocations (%s allocations):" % (CALLS, format(count // 10, ",")))
        lines.append("")
        lines += depth_table(*sweep(ctx, python, count // 10, depths, default_only, CALLS), depths)
    return lines


def depth_table(variants, ratios, untracked, depths):
    lines = ["| mode | " + " | ".join("depth %d" % depth for depth in depths) + " | 1000 / 10 |",
             "|---|" + "---|" * (len(depths) + 1),
             "| untracked (median s) | " + " | ".join(
                 "%.3f" % statistics.median(untracked[depth]) for depth in depths) + " | |"]
    for name, _, _, baseline in variants:
        if baseline is None:
            continue
        cells = [format_cell(ratios[(name, depth)]) for depth in depths]
        growth = statistics.median(ratios[(name, depths[-1])]) / statistics.median(ratios[(name, depths[0])])
        lines.append("| %s | %s | %.2fx |" % (name, " | ".join(cells), growth))
    lines.append("")
    return lines
