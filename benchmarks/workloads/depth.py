"""Allocations at the bottom of a deep stack: `count` bytearray(600) (malloc-sized) made by one
leaf function under a recursion `depth` frames deep. Prints the CPU time of the allocating loop
alone, measured inside the program (start-up and capture finishing excluded).

    python depth.py DEPTH [COUNT]
"""
import sys
import time


def leaf(count):
    start = time.process_time()
    for _ in range(count):
        bytearray(600)
    return time.process_time() - start


def descend(depth, count):
    if depth <= 1:
        return leaf(count)
    return descend(depth - 1, count)


def main():
    depth = int(sys.argv[1])
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 2_000_000
    sys.setrecursionlimit(depth + 1000)
    # `depth` counts every Python frame: the module's, main, descend's and leaf.
    print("loop_seconds %.4f" % descend(max(depth - 3, 1), count))


if __name__ == "__main__":
    main()
