"""Native unwinds of deep Python stacks (payload/src/native_proof.h, native_unwinder.h).

Where Python frames are entered from C (every frame before 3.11; from 3.11 on, frames called
through map(), sorted(key=), next(), a type's __init__...), each has its own native call of the
evaluation loop, and the native stack grows with the Python one. The partial Python walk proves
which of those calls have not returned since the thread's previous allocation, and the native
unwinder reuses the frames from them outwards without re-reading their words. Under
MEMRAY_NATIVE_UNWIND_VERIFY=1 the payload unwinds every stack whole with libunwind as well and
compares; MEMRAY_PARTIAL_WALK_VERIFY=1 checks the Python side likewise. Each test drives one way
deep frames come and go (recursion through C on the way down and up, generators, exceptions
unwound through C, threads, greenlets, stacks deeper than libunwind's old limit) and requires
every stack to be exact. Where the interpreter gives partial walks, it also requires the proof
to have been used, and shows that it is not where Python cannot vouch for its frames (inside a
trace function)."""

import re
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import memray_testlib as lib  # noqa: E402

HERE = Path(__file__).resolve().parent

NATIVE = re.compile(r"\[memray\] native unwinds checked: (\d+), mismatches: (\d+), whole libunwind unwinds: (\d+),"
                    r" frames walked: (\d+), frames reused: (\d+), reused on Python's proof: (\d+)")
PARTIAL = re.compile(r"\[memray\] partial stack walks checked: (\d+), mismatches: (\d+)")

# Recursion whose every level is entered from C, in several ways, allocating on the way down
# and on the way up (so that the innermost proven call moves), with a loop of allocations at
# the same place at the bottom (the common case: only the top of the stack changes).
PRELUDE = r'''
import sys
sys.setrecursionlimit(20000)


def alloc(tag):
    first = bytearray(600)  # malloc-sized: recorded in every mode
    second = bytearray(700 + tag % 7)
    return len(first) + len(second)


def bottom_loop(count):
    total = 0
    for i in range(count):
        total += alloc(i)
    return total


def via_map(n, work):
    if n == 0:
        return work()
    before = alloc(n)
    result = list(map(via_map, [n - 1], [work]))[0]
    return result + before + (alloc(n) if n % 5 == 0 else 0)


def via_sorted_key(n, work):
    if n == 0:
        return work()
    found = []
    sorted([n], key=lambda x: found.append(via_sorted_key(x - 1, work)))
    return found[0] + alloc(n)


class Level:
    def __init__(self, n, work):
        self.value = work() if n == 0 else Level(n - 1, work).value + alloc(n)


def plain(n, work):
    return work() if n == 0 else plain(n - 1, work)


def mixed(n, work):
    """Levels entered from C three ways, and Python-to-Python calls between them."""
    if n == 0:
        return work()
    kind = n % 4
    if kind == 0:
        return list(map(mixed, [n - 1], [work]))[0] + alloc(n)
    if kind == 1:
        found = []
        sorted([n], key=lambda x: found.append(mixed(x - 1, work)))
        return found[0]
    if kind == 2:
        return Level(0, lambda: mixed(n - 1, work)).value
    return plain(2, lambda: mixed(n - 1, work))
'''


class PythonProvenUnwindTests(lib.TempDirTestCase):
    def verified_run(self, body):
        """Runs PRELUDE + body under --native with both verifications; returns (native counts,
        partial walks checked)."""
        env = lib.memray_env(extra={"MEMRAY_NATIVE_UNWIND_VERIFY": "1", "MEMRAY_PARTIAL_WALK_VERIFY": "1"})
        result = lib.run_script(self.tmp, PRELUDE + body, options=["--native"], env=env, timeout=600)
        stderr = result.process.stderr
        self.assertEqual(result.process.returncode, 0, stderr)
        native = NATIVE.search(stderr)
        self.assertIsNotNone(native, "no native verification counts in stderr:\n" + stderr)
        checked, mismatches, whole, walked, reused, proven = (int(n) for n in native.groups())
        partial = PARTIAL.search(stderr)
        self.assertIsNotNone(partial, stderr)
        self.assertEqual(int(partial.group(2)), 0, "a partial Python walk was wrong:\n" + stderr[-3000:])
        self.assertEqual(mismatches, 0, "a native stack was not libunwind's:\n" + stderr[-6000:])
        return {"checked": checked, "whole": whole, "proven": proven, "frames": walked + reused,
                "partial": int(partial.group(1))}

    def assert_proof_used(self, counts, at_least):
        """Where the Python side proves frames (partial walks), most deep allocations must have
        used the proof; where it cannot, nothing can have."""
        if counts["partial"] == 0:
            self.assertEqual(counts["proven"], 0, counts)
        else:
            self.assertGreater(counts["proven"], at_least, counts)

    def test_deep_recursion_entered_from_c(self):
        counts = self.verified_run("""
for work in (lambda: bottom_loop(300), lambda: alloc(1)):
    via_map(300, work)
    via_sorted_key(150, work)
    Level(150, work)
    mixed(300, work)
""")
        self.assertGreater(counts["checked"], 4 * 300)
        self.assert_proof_used(counts, 4 * 300)

    def test_generators_entered_from_c(self):
        # Each level is a generator resumed by next() (from C); suspended generators are resumed
        # at the bottom, so frames leave and come back at the same depth.
        counts = self.verified_run("""
def level(n):
    if n == 0:
        while True:
            yield bottom_loop(20)
    inner = level(n - 1)
    while True:
        yield next(inner) + alloc(n)

chain = level(200)
for _ in range(30):
    next(chain)

def producer(n):
    for i in range(n):
        yield alloc(i)

def deep_consumer(n):
    return sum(producer(50)) if n == 0 else list(map(deep_consumer, [n - 1]))[0]

for _ in range(10):
    deep_consumer(200)
""")
        self.assertGreater(counts["checked"], 30 * 200)
        self.assert_proof_used(counts, 30 * 20)

    def test_exceptions_unwound_through_c(self):
        # Exceptions raised deep in a recursion through map() unwind its C frames and are caught
        # a few levels up, which then recurse again to the same depth.
        counts = self.verified_run("""
class Deep(Exception):
    pass

def thrower(n, catch_at):
    alloc(n)
    if n == 0:
        raise Deep()
    try:
        return list(map(thrower, [n - 1], [catch_at]))[0]
    except Deep:
        if n % catch_at:
            raise
        return bottom_loop(10)

for catch_at in (3, 7, 50):
    for _ in range(5):
        via_map(150, lambda: thrower(100, catch_at))
""")
        self.assertGreater(counts["checked"], 15 * 100)
        self.assert_proof_used(counts, 15 * 10)

    def test_threads_each_prove_their_own_frames(self):
        counts = self.verified_run("""
import threading

def worker(seed):
    for round in range(3):
        mixed(120 + seed * 10, lambda: bottom_loop(100))

threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(4)]
for thread in threads:
    thread.start()
mixed(150, lambda: bottom_loop(100))
for thread in threads:
    thread.join()
""")
        self.assertGreater(counts["checked"], 13 * 100)
        self.assert_proof_used(counts, 13 * 50)

    def test_greenlets_switching_between_deep_stacks(self):
        # Greenlets run on one thread and swap slices of its stack; an unwind walking out of a
        # greenlet reads its parent's stack as it was when the greenlet started.
        check = lib.run_python(["-c", "import greenlet"])
        if check.returncode != 0:
            self.skipTest("no greenlet module for this interpreter")
        counts = self.verified_run("""
import greenlet

def body(n, rounds):
    def bottom():
        for i in range(rounds):
            bottom_loop(20)
            greenlet.getcurrent().parent.switch(i)
        return 0
    return via_map(n, bottom)

workers = [greenlet.greenlet(lambda n=n: body(n, 30)) for n in (60, 90, 120)]
for _ in range(31):
    for worker in workers:
        if not worker.dead:
            mixed(40, lambda: worker.switch())
""")
        self.assertGreater(counts["checked"], 3 * 30 * 20)

    def test_stacks_deeper_than_the_old_native_limit(self):
        # 8,000 native frames between two Python frames (tests/native/deep_native_probe.c), under
        # a recursion through map(): far over the 4,096 frames past which libunwind used to get
        # every stack whole. The incremental walk keeps them, and the Python proof covers the
        # native recursion too (it lies between two evaluation calls that have not returned).
        library = self.tmp / "libdeep_native_probe.so"
        lib.run_explained(["cc", "-O2", "-fPIC", "-shared", "-o", library, HERE / "deep_native_probe.c"])
        counts = self.verified_run("""
import ctypes
probe = ctypes.CDLL(%r)
CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int)
callback = CALLBACK(lambda _: bottom_loop(200))
for _ in range(2):
    via_map(50, lambda: probe.descend_natively(8000, callback))
""" % str(library))
        self.assertGreater(counts["checked"], 400)
        self.assertGreater(counts["frames"] / counts["checked"], 4096, counts)
        self.assertLess(counts["whole"], counts["checked"] // 10, counts)
        self.assert_proof_used(counts, 300)

    def test_no_proof_inside_a_trace_function(self):
        # A trace function runs without frame-exit events: the Python stack cannot vouch for
        # its frames, so every word is read again there (and every stack is still exact).
        counts = self.verified_run("""
def tracer(frame, event, arg):
    if event == "call" and frame.f_code.co_name == "trigger":
        via_map(200, lambda: bottom_loop(300))
        mixed(100, lambda: bottom_loop(100))
    return None

def trigger():
    return 0

sys.settrace(tracer)
trigger()
sys.settrace(None)
""")
        self.assertGreater(counts["checked"], 300 + 100)
        # Only allocations outside the trace function (start-up and shut-down) may use a proof.
        self.assertLess(counts["proven"], 100, counts)


if __name__ == "__main__":
    unittest.main()
