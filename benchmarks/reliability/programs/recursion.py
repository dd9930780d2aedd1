# Deep Python stacks for the reader fuzz corpus.
import sys

sys.setrecursionlimit(5000)


def down(depth):
    if depth == 0:
        return [bytes(100) for _ in range(20)]
    return down(depth - 1)


results = [down(d) for d in (50, 300, 1000)]
