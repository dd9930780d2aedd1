"""Allocations in coroutine bodies under a deep `await` chain, as under a web framework's
middleware stack: DEPTH coroutine functions, each awaiting the next (distinct functions, or with
`recursive` one function awaiting itself), and at the bottom a loop of SUSPENSIONS rounds, each
making ALLOCATIONS bytearray(600) (malloc-sized) in the coroutine body and then suspending with
asyncio.sleep(0), which passes through every frame of the chain on its way out and back in.
Prints the CPU time of the chain's run alone, measured inside the program.

    python deep_async.py DEPTH [SUSPENSIONS [ALLOCATIONS [distinct|recursive]]]
"""
import asyncio
import sys
import time


async def bottom(suspensions, allocations):
    for _ in range(suspensions):
        for _ in range(allocations):
            bytearray(600)
        await asyncio.sleep(0)


async def recursive(depth, suspensions, allocations):
    if depth <= 1:
        return await bottom(suspensions, allocations)
    return await recursive(depth - 1, suspensions, allocations)


def distinct_chain(depth):
    """The outermost of `depth` - 1 coroutine functions, each awaiting the next, over bottom()."""
    source = []
    for level in range(depth - 1):
        callee = "level%d" % (level + 1) if level + 2 < depth else "bottom"
        source.append("async def level%d(suspensions, allocations):\n"
                      "    return await %s(suspensions, allocations)\n" % (level, callee))
    namespace = {"bottom": bottom}
    exec("".join(source), namespace)
    return namespace["level0"] if depth > 1 else bottom


def main():
    depth = int(sys.argv[1])
    suspensions = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    allocations = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    shape = sys.argv[4] if len(sys.argv) > 4 else "distinct"
    if shape not in ("distinct", "recursive"):
        sys.exit("deep_async.py: the chain is 'distinct' or 'recursive', not %r" % shape)
    sys.setrecursionlimit(depth + 1000)
    if shape == "distinct":
        chain = distinct_chain(depth)
        coroutine = chain(suspensions, allocations)
    else:
        coroutine = recursive(depth, suspensions, allocations)
    start = time.process_time()
    asyncio.run(coroutine)
    print("loop_seconds %.4f" % (time.process_time() - start))


if __name__ == "__main__":
    main()
