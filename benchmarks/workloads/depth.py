"""Allocations at the bottom of a deep stack: `count` bytearray(600) (malloc-sized) made by one
leaf function under a recursion `depth` frames deep, each after `calls` calls of a tiny Python
function (0 by default). Prints the CPU time of the allocating loop alone, measured inside the
program (start-up and capture finishing excluded). With EVERY, every EVERY-th level recurses
through map(): entered from C, it has a native evaluation call of its own (as every level has
before 3.11), so the native stack grows with the Python one.

    python depth.py DEPTH [COUNT [CALLS [EVERY]]]
"""
import sys
import time


def tiny(n):
    return n


def leaf(count, calls):
    start = time.process_time()
    if calls:
        for _ in range(count):
            for i in range(calls):
                tiny(i)
            bytearray(600)
    else:
        for _ in range(count):
            bytearray(600)
    return time.process_time() - start


def descend(depth, count, calls, every):
    if depth <= 1:
        return leaf(count, calls)
    if every and depth % every == 0:
        return list(map(descend, [depth - 1], [count], [calls], [every]))[0]
    return descend(depth - 1, count, calls, every)


def main():
    depth = int(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 2_000_000
    calls = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    every = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    sys.setrecursionlimit(depth + 1000)
    # `depth` counts every Python frame: the module's, main, descend's and leaf.
    print("loop_seconds %.4f" % descend(max(depth - 3, 1), count, calls, every))


if __name__ == "__main__":
    main()
