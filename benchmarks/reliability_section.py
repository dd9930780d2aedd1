"""The benchmark suite's Reliability section: how `memray` takes bad input.

Reader fuzz: benchmarks/reliability/fuzz_reader.py with a fixed seed (so two runs of the suite
compare), many more cases than the bounded ctest variant (tests/cmake/reliability.cmake).
Attach and detach on hostile targets: benchmarks/reliability/attach_cycles.py.
"""

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FUZZ = os.path.join(HERE, "reliability", "fuzz_reader.py")
ATTACH_CYCLES = os.path.join(HERE, "reliability", "attach_cycles.py")
SEED = 20251206
CASES, QUICK_CASES = 1500, 10


def reader_fuzz_lines(ctx):
    cases = QUICK_CASES if ctx.quick else CASES
    with tempfile.NamedTemporaryFile(suffix=".md", dir=ctx.scratch) as table:
        process = subprocess.run([sys.executable, FUZZ, "--memray", ctx.memray, "--seed", str(SEED),
                                  "--cases", str(cases), "--markdown", table.name],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if process.returncode == 2:  # the corpus does not read cleanly: nothing was fuzzed
            raise RuntimeError("reader fuzz: " + process.stdout.strip()[-500:])
        tally = open(table.name).read().strip().splitlines()
    return ["### Reader fuzz", "",
            "`benchmarks/reliability/fuzz_reader.py --seed %d --cases %d`: real captures" % (SEED, cases),
            "(benchmarks/reliability/corpus: plain, `--native`, `--trace-python-allocators`, `--aggregate`,",
            "threads, deep recursion, on 3.8-3.13), each damaged one way (bit flips, overwrites, truncations,",
            "chunks dropped or swapped, compressed blocks changed behind their checksums, records mutated",
            "behind the checksums, metadata, structurally valid hostile records), then run through every",
            "reading command with a timeout and an address-space limit. A clean error is exit 1 with one",
            "line, `memray CMD: error: ...`; the goal is no crash, hang, unclean error or memory blow-up.",
            "Each case replays alone with `--replay SEED:INDEX`.", ""] + tally + [""]


def attach_lines(ctx):
    cycles = 2 if ctx.quick else 20
    build = os.path.dirname(os.path.dirname(ctx.memray))
    with tempfile.NamedTemporaryFile(suffix=".md", dir=ctx.scratch) as table:
        process = subprocess.run([sys.executable, ATTACH_CYCLES, "--build", build, "--python", ctx.python,
                                  "--cycles", str(cycles), "--markdown", table.name],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        rows = open(table.name).read().strip().splitlines()
    verdict = "every count that must be zero is zero" if process.returncode == 0 else "**a count that must be zero is not**"
    return ["### Attach and detach on hostile targets", "",
            "`benchmarks/reliability/attach_cycles.py --cycles %d` with %s: each cycle attaches, has the" % (
                cycles, ctx.python),
            "target allocate and answer, and detaches. Hangs (a command or the target stuck for 120 s), deaths",
            "of the target, EINTRs its blocked calls saw, and other failures must all be zero; the filter that",
            "would kill the target on socket() must be refused. Verdict: %s." % verdict, ""] + rows + [""]


def reliability_section(ctx):
    return ["## Reliability", "", "Bad input must give a one-line error and a non-zero exit, never a crash,",
            "a hang or an unclean error.", ""] + reader_fuzz_lines(ctx) + attach_lines(ctx)
