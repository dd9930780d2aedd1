#!/usr/bin/env python3
"""The reader fuzz: damaged and hostile captures through every reading command of `memray`.

    fuzz_reader.py --memray build/bin/memray --cases 300 --seed 7
    fuzz_reader.py --memray build/bin/memray --replay 7:42 --keep /tmp/case   # one case again

Each case takes a seed capture from the corpus (make_corpus.py), damages it with one strategy
(mutators.py) and runs it through `memray stats`, `flamegraph`, `table`, `tree`, `summary` and
`parse`, each bounded in time and address space, classifying every run (outcome.py). A case is
fully determined by SEED:INDEX (its own random.Random), so any case replays alone. Exit status:
0 when no run was a defect, 1 otherwise, 2 when the corpus itself does not read cleanly.
"""

import argparse
import concurrent.futures
import glob
import os
import random
import shutil
import sys
import tempfile
import threading

import capture_file
import mutators
import outcome

HERE = os.path.dirname(os.path.abspath(__file__))
COMMANDS = ["stats", "flamegraph", "table", "tree", "summary", "parse", "transform"]
# An ELF file that is on every machine that runs the fuzz: hostile image records point into it,
# so that the symbolizer really opens and reads an object.
REAL_ELF = "/usr/bin/python3.11" if os.path.exists("/usr/bin/python3.11") else sys.executable


class CaseContext:
    """What a strategy may use besides its random generator."""

    def __init__(self, scratch, capture):
        self.scratch = scratch
        self.pid = dict(capture.metadata).get(capture_file.PID, 0)
        self.libpython = os.path.realpath(REAL_ELF)
        self.note = ""


class Corpus:
    def __init__(self, directory):
        self.paths = sorted(glob.glob(os.path.join(directory, "*.bin")))
        if not self.paths:
            raise SystemExit("fuzz_reader: no seed captures (*.bin) in %s" % directory)
        self.captures = {}
        # Every seed cut at every boundary (the header, the metadata, each chunk) and one byte
        # either side: the first cases of every run, the same whatever the seed.
        self.cuts = []
        for path in self.paths:
            with open(path, "rb") as seed:
                capture = self.captures[path] = capture_file.Capture(seed.read())
            boundaries = [capture_file.FILE_HEADER.size, capture.start_size, len(capture.data)]
            boundaries += [chunk.offset for chunk in capture.chunks]
            cuts = {b + delta for b in boundaries for delta in (-1, 0, 1) if 0 <= b + delta < len(capture.data)}
            self.cuts += [(path, cut) for cut in sorted(cuts)]


def make_case(corpus, seed, index, scratch):
    """(seed capture name, strategy name, mutant bytes) of case SEED:INDEX: the truncation
    sweep's cases first, then random ones."""
    if index < len(corpus.cuts):
        path, cut = corpus.cuts[index]
        return os.path.basename(path), "truncation_sweep:%d" % cut, corpus.captures[path].data[:cut]
    rng = random.Random("%d:%d" % (seed, index))
    path = rng.choice(corpus.paths)
    capture = corpus.captures[path]
    names = [(name, function) for name, function, weight in mutators.STRATEGIES for _ in range(weight)]
    name, function = rng.choice(names)
    ctx = CaseContext(scratch, capture)
    data = function(rng, capture, ctx)
    label = name + (":" + ctx.note if ctx.note else "")
    return os.path.basename(path), label, data


def run_case(args, corpus, index, scratch):
    directory = os.path.join(scratch, "case-%d" % index)
    os.makedirs(directory)
    try:
        seed_name, strategy, data = make_case(corpus, args.seed, index, scratch)
        path = os.path.join(directory, "mutant.bin")
        with open(path, "wb") as mutant:
            mutant.write(data)
        results = {}
        for command in args.commands:
            # A generator per command: the options a case runs a command with do not depend on
            # the mutant's draws, nor on which other commands run (--replay with --commands).
            options_rng = random.Random("%d:%d:%s" % (args.seed, index, command))
            variants = outcome.VARIANTS[command]
            options = options_rng.choice(variants) if variants and options_rng.random() < 0.5 else []
            results[command] = outcome.run(args.memray, command, options, path, directory, args.timeout,
                                           args.memory_mib)
            results[command].options = options
        if args.keep and any(r.kind in outcome.DEFECTS for r in results.values()):
            os.makedirs(args.keep, exist_ok=True)
            shutil.copy(path, os.path.join(args.keep, "case-%d-%d.bin" % (args.seed, index)))
        return index, seed_name, strategy, results
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def check_corpus(args, corpus, scratch):
    """Every seed must read cleanly with every command: a seed that does not (a stale corpus
    after a format change) would make every case a test of the version check."""
    bad = []
    for path in corpus.paths:
        for command in args.commands:
            result = outcome.run(args.memray, command, [], path, scratch, args.timeout, args.memory_mib)
            refused = result.kind == "clean_error" and "captured with --aggregate" in result.detail
            if result.kind != "success" and not refused:  # stats refuses aggregated captures
                bad.append("%s %s: %s %s" % (command, os.path.basename(path), result.kind, result.detail))
    return bad


class Tally:
    def __init__(self, commands):
        self.counts = {command: {kind: 0 for kind in outcome.CLASSES} for command in commands}
        self.defects = []  # (case id, seed name, strategy, command, result)
        self.slowest = (0.0, "")
        self.lock = threading.Lock()

    def add(self, case_id, seed_name, strategy, results):
        with self.lock:
            for command, result in results.items():
                self.counts[command][result.kind] += 1
                if result.kind in outcome.DEFECTS:
                    self.defects.append((case_id, seed_name, strategy, command, result))
                if result.seconds > self.slowest[0]:
                    self.slowest = (result.seconds, "%s %s" % (command, case_id))

    def total(self, kind):
        return sum(counts[kind] for counts in self.counts.values())

    def markdown(self):
        lines = ["| command | cases | clean successes | clean errors | crashes | hangs | unclean errors | memory blow-ups |",
                 "|---|---|---|---|---|---|---|---|"]
        for command, counts in list(self.counts.items()) + [("all", {k: self.total(k) for k in outcome.CLASSES})]:
            lines.append("| %s | %d | %s |" % (command, sum(counts.values()),
                                               " | ".join(str(counts[k]) for k in outcome.CLASSES)))
        return lines


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--memray", required=True)
    parser.add_argument("--corpus", default=os.path.join(HERE, "corpus"))
    parser.add_argument("--seed", type=int, default=None, help="default: a random one (printed)")
    parser.add_argument("--cases", type=int, default=100,
                        help="random mutants, after the truncation sweep; each runs through every command")
    parser.add_argument("--commands", default=",".join(COMMANDS))
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds before a run counts as a hang (generous: the machine may be loaded)")
    parser.add_argument("--memory-mib", type=int, default=2048, help="peak RSS that counts as a blow-up")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--replay", metavar="SEED:INDEX", help="run one case only")
    parser.add_argument("--keep", metavar="DIR", help="copy each mutant that hit a defect here")
    parser.add_argument("--verbose", action="store_true", help="print each case's outcomes as it ends")
    parser.add_argument("--markdown", metavar="FILE", help="also write the tally as a markdown table")
    args = parser.parse_args()
    args.memray = os.path.abspath(args.memray)
    args.commands = args.commands.split(",")
    if args.replay:
        args.seed, first = (int(part) for part in args.replay.split(":"))
        args.indices = [first]
    else:
        if args.seed is None:
            args.seed = random.SystemRandom().randrange(1, 2**31)
        args.indices = None  # the sweep's cases, then --cases random ones (known once the corpus is read)
    return args


def main():
    args = parse_args()
    corpus = Corpus(args.corpus)
    if args.indices is None:
        args.indices = list(range(len(corpus.cuts) + args.cases))
    print("fuzz_reader: seed %d, %d case(s) (%d truncations, %d random) x %d command(s) (replay one: --replay %d:INDEX)"
          % (args.seed, len(args.indices), len(corpus.cuts), len(args.indices) - len(corpus.cuts), len(args.commands),
             args.seed), flush=True)
    tally = Tally(args.commands)
    with tempfile.TemporaryDirectory(prefix="memray-fuzz-") as scratch:
        os.mkfifo(os.path.join(scratch, "fifo"))  # hostile paths name it: opening it would block
        bad_seeds = check_corpus(args, corpus, scratch)
        if bad_seeds:
            print("fuzz_reader: the corpus does not read cleanly (re-make it with make_corpus.py):")
            print("\n".join("  " + line for line in bad_seeds))
            return 2
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(run_case, args, corpus, index, scratch) for index in args.indices]
            for future in concurrent.futures.as_completed(futures):
                index, seed_name, strategy, results = future.result()
                case_id = "%d:%d" % (args.seed, index)
                tally.add(case_id, seed_name, strategy, results)
                if args.verbose and not args.replay:
                    print("%s %s %s: %s" % (case_id, seed_name, strategy,
                                            " ".join("%s=%s" % (c, r.kind) for c, r in results.items())), flush=True)
                if args.replay:
                    for command, result in results.items():
                        print("%s %s (%s, %s): %s %.2fs %s" % (case_id, " ".join([command] + result.options),
                                                             seed_name, strategy, result.kind, result.seconds,
                                                             result.detail))
    print("\n".join(tally.markdown()))
    print("slowest run: %.2f s (%s)" % tally.slowest)
    for case_id, seed_name, strategy, command, result in sorted(tally.defects, key=lambda d: d[3]):
        print("DEFECT %s %s [%s, %s]: %s: %s" % (case_id, " ".join([command] + result.options), seed_name, strategy,
                                                result.kind, result.detail[:300]))
    if args.markdown:
        lines = tally.markdown() + ["", "Slowest run: %.2f s (%s)." % tally.slowest]
        lines += ["Defect: `--replay %s` %s [%s, %s]: %s" % (case_id, " ".join([command] + result.options), seed_name,
                                                           strategy, result.kind)
                  for case_id, seed_name, strategy, command, result in tally.defects]
        with open(args.markdown, "w") as out:
            out.write("\n".join(lines) + "\n")
    print("fuzz_reader: seed %d: %d runs, %d defects" % (args.seed, sum(sum(c.values()) for c in tally.counts.values()),
                                                        len(tally.defects)))
    return 1 if tally.defects else 0


if __name__ == "__main__":
    sys.exit(main())
