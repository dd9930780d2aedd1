"""The benchmark suite's deep-await section: allocations in coroutine bodies under a deep chain
of awaiting coroutines (benchmarks/workloads/deep_async.py), on 3.12 and 3.13, where the frames
of such a chain can anchor partial stack walks only when their code does not recur in the stack
(docs/stack-capture.md). Chains of distinct coroutine functions at depths 10, 100 and 300, and
one recursive coroutine function 100 deep, which re-reads its chain at every allocation by
design. Each figure is the CPU time of the chain's run, timed inside the program, as a ratio to
the untracked run of the same round and chain.
"""

import os
import statistics

from depth_section import depth_variants, format_cell, loop_seconds

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOAD = os.path.join(HERE, "workloads", "deep_async.py")
CHAINS = (("distinct", 10), ("distinct", 100), ("distinct", 300), ("recursive", 100))
QUICK_CHAINS = (("distinct", 100), ("recursive", 100))
SUSPENSIONS = 10_000
ALLOCATIONS = 20  # per suspension


def deep_async_section(ctx, pythons):
    chains = QUICK_CHAINS if ctx.quick else CHAINS
    suspensions = 200 if ctx.quick else SUSPENSIONS
    lines = ["## Deep await chains", "",
             "CPU time of %s suspensions of a coroutine chain, each after %d bytearray(600) made in the" % (
                 format(suspensions, ","), ALLOCATIONS),
             "bottom coroutine's body (benchmarks/workloads/deep_async.py, timed inside the program), as a",
             "ratio to the untracked run of the same round and chain: median (lowest-highest round).", ""]
    if not pythons:
        return lines + ["No CPython 3.12 or 3.13 found (--cpython-test-pythons).", ""]
    for python in pythons:
        variants = [variant for variant in depth_variants(ctx, python)
                    if not variant[2] and variant[0] != "memray --aggregate"]
        ratios = {}
        untracked = {chain: [] for chain in chains}
        for round_index in range(ctx.rounds):
            shift = round_index % len(variants)
            for chain in chains:
                shape, depth = chain
                arguments = [WORKLOAD, str(depth), str(suspensions), str(ALLOCATIONS), shape]
                seconds = {name: loop_seconds(prefix + arguments)
                           for name, prefix, _, _ in variants[shift:] + variants[:shift]}
                untracked[chain].append(seconds["untracked"])
                for name, _, _, baseline in variants:
                    if baseline is not None and seconds[baseline] > 0:
                        ratios.setdefault((name, chain), []).append(seconds[name] / seconds[baseline])
        lines += ["### %s" % python, "",
                  "| mode | " + " | ".join("%s, depth %d" % chain for chain in chains) + " |",
                  "|---|" + "---|" * len(chains),
                  "| untracked (median s) | " + " | ".join(
                      "%.3f" % statistics.median(untracked[chain]) for chain in chains) + " |"]
        for name, _, _, baseline in variants:
            if baseline is not None:
                lines.append("| %s | %s |" % (name, " | ".join(format_cell(ratios[(name, chain)]) for chain in chains)))
        lines.append("")
    return lines
