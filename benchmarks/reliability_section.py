"""The benchmark suite's Reliability section: how `memray` takes bad input.

Reader fuzz: benchmarks/reliability/fuzz_reader.py with a fixed seed (so two runs of the suite
compare), many more cases than the bounded ctest variant (tests/cmake/reliability.cmake).
Attach and detach on hostile targets: a place kept for that work, not measured here yet.
"""

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FUZZ = os.path.join(HERE, "reliability", "fuzz_reader.py")
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
    # Reserved for the attach/detach reliability work (cycles on hostile targets); until it
    # lands this says so, rather than leaving the section's shape to be guessed.
    return ["### Attach and detach on hostile targets", "", "Not measured yet.", ""]


def reliability_section(ctx):
    return ["## Reliability", "", "Bad input must give a one-line error and a non-zero exit, never a crash,",
            "a hang or an unclean error.", ""] + reader_fuzz_lines(ctx) + attach_lines(ctx)
