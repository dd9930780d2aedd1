# -*- coding: utf-8 -*-
"""Runs inside the interpreter under test (see python_frames_test.py).

Loads the probe library (argv[1]) with ctypes and calls it from known places: nested calls,
methods, a lambda, generators, coroutines under asyncio, a thread, deep recursion, callbacks
from C, __init__, a profile hook, non-ASCII names and filenames. Every walk is checked twice:

* against CPython's own view of the same stack, traceback.extract_stack() evaluated on the
  same line, frame by frame (name, filename, line), all the way to the outermost frame;
* against the frames this file expects of itself, written out below as (function, marker)
  pairs, where a marker is a "# @name" comment at the end of the line the frame is on.

The second check keeps the first honest (the oracle could drift the same way as the walker).
Everything runs once with the library loaded through ctypes.PyDLL (GIL held during the walk)
and once through ctypes.CDLL (GIL released).

Keep each probed call on a single line: multi-line calls are attributed to different lines by
different CPython versions.
"""

import asyncio
import ctypes
import functools
import re
import sys
import threading
import traceback
import types

THIS = sys._getframe().f_code.co_filename
LINES = {}
with open(THIS, encoding="utf-8") as source:
    for number, text in enumerate(source, 1):
        found = re.search(r"#\s*@(\w+)\s*$", text)
        if found:
            assert found.group(1) not in LINES, "duplicate marker " + found.group(1)
            LINES[found.group(1)] = number


def load(loader):
    lib = loader(sys.argv[1])
    for name in ("probe_error", "probe_stack", "probe_stack_n", "probe_stack_until_mark", "probe_current_code"):
        getattr(lib, name).restype = ctypes.c_char_p
    lib.probe_stack_n.argtypes = [ctypes.c_size_t]
    return lib


LIBS = {"PyDLL": load(ctypes.PyDLL), "CDLL": load(ctypes.CDLL)}
LIB = LIBS["PyDLL"]
MODE = "PyDLL"
CHECKS = 0


class Mismatch(Exception):
    pass


def clean(text):
    # The walker writes lone surrogates (legal in str, not in UTF-8) as U+FFFD.
    return re.sub("[\ud800-\udfff]", "\ufffd", text)


def parse(raw):
    frames = []
    for item in raw.decode("utf-8").split(";") if raw else []:
        name, rest = item.split(":", 1)
        filename, line = rest.rsplit(":", 1)
        frames.append((name, filename, int(line)))
    return frames


# Helper code with non-ASCII filenames, one per PEP 393 width (and one with a lone surrogate),
# compiled from a string so no such files need to exist.
HELPER_SOURCE = "def call(fn):\n    return fn()\n"
HELPER_LINE = 2
HELPER_FILES = ["/tmp/pf-ü/latin1.py", "/tmp/pf-函数/ucs2.py", "/tmp/pf-𠀀/ucs4.py", "/tmp/pf-\udcff/surrogate.py"]


def make_helper(filename):
    namespace = {}
    exec(compile(HELPER_SOURCE, filename, "exec"), namespace)
    return namespace["call"]


HELPERS = [make_helper(f) for f in HELPER_FILES]
KNOWN_FILES = {THIS} | {clean(f) for f in HELPER_FILES}

# Names the walker deliberately does not decode: str subclasses are "legacy" (non-compact)
# strings, which it reports as "???".
UNDECODED_NAMES = {"renamed_by_subclass"}


def where(marker):
    return (THIS, LINES[marker]) if isinstance(marker, str) else marker


def probe(expected, fn=None, args=(), cut=None):
    """Walks the stack from here. `expected` lists the frames below this one that live in the
    files this test knows, innermost first, as (function name, marker or (file, line))."""
    raw, oracle = (fn or LIB.probe_stack)(*args), traceback.extract_stack()  # @probe
    global CHECKS
    CHECKS += 1
    if raw.startswith(b"error:"):
        raise Mismatch(raw.decode())
    got = parse(raw)

    want = []
    for frame in reversed(oracle):
        name = "???" if frame.name in UNDECODED_NAMES else frame.name
        want.append((name, clean(frame.filename), frame.lineno))
    if cut:
        want = cut(want)
    mine = [(n, *where(m)) for n, m in [("probe", "probe")] + expected]
    got_mine = [f for f in got if f[1] in KNOWN_FILES]

    if got != want or got_mine != mine:
        report = ["%s: stack mismatch (caller %s)" % (MODE, sys._getframe(1).f_code.co_name)]
        width = max(len(got), len(want))
        for i in range(width):
            g = got[i] if i < len(got) else "-"
            w = want[i] if i < len(want) else "-"
            report.append("  %s %-60s %s" % ("  " if g == w else "!!", g, w))
        report.append("  own frames got:  %s" % got_mine)
        report.append("  own frames want: %s" % mine)
        raise Mismatch("\n".join(report))
    return got


MAIN = [("run_all", "run_all"), ("main", "main"), ("<module>", "module")]


# --- plain nested calls --------------------------------------------------------------------

def level2():
    return probe([("level2", "level2"), ("level1", "level1"), ("s_nested", "nested")] + MAIN)  # @level2


def level1():
    return level2()  # @level1


def s_nested():
    level1()  # @nested


# --- methods and a lambda ------------------------------------------------------------------

class Widget:
    def method(self):
        return probe([("method", "method"), ("make", "classmethod"), ("build", "staticmethod"), ("s_methods", "methods")] + MAIN)  # @method

    @classmethod
    def make(cls):
        return cls().method()  # @classmethod

    @staticmethod
    def build():
        return Widget.make()  # @staticmethod


def s_methods():
    Widget.build()  # @methods


def s_lambda():
    f = lambda: probe([("<lambda>", "lambda"), ("s_lambda", "lambda_call")] + MAIN)  # @lambda
    f()  # @lambda_call


# --- generators ----------------------------------------------------------------------------

def inner_gen():
    yield probe([("inner_gen", "inner_gen"), ("outer_gen", "outer_gen"), ("s_generators", "next_gen")] + MAIN)  # @inner_gen


def outer_gen():
    yield from inner_gen()  # @outer_gen


def simple_gen():
    yield 1
    yield probe([("simple_gen", "simple_gen"), ("s_generators", "list_gen")] + MAIN)  # @simple_gen


def s_generators():
    next(outer_gen())  # @next_gen
    list(simple_gen())  # @list_gen


# --- coroutines under asyncio --------------------------------------------------------------

async def leaf_coro():
    await asyncio.sleep(0)  # resumed by the event loop, not by the first send()
    return probe([("leaf_coro", "leaf_coro"), ("mid_coro", "mid_coro"), ("s_asyncio", "asyncio_run")] + MAIN)  # @leaf_coro


async def mid_coro():
    return await leaf_coro()  # @mid_coro


def s_asyncio():
    asyncio.run(mid_coro())  # @asyncio_run


# --- a thread started by threading ---------------------------------------------------------

def thread_body(outcome):
    try:
        probe([("thread_body", "thread_body")])  # @thread_body
    except BaseException as e:  # handed to the main thread
        outcome.append(e)


def s_thread():
    outcome = []
    t = threading.Thread(target=thread_body, args=(outcome,))
    t.start()
    t.join()
    if outcome:
        raise outcome[0]


# --- deep recursion ------------------------------------------------------------------------

DEPTH = 200


def recurse(n):
    if n == 0:
        return probe([("recurse", "recurse_base")] + [("recurse", "recurse_call")] * DEPTH + [("s_recursion", "recursion")] + MAIN)  # @recurse_base
    return recurse(n - 1)  # @recurse_call


def s_recursion():
    recurse(DEPTH)  # @recursion


# --- non-ASCII function names (Latin-1, BMP and astral: PEP 393 kinds 1, 2 and 4) ----------

def 𠀀():
    return probe([("𠀀", "astral"), ("函数", "bmp"), ("größe", "latin1"), ("s_unicode_names", "unicode_names")] + MAIN)  # @astral


def 函数():
    return 𠀀()  # @bmp


def größe():
    return 函数()  # @latin1


def s_unicode_names():
    größe()  # @unicode_names


# --- non-ASCII filenames -------------------------------------------------------------------

def filenames_leaf():
    helpers = [("call", (clean(f), HELPER_LINE)) for f in reversed(HELPER_FILES)]
    return probe([("filenames_leaf", "filenames_leaf")] + helpers + [("s_filenames", "filenames")] + MAIN)  # @filenames_leaf


def s_filenames():
    # functools.partial is C, so the only Python frames between are the helpers'.
    chain = filenames_leaf
    for helper in reversed(HELPERS):
        chain = functools.partial(helper, chain)
    chain()  # @filenames


# --- a name the walker does not decode -----------------------------------------------------

class SubclassedName(str):
    pass


def renamed():
    return probe([("???", "renamed"), ("s_undecoded_name", "undecoded_name")] + MAIN)  # @renamed


def with_name(code, name):
    if hasattr(code, "replace"):
        return code.replace(co_name=name)
    # 3.7: no CodeType.replace; its constructor takes these, in this order.
    return types.CodeType(code.co_argcount, code.co_kwonlyargcount, code.co_nlocals, code.co_stacksize,
                          code.co_flags, code.co_code, code.co_consts, code.co_names, code.co_varnames,
                          code.co_filename, name, code.co_firstlineno, code.co_lnotab, code.co_freevars,
                          code.co_cellvars)


renamed.__code__ = with_name(renamed.__code__, SubclassedName("renamed_by_subclass"))


def s_undecoded_name():
    renamed()  # @undecoded_name


# --- Python called back from C (3.11+: a new _PyCFrame; 3.12+: a C-stack entry frame) -------

def callback(item):
    return probe([("callback", "callback"), ("s_c_callback", "c_callback")] + MAIN)  # @callback


def s_c_callback():
    list(map(callback, [1]))  # @c_callback


# --- __init__ (3.12: called from C; 3.13: specialised, behind an incomplete shim frame) ------

class Initialised:
    def __init__(self):
        probe([("__init__", "init"), ("s_init", "init_call")] + MAIN)  # @init


def s_init():
    for _ in range(20):  # enough calls for the specialising interpreter to kick in
        Initialised()  # @init_call


# --- list comprehension (own frame up to 3.11, inlined from 3.12) --------------------------

def s_listcomp():
    own = [("<listcomp>", "listcomp")] if sys.version_info < (3, 12) else []
    return [probe(own + [("s_listcomp", "listcomp")] + MAIN) for _ in range(1)]  # @listcomp


# --- a frame caught in its "call" profile event (3.8-3.10: f_lasti is still -1) --------------

def profiled():  # @profiled_def
    return None


def profiler(frame, event, arg):
    if event == "call" and frame.f_code is profiled.__code__:
        try:
            probe([("profiler", "profiler"), ("profiled", "profiled_def"), ("s_profile", "profile_call")] + MAIN)  # @profiler
        except BaseException as e:
            PROFILE_OUTCOME.append(e)


PROFILE_OUTCOME = []


def s_profile():
    del PROFILE_OUTCOME[:]
    sys.setprofile(profiler)
    try:
        profiled()  # @profile_call
    finally:
        sys.setprofile(None)
    if PROFILE_OUTCOME:
        raise PROFILE_OUTCOME[0]


# --- capacity and stop_code ----------------------------------------------------------------

def s_capacity():
    below = [("s_capacity", "capacity")] + MAIN
    for capacity in (1, 3):
        probe(below[: capacity - 1], fn=LIB.probe_stack_n, args=(capacity,), cut=lambda want: want[:capacity])  # @capacity


def below_mark():
    return probe([("below_mark", "below_mark"), ("between", "between")], fn=LIB.probe_stack_until_mark, cut=until("marked"))  # @below_mark


def between():
    return below_mark()  # @between


def marked():
    LIB.probe_mark()  # remembers currentCode(): this function's code object
    return between()  # @marked


def until(name):
    def cut(want):
        for i, frame in enumerate(want):
            if frame[0] == name and frame[1] == THIS:
                return want[:i]
        raise Mismatch("no frame %s in the oracle's stack" % name)
    return cut


def s_stop_code():
    marked()  # @stop_code


# --- currentCode() and readCode() ----------------------------------------------------------

def decorate(fn):
    return fn


@decorate
def current_code_target():
    return LIB.probe_current_code()


def s_current_code():
    global CHECKS
    for fn in (current_code_target, größe_current):
        code = fn.__code__
        want = "%s:%s:%d" % (code.co_name, code.co_filename, code.co_firstlineno)
        got = fn().decode("utf-8")
        if got != want:
            raise Mismatch("%s: currentCode/readCode gave %r, expected %r" % (MODE, got, want))
        CHECKS += 1


def größe_current():
    return LIB.probe_current_code()


# --- a thread that never ran Python --------------------------------------------------------

def s_native_thread():
    global CHECKS
    count = LIB.probe_native_thread_frames()
    if count != 0:
        raise Mismatch("%s: a native thread walked %d frames, expected 0" % (MODE, count))
    CHECKS += 1


SCENARIOS = [
    s_nested, s_methods, s_lambda, s_generators, s_asyncio, s_thread, s_recursion, s_unicode_names,
    s_filenames, s_undecoded_name, s_c_callback, s_init, s_listcomp, s_profile, s_capacity,
    s_stop_code, s_current_code, s_native_thread,
]


def run_all():
    failures = []
    for scenario in SCENARIOS:
        try:
            scenario()  # @run_all
        except Mismatch as e:
            failures.append(str(e))
    return failures


def main():
    global LIB, MODE
    error = LIB.probe_error().decode()
    if error:
        print("walker did not initialise: " + error)
        return 1
    if LIB.probe_python_minor() != sys.version_info[1]:
        print("walker thinks this is 3.%d" % LIB.probe_python_minor())
        return 1
    failures = []
    for MODE, LIB in LIBS.items():
        failures += run_all()  # @main
    print("%s: %d checks, %d failure(s)" % (sys.version.split()[0], CHECKS, len(failures)))
    for failure in failures:
        print(failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())  # @module
