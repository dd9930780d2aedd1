"""The symbolization case of the benchmark suite: captures with many distinct native stacks.

A generated C library (debug info, no inlining) reaches malloc through outer_<a> -> inner_<b>,
so calling allocate(a, b) for every pair gives outer * inner distinct native stacks over
outer + inner functions, each holding one small block until the process exits. Reports on such a capture spend their time symbolizing: every distinct
return address is looked up in DWARF once (function, file, line, inlined frames)."""

import os
import subprocess


def build_library(directory, outer, inner):
    """Writes and compiles the library; returns its path."""
    lines = ["#include <stdlib.h>", "typedef void* (*fn)(size_t);"]
    for b in range(inner):
        lines.append("__attribute__((noinline)) void* inner_%d(size_t n) { void* p = malloc(n + %d %% 8); "
                     "__asm__ volatile(\"\" ::: \"memory\"); return p; }" % (b, b))
    lines.append("static const fn inners[] = {%s};" % ", ".join("inner_%d" % b for b in range(inner)))
    for a in range(outer):
        lines.append("__attribute__((noinline)) void* outer_%d(int b) { void* p = inners[b](16 + %d %% 8); "
                     "__asm__ volatile(\"\" ::: \"memory\"); return p; }" % (a, a))
    lines.append("typedef void* (*outer_fn)(int);")
    lines.append("static const outer_fn outers[] = {%s};" % ", ".join("outer_%d" % a for a in range(outer)))
    # The blocks stay allocated, so that every stack is in the peak and leaks reports.
    lines.append("void* kept;")
    lines.append("void allocate(int a, int b) { kept = outers[a](b); }")
    source = os.path.join(directory, "distinct.c")
    with open(source, "w") as out:
        out.write("\n".join(lines) + "\n")
    library = os.path.join(directory, "libdistinct.so")
    subprocess.run(["cc", "-g", "-O1", "-fPIC", "-shared", "-o", library, source], check=True)
    return library


def driver_script(directory, library, outer, inner):
    """A Python script that calls allocate(a, b) for every pair once; returns its path."""
    script = os.path.join(directory, "distinct.py")
    with open(script, "w") as out:
        out.write("import ctypes\nlib = ctypes.CDLL(%r)\n"
                  "for a in range(%d):\n    for b in range(%d):\n        lib.allocate(a, b)\n"
                  % (library, outer, inner))
    return script
