"""Deep recursion: every level allocates, so each allocation has a stack hundreds of frames deep
(the case that makes per-allocation stack capture expensive)."""
import sys


def descend(depth, acc):
    node = [depth, str(depth), acc]
    if depth == 0:
        return len(node[1])
    return descend(depth - 1, node) + len(node)


def run(repeats):
    sys.setrecursionlimit(10_000)
    total = 0
    for _ in range(repeats):
        total += descend(500, None)
    return total


if __name__ == "__main__":
    print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 500))
