"""memray's pytest plugin, registered by the wheel (entry point ``pytest11``: ``memray``).

``pytest --memray`` tracks every test and ends the session with a MEMRAY REPORT of the tests
that allocated most; ``@pytest.mark.limit_memory("24 MB")`` and ``@pytest.mark.limit_leaks("1 MB")``
fail a test that allocates or leaks too much, with or without ``--memray``. Options, markers,
units and messages are pytest-memray's; unlike pytest-memray's, every option may also be set in
the ini file (``pytest.ini``, ``[tool.pytest.ini_options]``...), the command line winning.

Each tracked test body (not its fixtures) runs inside a ``memray.Tracker`` writing an aggregated
capture; ``memray.FileReader`` reads it back: its peak for ``limit_memory`` and the summary, its
leaks for ``limit_leaks``. Under pytest-xdist the workers write their captures and results where
the controller told them (``pytest_configure_node``), and the controller prints the summary.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import inspect
import json
import math
import os
import shutil
import tempfile
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from memray import _pytest_limits as limits
from memray._pytest_limits import LeaksFilterFunction, Stack, StackFrame
from memray._reader import FileReader
from memray._tracker import Tracker
from memray._types import FileFormat

__all__ = ["LeaksFilterFunction", "Stack", "StackFrame"]

# The summary: the largest locations shown per test, and the histogram's bars.
_TOP_LOCATIONS = 5
_HISTOGRAM_BINS = 5
_BARS = " ▁▂▃▄▅▆▇█"
# A capture's name must leave room for a ".metadata"-style sibling within NAME_MAX (255).
_LONGEST_NAME = 250


@dataclass(frozen=True)
class _Option:
    dest: str
    flag: str
    kind: str  # bool, count (>= 0), positive, path, string
    default: Any
    help: str


OPTIONS = (
    _Option("memray", "--memray", "bool", False,
            "track every test's memory and end with a summary of the tests that allocated most"),
    _Option("memray_bin_path", "--memray-bin-path", "path", None,
            "keep each test's capture in this directory, created if needed (default: a temporary "
            "directory, removed at the end)"),
    _Option("memray_bin_prefix", "--memray-bin-prefix", "string", None,
            "prefix of the capture files' names in the bin path (default: a random hex string)"),
    _Option("hide_memray_summary", "--hide-memray-summary", "bool", False,
            "do not print the MEMRAY REPORT at the end of the session"),
    _Option("most_allocations", "--most-allocations", "count", 5,
            "show the N tests that allocated most in the summary (N=0 for all)"),
    _Option("stacks", "--stacks", "positive", 1,
            "show N frames of each allocation's stack when a memory limit fails"),
    _Option("native", "--native", "bool", False,
            "record native stacks too, and show them when a memory limit fails (slower)"),
    _Option("trace_python_allocators", "--trace-python-allocators", "bool", False,
            "record every allocation of Python's own allocator (pymalloc), not only its arenas"),
    _Option("fail_on_increase", "--fail-on-increase", "bool", False,
            "fail a limit_memory test that uses more memory than in its previous run"),
)
# pytest-memray's spelling of one ini key, read when ours is not set.
_INI_ALIASES = {"fail_on_increase": "fail-on-increase"}
_VERBOSITY_INI = "verbosity_memray"

_MARKER_LINES = (
    "limit_memory(limit, *, current_thread_only=False): fail the test if the memory it holds at its "
    "peak reaches limit, a size such as \"24 MB\" (units B, KB, MB, GB, TB, PB; 1 KB = 1024 B)",
    "limit_leaks(location_limit, *, filter_fn=None, current_thread_only=False): fail the test if one "
    "location (a distinct call stack) leaves location_limit or more allocated when the test ends; "
    "filter_fn(stack) returning False excuses a location",
)


def _int_value(kind: str, text: object) -> int:
    try:
        value = int(str(text).strip())
    except ValueError:
        value = -1
    if value < (1 if kind == "positive" else 0):
        raise argparse.ArgumentTypeError("%s is an invalid %s int value"
                                         % (text, "positive" if kind == "positive" else "non-negative"))
    return value


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("memray", "memray memory profiling")
    for option in OPTIONS:
        # A None default tells "not given" apart, so that the ini file's value can stand.
        kwargs: Dict[str, Any] = {"dest": option.dest, "default": None, "help": option.help}
        if option.kind == "bool":
            kwargs["action"] = "store_true"
        elif option.kind in ("count", "positive"):
            kwargs["type"] = functools.partial(_int_value, option.kind)
            kwargs["metavar"] = "N"
        else:
            kwargs["metavar"] = "DIR" if option.kind == "path" else "PREFIX"
        group.addoption(option.flag, **kwargs)
        default = "" if option.default in (None, False) else " (default: %s)" % option.default
        parser.addini(option.dest, option.help + default,
                      type="bool" if option.kind == "bool" else "string", default=None)
    for ours, theirs in _INI_ALIASES.items():
        parser.addini(theirs, "pytest-memray's name of %s" % ours, type="bool", default=None)
    parser.addini(_VERBOSITY_INI, "how much a limit_memory failure lists: an int as -v/-q count, or 'auto' "
                  "(pytest's verbosity)", default="auto")


@dataclass
class Settings:
    memray: bool
    memray_bin_path: Optional[Path]
    memray_bin_prefix: Optional[str]
    hide_memray_summary: bool
    most_allocations: int
    stacks: int
    native: bool
    trace_python_allocators: bool
    fail_on_increase: bool
    verbosity: int


def _ini_names(config: pytest.Config) -> set:
    return set(getattr(config, "inicfg", None) or ())


def _from_ini(config: pytest.Config, option: _Option, name: str) -> Any:
    raw = config.getini(name)
    if option.kind == "bool":
        return bool(raw)
    try:
        if option.kind in ("count", "positive"):
            return _int_value(option.kind, raw)
    except argparse.ArgumentTypeError as error:
        raise pytest.UsageError("ini option %s: %s" % (name, error)) from None
    text = str(raw).strip()
    if option.kind == "path":
        base = Path(config.inipath).parent if getattr(config, "inipath", None) else Path(config.rootpath)
        return base / text
    return text or None


def settings_of(config: pytest.Config) -> Settings:
    """Each option: the command line's if given, else the ini file's, else the default."""
    in_ini = _ini_names(config)
    values: Dict[str, Any] = {}
    for option in OPTIONS:
        value = config.getoption(option.dest)
        if value is None:
            names = [n for n in (option.dest, _INI_ALIASES.get(option.dest)) if n and n in in_ini]
            value = _from_ini(config, option, names[0]) if names else option.default
        values[option.dest] = value
    if values["memray_bin_path"] is not None:
        values["memray_bin_path"] = Path(values["memray_bin_path"]).absolute()
    verbosity = str(config.getini(_VERBOSITY_INI)).strip()
    if verbosity in ("", "auto"):
        values["verbosity"] = int(config.getoption("verbose") or 0)
    else:
        try:
            values["verbosity"] = int(verbosity)
        except ValueError:
            raise pytest.UsageError("ini option %s: %r is neither an int nor 'auto'" % (_VERBOSITY_INI, verbosity))
    return Settings(**values)


def _prepare_bin_path(path: Path) -> None:
    """pytest-memray's checks of --memray-bin-path, as usage errors."""
    if path.exists() and not path.is_dir():
        raise pytest.UsageError("--memray-bin-path: %s must be a directory" % path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise pytest.UsageError("--memray-bin-path: cannot create directory %s due to %s" % (path, error))
    if not os.access(str(path), os.W_OK):
        raise pytest.UsageError("--memray-bin-path: %s is read-only" % path)


def capture_name(prefix: str, nodeid: str) -> str:
    """``<prefix>-<test id with "::" and "/" made "-">.bin``; too long a name is cut and made
    unique with a hash of the whole."""
    name = "%s-%s.bin" % (prefix, nodeid.replace("::", "-").replace(os.sep, "-"))
    if len(os.fsencode(name)) <= _LONGEST_NAME:
        return name
    digest = "-" + hashlib.sha256(os.fsencode(name)).hexdigest()[:16] + ".bin"
    head = os.fsencode(name)[:_LONGEST_NAME - len(digest)].decode("utf-8", "ignore")
    return head + digest


@dataclass
class TrackedTest:
    """A tracked test that passed: what the summary needs of it."""

    nodeid: str
    peak_memory: int
    total_allocations: int
    capture: str


def histogram(sizes: List[int], bins: int) -> str:
    """The sizes' distribution on a log scale, one bar glyph per bin."""
    logs = [math.log(size) for size in sizes if size > 0]
    if not logs or bins < 1:
        return ""
    low, high = min(logs), max(logs)
    width = (high - low) / bins
    counts = [0] * bins
    for value in logs:
        counts[min(int((value - low) / width), bins - 1) if width else 0] += 1
    tallest = max(counts)
    return " ".join(_BARS[count * (len(_BARS) - 1) // tallest] for count in counts)


class MemrayPlugin:
    """One pytest session's tracking: registered by pytest_configure as ``memray_plugin``."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        handed = getattr(config, "workerinput", None) or {}  # from the xdist controller, in a worker
        self.prefix: str = handed.get("memray_bin_prefix") or settings.memray_bin_prefix or uuid.uuid4().hex
        self._scratch: Optional[Path] = Path(handed["memray_scratch"]) if handed.get("memray_scratch") else None
        self._own_scratch = False
        self.results: Dict[str, TrackedTest] = {}
        self._to_check: Dict[str, tuple] = {}
        if settings.memray_bin_path is not None:
            _prepare_bin_path(settings.memray_bin_path)

    # ---- where captures and results go ----

    def scratch(self) -> Path:
        """This session's directory for temporary captures and (under xdist) results: the
        controller's when it handed one, else made on first use and removed at the end."""
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="memray-pytest-"))
            self._own_scratch = True
        return self._scratch

    def _capture_path(self, nodeid: str) -> Path:
        if self.settings.memray_bin_path is not None:
            path = self.settings.memray_bin_path / capture_name(self.prefix, nodeid)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            return path
        captures = self.scratch() / "captures"
        captures.mkdir(exist_ok=True)
        return captures / ("%s.bin" % uuid.uuid4().hex)

    def _discard(self, path: Path) -> None:
        """A capture nobody will read again goes at once (the summary reads them at the end)."""
        if self.settings.memray_bin_path is None and not self.settings.memray:
            with contextlib.suppress(OSError):
                path.unlink()

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """pytest-xdist, in the controller: hand each worker our prefix and, when the summary
        will need the workers' results, our scratch directory."""
        node.workerinput["memray_bin_prefix"] = self.prefix
        if self.settings.memray and not self.settings.hide_memray_summary:
            node.workerinput["memray_scratch"] = str(self.scratch())

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self._own_scratch and self._scratch is not None:
            shutil.rmtree(str(self._scratch), ignore_errors=True)

    # ---- tracking a test ----

    @pytest.hookimpl(hookwrapper=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> Iterator[None]:
        markers = list(pyfuncitem.iter_markers())
        if not self.settings.memray and not any(marker.name in limits.MARKERS for marker in markers):
            yield
            return
        test = pyfuncitem.obj
        pyfuncitem.obj = self._tracked(pyfuncitem, test, markers)
        try:
            yield
        finally:
            pyfuncitem.obj = test

    def _tracked(self, item: pytest.Function, test: Any, markers: List[Any]) -> Any:
        plugin = self
        if inspect.iscoroutinefunction(test):
            @functools.wraps(test)
            async def tracked_coroutine(*args: Any, **kwargs: Any) -> Any:
                __tracebackhide__ = True
                item.obj = test  # a plugin that calls the hook again (flaky) must not wrap twice
                tracker, path, limit = plugin._prepare(item, markers)
                with tracker:
                    result = await test(*args, **kwargs)
                plugin._record(item.nodeid, path, limit)
                return result
            return tracked_coroutine

        @functools.wraps(test)
        def tracked(*args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True
            item.obj = test
            tracker, path, limit = plugin._prepare(item, markers)
            with tracker:
                result = test(*args, **kwargs)
            # Only a body that returned is recorded and checked (as pytest-memray).
            plugin._record(item.nodeid, path, limit)
            return result
        return tracked

    def _prepare(self, item: pytest.Function, markers: List[Any]) -> Tuple[Tracker, Path, Optional[limits.Limit]]:
        """The test's Tracker, its capture's path and its limit. A marker that is wrong fails the
        test before it runs, with the marker's error alone (no traceback into the plugin)."""
        wrong = None
        try:
            limit = limits.limit_of(markers)
        except (TypeError, ValueError) as error:
            wrong = "%s: %s" % (type(error).__name__, error)
        if wrong is not None:
            pytest.fail(wrong, pytrace=False)
        leaks = limit is not None and limit.needs_native_traces
        path = self._capture_path(item.nodeid)
        tracker = Tracker(path, native_traces=self.settings.native or leaks,
                          trace_python_allocators=self.settings.trace_python_allocators or leaks,
                          file_format=FileFormat.AGGREGATED_ALLOCATIONS)
        return tracker, path, limit

    def _record(self, nodeid: str, path: Path, limit: Optional[limits.Limit]) -> None:
        if limit is not None:
            self._to_check[nodeid] = (limit, path)
        if not self.settings.memray:
            return
        try:
            with FileReader(path) as reader:
                metadata = reader.metadata
        except OSError:
            return
        result = TrackedTest(nodeid, metadata.peak_memory, metadata.total_allocations, str(path))
        self.results[nodeid] = result
        if getattr(self.config, "workerinput", None) is not None:  # the controller prints the summary
            results = self.scratch() / "results"
            results.mkdir(exist_ok=True)
            (results / (uuid.uuid4().hex + ".json")).write_text(json.dumps(asdict(result)))

    # ---- the markers' verdicts ----

    def _check(self, nodeid: str) -> limits.Check:
        cache = getattr(self.config, "cache", None)  # None under -p no:cacheprovider
        key = "memray/" + nodeid

        def previous_total() -> Optional[float]:
            return (cache.get(key, None) or {}).get("total_allocated_memory") if cache is not None else None

        def remember_total(total: float) -> None:
            if cache is not None:
                cache.set(key, {"total_allocated_memory": total})

        return limits.Check(self.settings.stacks, self.settings.native, self.settings.verbosity,
                            self.settings.fail_on_increase, previous_total, remember_total)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
        outcome = yield
        if call.when != "call":
            return
        pending = self._to_check.pop(item.nodeid, None)
        if pending is None:
            return
        limit, path = pending
        report = outcome.get_result()
        if not report.passed:
            self._discard(path)
            return
        try:
            failure = limits.check_capture(limit, str(path), self._check(item.nodeid))
        except Exception:
            report.outcome = "failed"
            report.longrepr = "memray could not check %s:\n%s" % (
                limit.name, pytest.ExceptionInfo.from_current().getrepr(style="short"))
            return
        finally:
            self._discard(path)
        if failure is not None:
            report.outcome = "failed"
            report.longrepr = failure.message
            if failure.section is not None:
                report.sections.append(failure.section)

    @pytest.hookimpl(hookwrapper=True, trylast=True)
    def pytest_report_teststatus(self, report: Any, config: pytest.Config) -> Iterator[None]:
        outcome = yield
        if getattr(report, "when", None) == "call" and report.failed and any(
                name.startswith("memray-") for name, _ in report.sections):
            outcome.force_result(("failed", "M", "MEMORY PROBLEMS"))

    # ---- the summary ----

    def _all_results(self) -> Dict[str, TrackedTest]:
        results = dict(self.results)
        directory = self._scratch / "results" if self._scratch is not None else None
        if directory is not None and directory.is_dir():  # the workers' (pytest-xdist)
            for path in sorted(directory.glob("*.json")):
                with contextlib.suppress(OSError, ValueError, TypeError):
                    result = TrackedTest(**json.loads(path.read_text()))
                    results.setdefault(result.nodeid, result)
        return {nodeid: result for nodeid, result in results.items() if os.path.exists(result.capture)}

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.settings.memray or self.settings.hide_memray_summary:
            return
        results = self._all_results()
        write = terminalreporter.write_line
        write("")
        terminalreporter.write_sep("=", "MEMRAY REPORT")
        ranked = sorted(results.values(), key=lambda result: (-result.peak_memory, result.nodeid))
        shown = 0
        for result in ranked:
            if self.settings.most_allocations and shown >= self.settings.most_allocations:
                break
            if self._write_result(write, result):
                shown += 1
        if self.settings.memray_bin_path is not None:
            write("Created %d binary dumps at %s with prefix %s"
                  % (len(results), self.settings.memray_bin_path, self.prefix))

    @staticmethod
    def _write_result(write: Any, result: TrackedTest) -> bool:
        try:
            with FileReader(result.capture) as reader:
                records = list(reader.get_high_watermark_allocation_records())
        except OSError:
            return False
        if not records:
            return False
        write("Allocation results for %s at the high watermark" % result.nodeid)
        write("")
        write("\t 📦 Total memory allocated: %s" % limits.format_size(result.peak_memory))
        write("\t 📏 Total allocations: %d" % result.total_allocations)
        sizes = [record.size for record in records]
        write("\t 📊 Histogram of allocation sizes: |%s|" % histogram(sizes, min(len(sizes), _HISTOGRAM_BINS)))
        write("\t 🥇 Biggest allocating functions:")
        listed = 0
        for record in sorted(records, key=lambda record: record.size, reverse=True):
            if listed == _TOP_LOCATIONS:
                break
            stack = record.stack_trace(max_stacks=1)
            if stack:
                write("\t\t- %s:%s:%d -> %s" % (stack[0] + (limits.format_size(record.size),)))
                listed += 1
        write("")
        return True


def pytest_configure(config: pytest.Config) -> None:
    for line in _MARKER_LINES:
        config.addinivalue_line("markers", line)
    config.pluginmanager.register(MemrayPlugin(config, settings_of(config)), "memray_plugin")
