"""Overhead of native mode (not a test; run by hand):

    MEMRAY_BUILD_DIR=build python3 tests/native/bench_native.py [--runs 7] [--python PY]

Runs a C-heavy workload (json, pickle, zlib, bytearray growth: most allocations come from C
code inside the interpreter and its extension modules) three ways, interleaved run by run so
that the load of a shared machine hits all three alike: untracked (plain python), `memray run`
and `memray run --native`. Reports the median CPU time (user + sys of the process tree) of each,
and the capture sizes. Then times the symbolization of the --native capture with
memray-hybrid-dump (every distinct location's hybrid stack)."""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import memray_testlib as lib  # noqa: E402

WORKLOAD = """
import json, pickle, zlib
records = [{"id": i, "name": "item-%d" % i, "tags": ["a", "b", "c"], "values": list(range(12))}
           for i in range(20000)]
chunk = json.dumps(records[:50]).encode()
for _ in range(2):
    text = json.dumps(records)
    assert json.loads(text)[5]["id"] == 5
    blob = pickle.dumps(records)
    assert len(pickle.loads(blob)) == len(records)
    buffer = bytearray()
    for i in range(20000):
        buffer += b"x" * 64
# Many mallocs from C: zlib's stream state, lists and bytes above pymalloc's 512-byte limit.
for i in range(20000):
    assert zlib.decompress(zlib.compress(chunk, 1)) == chunk
    kept = [[i] * 100 for _ in range(4)]
    more = [bytes(600 + i % 300) for _ in range(4)]
"""


def distinct_stacks_library(directory, outer=100, inner=1000):
    """A C library whose `allocate(a, b)` reaches malloc through outer_a -> inner_b: outer * inner
    distinct native stacks over outer + inner distinct functions (with debug info)."""
    lines = ["#include <stdlib.h>", "typedef void* (*fn)(size_t);"]
    for b in range(inner):
        lines.append("__attribute__((noinline)) void* inner_%d(size_t n) { void* p = malloc(n + %d); "
                     "__asm__ volatile(\"\" ::: \"memory\"); return p; }" % (b, b))
    lines.append("static const fn inners[] = {%s};" % ", ".join("inner_%d" % b for b in range(inner)))
    for a in range(outer):
        lines.append("__attribute__((noinline)) void* outer_%d(int b) { void* p = inners[b](%d); "
                     "__asm__ volatile(\"\" ::: \"memory\"); return p; }" % (a, a))
    lines.append("typedef void* (*outer_fn)(int);")
    lines.append("static const outer_fn outers[] = {%s};" % ", ".join("outer_%d" % a for a in range(outer)))
    lines.append("void allocate(int a, int b) { free(outers[a](b)); }")
    source = Path(directory) / "distinct.c"
    source.write_text("\n".join(lines) + "\n")
    library = Path(directory) / "libdistinct.so"
    subprocess.run(["cc", "-g", "-O1", "-fPIC", "-shared", "-o", str(library), str(source)], check=True)
    return library


def cpu_time(command, env):
    """User + sys CPU seconds of `command` and everything it waited for."""
    before = os.times()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    after = os.times()
    return (after.children_user - before.children_user) + (after.children_system - before.children_system)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--python", default=lib.test_python())
    args = parser.parse_args()
    env = lib.memray_env()
    with tempfile.TemporaryDirectory(prefix="memray-bench-native-") as tmp:
        script = Path(tmp) / "workload.py"
        script.write_text(WORKLOAD)
        memray = lib.memray_binary()
        modes = {
            "untracked": lambda out: [args.python, str(script)],
            "memray run": lambda out: [memray, "run", "--python", args.python, "-q", "-f", "-o", out, str(script)],
            "memray run --native": lambda out: [memray, "run", "--python", args.python, "-q", "-f", "--native",
                                                "-o", out, str(script)],
        }
        times = {name: [] for name in modes}
        outputs = {name: str(Path(tmp) / ("%d.bin" % i)) for i, name in enumerate(modes)}
        for _ in range(args.runs):
            for name, command in modes.items():
                times[name].append(cpu_time(command(outputs[name]), env))
        base = statistics.median(times["untracked"])
        print("workload: json/pickle/zlib/bytearray, python %s, median of %d interleaved runs"
              % (args.python, args.runs))
        for name in modes:
            median = statistics.median(times[name])
            size = os.path.getsize(outputs[name]) if os.path.exists(outputs[name]) else 0
            print("  %-22s %7.3f s CPU  (x%.2f)  capture %s bytes" % (name, median, median / base,
                                                                     "{:,}".format(size) if size else "-"))
        dump = lib.BUILD_DIR / "bin" / "memray-hybrid-dump"
        start = time.monotonic()
        process = subprocess.run([str(dump), outputs["memray run --native"]], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, universal_newlines=True, check=True)
        print("  symbolization: %s (whole dump %.2f s)" % (process.stderr.strip(), time.monotonic() - start))

        # Symbolization of captures with 100,000 distinct native stacks: over 1,100 functions
        # (100 x 1000), and over 20,005 functions (5 x 20000: as many distinct addresses).
        for outer, inner in ((100, 1000), (5, 20000)):
            directory = Path(tmp) / ("distinct-%d-%d" % (outer, inner))
            directory.mkdir()
            library = distinct_stacks_library(directory, outer, inner)
            many = directory / "many.py"
            many.write_text("import ctypes\nlib = ctypes.CDLL(%r)\n"
                            "for a in range(%d):\n    for b in range(%d):\n        lib.allocate(a, b)\n"
                            % (str(library), outer, inner))
            capture = str(directory / "many.bin")
            subprocess.run([memray, "run", "--python", args.python, "-q", "-f", "--native", "-o", capture,
                            str(many)], check=True, env=env)
            start = time.monotonic()
            process = subprocess.run([str(dump), capture], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     universal_newlines=True, check=True)
            print("  %d x %d distinct stacks: %s (whole dump, reading and printing included: %.2f s), "
                  "capture %s bytes" % (outer, inner, process.stderr.strip(), time.monotonic() - start,
                                        "{:,}".format(os.path.getsize(capture))))

if __name__ == "__main__":
    main()
