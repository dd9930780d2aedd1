#!/usr/bin/env python3
"""Makes the reader fuzz's seed captures: real `memray run` captures of the programs beside
this file, in each capture mode, on several interpreters.

    make_corpus.py --memray build/bin/memray --out benchmarks/reliability/corpus

The committed corpus (corpus/) keeps the fuzz deterministic: a capture's bytes depend on
addresses and timing, so a new run makes different seeds. Re-make it when the capture format
changes (the fuzz refuses seeds that do not read cleanly).
"""

import argparse
import glob
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = os.path.join(HERE, "programs")

# (capture name, program, `memray run` options, interpreter minor version or "3.11-static")
VARIANTS = [
    ("plain-3.8", "plain.py", [], "3.8"),
    ("plain-3.13", "plain.py", [], "3.13"),
    ("native-3.12", "plain.py", ["--native"], "3.12"),
    ("native-threads-3.10", "threads.py", ["--native"], "3.10"),
    ("pymalloc-3.11-static", "plain.py", ["--trace-python-allocators"], "3.11-static"),
    ("aggregate-3.10", "plain.py", ["--aggregate"], "3.10"),
    ("aggregate-native-3.13", "threads.py", ["--aggregate", "--native"], "3.13"),
    ("threads-3.9", "threads.py", [], "3.9"),
    ("threads-pymalloc-3.12", "threads.py", ["--trace-python-allocators"], "3.12"),
    ("recursion-3.13", "recursion.py", [], "3.13"),
]


def interpreter(version):
    if version == "3.11-static":
        return "/usr/bin/python3.11"
    found = sorted(glob.glob("/root/.pyenv/versions/%s.*/bin/python%s" % (version, version)))
    if not found:
        sys.exit("make_corpus: no interpreter for Python %s" % version)
    return found[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--memray", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    args.memray = os.path.abspath(args.memray)
    args.out = os.path.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    for name, program, options, version in VARIANTS:
        path = os.path.join(args.out, name + ".bin")
        argv = [args.memray, "run", "-q", "-f", "-o", path, "--python", interpreter(version), *options,
                os.path.join(PROGRAMS, program)]
        subprocess.run(argv, check=True, cwd=PROGRAMS)
        print("%s: %d bytes" % (path, os.path.getsize(path)))


if __name__ == "__main__":
    main()
