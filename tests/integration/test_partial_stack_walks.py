"""Partial stack walks: an allocation re-reads only the frames that may have changed since the
thread's previous one, the rest is known unchanged from frame-exit events (payload/src/
python_stack.h). On 3.12+ those are sys.monitoring's: for every frame with
--trace-python-allocators, for the frames of code found deep in a stack in every other mode.
Before 3.12 they come from a profile function put in the slot of each thread found deep
(payload/src/profile_exit_hook.h). Under MEMRAY_PARTIAL_WALK_VERIFY=1 the payload checks every
partial walk against a full one; this test drives that check through every way a frame can come
and go, near the top of the stack and deep under it, in every mode, and through every way a
thread's profile slot can change hands (sys.setprofile, cProfile, a trace function). Runs once
per interpreter under test (tests/cmake/capture.cmake); greenlets where the interpreter has
them (Debian's python3.11 with python3-greenlet)."""

import re
import shutil
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import memray_testlib as lib  # noqa: E402

CHAINS = r'''
import asyncio

# Deep chains of distinct coroutine and generator functions (generated: a web framework's
# middleware stack, a pipeline of generator stages). On 3.12+ their frames anchor stacks when
# their code runs once in the stack, and a yield moves the anchor like a return.
CHAIN_SOURCE = []
for level in range(150):
    CHAIN_SOURCE.append(f"""
async def link{level}(state):
    if {level} % 5 == 0:
        state.count()
        before = bytearray(600)
    if {level} % 17 == 0:
        await asyncio.sleep(0)
    try:
        result = await {"link%d" % (level + 1) if level < 149 else "chain_leaf"}(state)
    except LookupError:
        if {level} != state.catch_at:
            raise
        result = [str({level})]
    if {level} % 7 == 0:
        state.count()
        after = bytearray(600)
    return result
""")
for level in range(60):
    if level % 10 == 9:
        inner = f"yield from Relay(stage{level + 1}(count))" if level < 59 else "yield from leaf_values(count)"
    else:
        inner = f"yield from stage{level + 1}(count)" if level < 59 else "yield from leaf_values(count)"
    CHAIN_SOURCE.append(f"""
def stage{level}(count):
    [str({level})]
    {inner}
    [{level}]
""")
exec("".join(CHAIN_SOURCE))


class ChainState:
    def __init__(self, catch_at=-1, fail=False):
        self.allocations = 0
        self.catch_at = catch_at
        self.fail = fail

    def count(self):
        self.allocations += 1


ALLOCATIONS_IN_CHAINS = [0]


async def chain_leaf(state):
    for k in range(60):
        state.count()
        value = bytearray(600)
        if k % 10 == 0:
            await asyncio.sleep(0)
    async for tick in ticks(state, 3):
        [tick]
    if state.fail:
        raise KeyError("through the chain")
    return [state.catch_at]


async def ticks(state, count):
    for k in range(count):
        await asyncio.sleep(0)
        state.count()
        yield bytearray(600)


async def recursive_coroutine(depth, state):
    if depth == 0:
        for k in range(10):
            state.count()
            value = bytearray(600)
            await asyncio.sleep(0)
        return 0
    [depth]
    return await recursive_coroutine(depth - 1, state) + 1


async def run_chains(with_recursion):
    states = [ChainState() for _ in range(3)] + [ChainState(catch_at=40, fail=True)]
    recursion = [recursive_coroutine(120, ChainState())] if with_recursion else []
    await asyncio.gather(*(link0(state) for state in states), *recursion)
    failing = ChainState(fail=True)
    try:
        await link0(failing)
    except KeyError:
        [str(failing.allocations)]
    states.append(failing)
    # Cancelled while suspended at the bottom of the chain: CancelledError unwinds all of it.
    cancelled = ChainState()
    task = asyncio.ensure_future(link0(cancelled))
    for _ in range(8):
        await asyncio.sleep(0)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        [1]
    states.append(cancelled)
    return sum(state.allocations for state in states)


def deep_async_chains(with_recursion=True):
    ALLOCATIONS_IN_CHAINS[0] += asyncio.run(run_chains(with_recursion))


class Relay:
    # A plain __next__ frame between two generator frames of a `yield from` chain.
    def __init__(self, inner):
        self.inner = inner

    def __iter__(self):
        return self

    def __next__(self):
        value = next(self.inner)
        return value


def leaf_values(count):
    for k in range(count):
        ALLOCATIONS_IN_CHAINS[0] += 1
        yield bytearray(600)


def resume_chain_from(depth, generator):
    return next(generator, None) if depth == 0 else resume_chain_from(depth - 1, generator)


def generator_stage_chains():
    # The chain resumed under callers of every depth, allocating only at its bottom, and
    # drained whole from one place.
    pipeline = stage0(80)
    for i in range(85):
        resume_chain_from(10 + (i * 13) % 50, pipeline)
    list(stage0(30))
'''

# Every way a Python frame enters and leaves a thread's stack, each allocating on both sides
# of its calls and returns, on several lines, so that a stale cached frame would show.
WORKLOAD = CHAINS + r'''
import sys
import threading


def alloc(n):
    a = [n] * 3
    b = {"n": n}
    c = bytearray(600)  # malloc-sized: seen in every mode, not only with the Python allocators
    return a, b


def recurse(depth):
    if depth == 0:
        return alloc(depth)
    before = [depth]
    result = recurse(depth - 1)
    after = (depth, str(depth))
    if depth % 3 == 0:
        result = alloc(depth)
    return result


def same_call_site(count):
    for i in range(count):
        alloc(i)


def numbers(count):
    for i in range(count):
        yield [i, str(i)]
        label = "x%d" % i


def delegating():
    yield from numbers(5)
    yield from (str(i) for i in range(5))


def interleaved_generators():
    # Two generators advanced alternately from different depths and call sites.
    first, second = numbers(30), delegating()
    def advance(gen, depth):
        return next(gen, None) if depth == 0 else advance(gen, depth - 1)
    for i in range(10):
        advance(first, i % 4)
        [str(i)]
        advance(second, 3 - i % 4)
    first.close()
    closing = numbers(10)
    next(closing)
    try:
        closing.throw(KeyError("stop"))
    except KeyError:
        pass


def thrower(depth):
    if depth == 0:
        raise ValueError([1, 2, 3])
    [depth]
    thrower(depth - 1)


def exceptions(count):
    for i in range(count):
        try:
            thrower(8)
        except ValueError:
            caught = [str(i)]


class Lazy:
    def __getattr__(self, name):
        raise AttributeError(name)


def unwound_into_c(count):
    # __getattr__ unwinds into getattr(), which swallows the error without a Python frame
    # allocating on the way; the next call's frame then takes the unwound frame's address.
    lazy = Lazy()
    for i in range(count):
        value = getattr(lazy, "missing", None)
        alloc(value)


async def coroutine(i):
    await asyncio.sleep(0)
    return [str(i)] * 2


async def gather():
    await asyncio.gather(*(coroutine(i) for i in range(40)))


def tracer(frame, event, arg):
    # Frames of a trace function come and go without frame-exit events.
    record = [event, str(frame.f_lineno)]
    def inner():
        return {"e": event}
    inner()
    return None


def under_profile_function():
    sys.setprofile(tracer)
    try:
        recurse(12)
        same_call_site(20)
    finally:
        sys.setprofile(None)


def under_trace_function():
    sys.settrace(tracer)
    try:
        recurse(12)
        exceptions(3)
    finally:
        sys.settrace(None)


def under_cprofile():
    # cProfile holds the thread's profile slot (before 3.12) or a sys.monitoring tool (3.12+):
    # ours stays out of its way, and takes the slot back once it is free.
    import cProfile
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        recurse(12)
        under(30, same_call_site, 20)
    finally:
        profiler.disable()
    under(30, same_call_site, 20)


def deep_tracer(frame, event, arg):
    # A trace function that runs deep code of its own: its frames come and go unreported.
    if event == "call" and frame.f_code.co_name == "recurse" and frame.f_locals.get("depth") == 5:
        under(30, alloc, 0)
    return None


def under_deep_trace_function():
    sys.settrace(deep_tracer)
    try:
        under(30, recurse, 10)
    finally:
        sys.settrace(None)


def switching_profile_functions():
    # The program's own profile function replaces ours mid-run and goes away again; exits go
    # unreported while it is there.
    def profiler(frame, event, arg):
        return None
    for i in range(3):
        under(30, recurse, 6)
        sys.setprofile(profiler)
        under(20, recurse, 4)
        [str(i)]
        sys.setprofile(None)
        under(25, recurse, 5)


def raise_through_c(depth):
    # Exceptions unwinding deep recursions through C functions that call back into Python.
    def key(n):
        if n == 3:
            thrower(depth)
        return [n]
    for i in range(3):
        try:
            sorted(range(6), key=key)
        except ValueError:
            [i]
        try:
            list(map(lambda n: thrower(depth) if n == 2 else [n], range(4)))
        except ValueError:
            [str(i)]
        alloc(i)


def greenlets():
    # Greenlets switching between deep stacks, each its own chain of frames.
    try:
        import greenlet
    except ImportError:
        return
    def body(seed):
        for i in range(20):
            recurse(seed % 5 + 3)
            greenlet.getcurrent().parent.switch(i)
    def deep(seed):
        return under(30 + seed * 7, body, seed)
    workers = [greenlet.greenlet(deep) for seed in range(3)]
    for round in range(20):
        for seed, worker in enumerate(workers):
            under(10 + seed, worker.switch, seed)
            [str(round)]
    print("greenlets switched")


def under_another_monitoring_tool():
    monitoring = getattr(sys, "monitoring", None)
    if monitoring is None:
        return
    tool = monitoring.PROFILER_ID
    monitoring.use_tool_id(tool, "test profiler")
    def on_start(code, offset):
        return tracer(sys._getframe(), "start", None)
    monitoring.register_callback(tool, monitoring.events.PY_START, on_start)
    monitoring.set_events(tool, monitoring.events.PY_START)
    try:
        recurse(10)
        list(delegating())
    finally:
        monitoring.set_events(tool, 0)
        monitoring.register_callback(tool, monitoring.events.PY_START, None)
        monitoring.free_tool_id(tool)


class Built:
    attributes = [str(i) for i in range(5)]
    def method(self):
        return recurse(5)


def worker(seed):
    for i in range(30):
        recurse(seed + i % 7)
        exceptions(1)
        list(numbers(3))


def under(depth, function, *args):
    # `function` runs `depth` frames deeper than the caller: deep enough that every mode
    # anchors the stack on frames reporting their exits.
    if depth == 0:
        return function(*args)
    [depth]
    result = under(depth - 1, function, *args)
    [str(depth)]
    return result


def deep_worker(seed):
    under(80 + seed, worker, seed)
    under(60, battery)


def deep_generators():
    # Generators resumed alternately from deep and shallow stacks, each deep itself.
    def deep_numbers(count):
        yield from under(40, numbers, count)
    first = deep_numbers(50)
    for i in range(40):
        if i % 2:
            under(50 + i, next, first)
        else:
            next(first)
        [str(i)]


def unwinding_deep_recursion():
    # An exception unwinds half of a deep recursion; the recursion then grows back through the
    # same frame addresses, on other lines.
    for i in range(5):
        try:
            under(30, thrower, 60 + i)
        except ValueError:
            [i]
        under(40, recurse, 30 + i)


def nested_chunks(depth):
    # A `yield from` chain like json's pure-Python encoder: a value yielded at the bottom
    # leaves every generator frame of the chain on its way out.
    yield "[" * (depth % 3)
    if depth > 0:
        yield from chunks_of(depth - 1)
    yield str(depth)


def chunks_of(depth):
    # Every seventh level drains the rest of the chain from a plain function (through list(),
    # from C): plain frames between the generator frames, where anchors can go.
    if depth % 7 == 0:
        return iter(list(nested_chunks(depth)))
    return nested_chunks(depth)


def four_calls_deep():
    return three_calls_deep()


def three_calls_deep():
    return two_calls_deep()


def two_calls_deep():
    return one_call_deep()


def one_call_deep():
    return bytearray(600)


def resume_from(depth, generator):
    # Allocates nothing on the way down: the generator's next allocation is the first one
    # since it was suspended under other callers.
    return next(generator, None) if depth == 0 else resume_from(depth - 1, generator)


def resumed_under_other_callers():
    # A suspended generator frame keeps its address but not its callers: frames found deep
    # under it allocating must not vouch for the callers it had before its yield.
    def suspending(count):
        for i in range(count):
            four_calls_deep()
            yield
    generator = suspending(60)
    for i in range(60):
        resume_from(30 + (i * 7) % 40, generator)


def generator_chains():
    for depth in (40, 300):
        "".join(nested_chunks(depth))
    # RecursionError raised at the bottom of a chain far deeper than the recursion limit
    # unwinds through hundreds of generator and plain frames, into C and out again.
    try:
        under(20, list, nested_chunks(100_000))
    except RecursionError:
        [str(depth)]
    "".join(nested_chunks(60))


def battery():
    recurse(60)
    same_call_site(300)
    interleaved_generators()
    exceptions(40)
    unwound_into_c(40)
    asyncio.run(gather())
    deep_async_chains()
    generator_stage_chains()
    Built().method()
    exec("recurse(7)")
    sorted(range(50), key=lambda n: str(-n))
    under_profile_function()
    under_trace_function()
    under_another_monitoring_tool()
    under_cprofile()
    under_deep_trace_function()
    switching_profile_functions()
    under(40, raise_through_c, 30)


def main():
    monitoring = getattr(sys, "monitoring", None)
    if monitoring is not None:
        print("tool 4:", monitoring.get_tool(4))
    under(200, battery)
    under(150, deep_generators)
    unwinding_deep_recursion()
    resumed_under_other_callers()
    under(100, resumed_under_other_callers)
    generator_chains()
    under(150, generator_chains)
    for round in range(2):
        battery()
    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(4)]
    threads += [threading.Thread(target=deep_worker, args=(seed,)) for seed in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    recurse(300)
    under(900, same_call_site, 2000)
    under(40, greenlets)


main()
'''

CHECKED = re.compile(r"partial stack walks checked: (\d+), mismatches: (\d+)")
FRAMES_READ = re.compile(r"partial stack walks checked: (\d+), mismatches: (\d+), frames read: (\d+) of (\d+)")


def has_greenlet():
    """Whether the interpreter under test can import greenlet (Debian's python3.11 with
    python3-greenlet, which tools/scripts/setup.sh installs, must)."""
    process = lib.run_python(["-c", "import greenlet"])
    if process.returncode != 0 and lib.test_python() == "/usr/bin/python3.11":
        raise AssertionError("python3-greenlet is not installed for /usr/bin/python3.11")
    return process.returncode == 0


class PartialStackWalkTest(lib.TempDirTestCase):
    def run_workload(self, *options):
        result = lib.run_script(
            self.tmp, WORKLOAD, options=options,
            env=lib.memray_env(extra={"MEMRAY_PARTIAL_WALK_VERIFY": "1"}), timeout=600)
        self.assertEqual(result.process.returncode, 0, result.process.stderr)
        match = CHECKED.search(result.process.stderr)
        self.assertIsNotNone(match, result.process.stderr)
        return result, int(match.group(1)), int(match.group(2))

    def check_mode(self, *options, at_least):
        result, checked, mismatches = self.run_workload(*options)
        self.assertEqual(mismatches, 0, "a partial walk disagreed with the full walk")
        # Most allocations must have taken the shortcut, or the test proves nothing. Before
        # 3.12 fewer do: the profile function takes itself out of a thread while its calls
        # outnumber its allocations (which this call-heavy workload's are, in most modes).
        self.assertGreater(checked, at_least if lib.python_version() >= (3, 12) else min(at_least, 1000))
        if lib.python_version() >= (3, 12):
            self.assertIn("tool 4: memray", result.process.stdout)
        if has_greenlet():
            self.assertIn("greenlets switched", result.process.stdout)

    @unittest.skipIf(lib.python_version() >= (3, 12), "frame exits come from sys.monitoring on 3.12+")
    def test_profile_function_leaves_a_thread_that_calls_far_more_than_it_allocates(self):
        # Before 3.12 a thread found deep gets a profile function, which costs it a call per
        # Python call: when calls outnumber allocations past what full walks would cost, it
        # takes itself out, and comes back at a later deep allocation.
        shutil.copy(str(Path(__file__).resolve().parent / "profile_slots.py"), str(self.tmp))
        result = lib.run_script(self.tmp, """
            import sys
            from profile_slots import occupied_profile_slots
            OFFSET = %d
            def tiny(n):
                return n
            def deep(n, then):
                return then() if n == 0 else deep(n - 1, then)
            def allocate():
                [bytearray(600) for _ in range(2000)]
                return occupied_profile_slots(OFFSET)
            def call():
                [tiny(i) for i in range(200000)]
                return occupied_profile_slots(OFFSET)
            print("after a deep allocation", deep(60, allocate))
            print("after calls without allocations", deep(60, call))
            print("after deep allocations again", deep(60, allocate))
        """ % lib.profile_slot_offset(), env=lib.memray_env(extra={"MEMRAY_PARTIAL_WALK_VERIFY": "1"}))
        self.assertEqual(result.process.returncode, 0, result.process.stderr)
        self.assertEqual(result.process.stdout.splitlines(), [
            "after a deep allocation 1", "after calls without allocations 0", "after deep allocations again 1"])
        match = CHECKED.search(result.process.stderr)
        self.assertEqual(int(match.group(2)), 0, result.process.stderr)

    @unittest.skipIf(lib.python_version() >= (3, 12), "frame exits come from sys.monitoring on 3.12+")
    def test_a_forked_child_that_does_not_track_keeps_no_profile_function(self):
        shutil.copy(str(Path(__file__).resolve().parent / "profile_slots.py"), str(self.tmp))
        result = lib.run_script(self.tmp, """
            import os
            from profile_slots import occupied_profile_slots
            OFFSET = %d
            def deep(n, then):
                return then() if n == 0 else deep(n - 1, then)
            def fork():
                [bytearray(600) for _ in range(100)]
                print("parent before", occupied_profile_slots(OFFSET), flush=True)
                pid = os.fork()
                if pid == 0:
                    print("child", occupied_profile_slots(OFFSET), flush=True)
                    os._exit(0)
                os.waitpid(pid, 0)
                print("parent after", occupied_profile_slots(OFFSET), flush=True)
            deep(60, fork)
        """ % lib.profile_slot_offset())
        self.assertEqual(result.process.returncode, 0, result.process.stderr)
        self.assertEqual(result.process.stdout.splitlines(), ["parent before 1", "child 0", "parent after 1"])

    def test_partial_walks_match_full_walks(self):
        # Every frame reports its exit: nearly every allocation walks partially.
        self.check_mode("--trace-python-allocators", at_least=100_000)

    def test_deep_stacks_walk_partially_in_the_default_mode(self):
        # Only code found deep in a stack reports exits: shallow allocations walk whole.
        self.check_mode(at_least=5_000)

    def test_deep_stacks_walk_partially_in_native_mode(self):
        self.check_mode("--native", at_least=5_000)

    def test_deep_stacks_walk_partially_in_aggregated_mode(self):
        self.check_mode("--aggregate", at_least=5_000)

    def test_native_mode_with_python_allocators_anchors_on_deep_frames(self):
        self.check_mode("--native", "--trace-python-allocators", at_least=20_000)

    @unittest.skipIf(lib.python_version() < (3, 12), "before 3.12 a profile function sees every exit anyway")
    def test_deep_chains_of_distinct_coroutines_and_generators_anchor_on_their_frames(self):
        # Allocations at the bottom of a 150-deep chain of coroutines, or of a 60-deep chain of
        # generators, have no plain frame near enough to anchor on: their walks stay short only
        # because the coroutine and generator frames themselves anchor (their code runs once
        # in the stack). Each suspension takes the whole chain off the stack, so the first
        # allocation after it reads the chain again; the others read a few frames each. Before
        # 3.12 a profile function reports every exit, yields included.
        script = CHAINS + """
for round in range(4):
    deep_async_chains(with_recursion=False)
    generator_stage_chains()
"""
        # The share of frames read without the coroutine and generator anchors: about 0.7 in
        # the default and native modes; with them, 0.3. With every return reported
        # (--trace-python-allocators alone) they do not anchor; with --native added they do,
        # and that mode's many more allocations check them at more points.
        modes = (((), 0.5), (("--native",), 0.5), (("--native", "--trace-python-allocators"), None),
                 (("--trace-python-allocators",), None))
        for options, most_read in modes:
            with self.subTest(options=options):
                result = lib.run_script(
                    self.tmp, script, options=options, output="chains-%s.bin" % "-".join(option.strip("-") for option in options),
                    env=lib.memray_env(extra={"MEMRAY_PARTIAL_WALK_VERIFY": "1"}), timeout=600)
                self.assertEqual(result.process.returncode, 0, result.process.stderr)
                match = FRAMES_READ.search(result.process.stderr)
                self.assertIsNotNone(match, result.process.stderr)
                self.assertEqual(int(match.group(2)), 0, "a partial walk disagreed with the full walk")
                read, frames = int(match.group(3)), int(match.group(4))
                if most_read is not None:
                    self.assertLess(read, frames * most_read, result.process.stderr)

if __name__ == "__main__":
    unittest.main()
