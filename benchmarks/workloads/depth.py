"""Allocations at the bottom of a deep stack: `count` bytearray(600) (malloc-sized) made by one
leaf function under a recursion `depth` frames deep. Prints the CPU time of the allocating loop
alone, measured inside the program (start-up and capture finishing excluded). With EVERY, every
EVERY-th level recurses through map(): entered from C, it has a native evaluation call of its own
(as every level has before 3.11), so the native stack grows with the Python one.

    python depth.py DEPTH [COUNT [EVERY]]
"""
import sys
import time


def leaf(count):
    start = time.process_time()
    for _ in range(count):
        bytearray(600)
    return time.process_time() - start


def descend(depth, count, every=0):
    if depth <= 1:
        return leaf(count)
    if every and depth % every == 0:
        return list(map(descend, [depth - 1], [count], [every]))[0]
    return descend(depth - 1, count, every)


def main():
    depth = int(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 2_000_000
    every = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    sys.setrecursionlimit(depth + 1000)
    # `depth` counts every Python frame: the module's, main, descend's and leaf.
    print("loop_seconds %.4f" % descend(max(depth - 3, 1), count, every))


if __name__ == "__main__":
    main()
