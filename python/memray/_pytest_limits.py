"""The pytest plugin's markers, ``limit_memory`` and ``limit_leaks``: their sizes, their
verdicts on a test's capture, and the text of a failure (docs/python-api.md, "The pytest plugin").

Units and messages are pytest-memray's, so that suites and the tools that read their output
keep working: limits are written ``"24 MB"`` with binary units (1 KB = 1024 B), messages show
sizes as ``24.0MiB``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Iterable, List, Optional, Sequence, Tuple

from memray._reader import FileReader
from memray._records import AllocationRecord

MARKERS = ("limit_memory", "limit_leaks")

_LIMIT = re.compile(r"\s*\+?(?P<quantity>\d+(?:\.\d*)?|\.\d+)\s*(?P<unit>[KMGTP]?B)\s*", re.IGNORECASE)
_MULTIPLIERS = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40, "PB": 1 << 50}
# At default verbosity a limit_memory failure lists this many locations, the largest first.
_LISTED_AT_DEFAULT_VERBOSITY = 10
# A leak's stack starts with the allocator's native frames: show at least this many.
_LEAK_FRAMES_AT_LEAST = 5


def parse_size(text: str) -> float:
    """``"24 MB"`` -> 25165824.0. Units B, KB, MB, GB, TB, PB in any case, all binary."""
    match = _LIMIT.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError("Invalid memory size format: %s" % (text,))
    return float(match.group("quantity")) * _MULTIPLIERS[match.group("unit").upper()]


def format_size(size: float) -> str:
    """Bytes as pytest-memray shows them: 1024-based, one decimal (``5.0B``, ``1.5KiB``)."""
    for unit in ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi"):
        if abs(size) < 1024.0:
            return "%3.1f%sB" % (size, unit)
        size /= 1024.0
    return "%.1fYiB" % size


@dataclass(frozen=True)
class StackFrame:
    function: str
    filename: str
    lineno: int


@dataclass(frozen=True)
class Stack:
    """What a ``limit_leaks(filter_fn=...)`` function is given: one leaking location's stack,
    most recent call first (native frames too: leak tests always record them)."""

    frames: Tuple[StackFrame, ...]


LeaksFilterFunction = Callable[[Stack], bool]


@dataclass
class Failure:
    """A marker's verdict against a test: the report's message and its ``memray-*`` section
    (None at a verbosity that hides it)."""

    message: str
    section: Optional[Tuple[str, str]]


@dataclass
class Limit:
    """One test's marker, checked before the test runs (a bad size fails the test at once)."""

    name: str
    size: float
    current_thread_only: bool
    filter_fn: Optional[LeaksFilterFunction]

    @property
    def needs_native_traces(self) -> bool:
        # Leaks are told apart by their full stack, allocator frames included (as pytest-memray).
        return self.name == "limit_leaks"


def limit_of(markers: Sequence[object]) -> Optional[Limit]:
    """The Limit that a test's markers (``item.iter_markers()``, closest first) ask for."""
    names = []
    closest = {}
    for marker in markers:
        name = getattr(marker, "name", None)
        if name in MARKERS and name not in closest:
            names.append(name)
            closest[name] = marker
    if not names:
        return None
    if len(names) > 1:
        raise ValueError("Only one Memray marker can be applied to each test")
    marker = closest[names[0]]
    return _bind(names[0], *marker.args, **marker.kwargs)


def _bind(name: str, *args: object, **kwargs: object) -> Limit:
    # limit_memory(limit, *, current_thread_only=False)
    # limit_leaks(location_limit, *, filter_fn=None, current_thread_only=False)
    size_keyword = "limit" if name == "limit_memory" else "location_limit"
    allowed = {size_keyword, "current_thread_only"} | ({"filter_fn"} if name == "limit_leaks" else set())
    unexpected = sorted(set(kwargs) - allowed)
    if unexpected:
        raise TypeError("%s() got an unexpected keyword argument %r" % (name, unexpected[0]))
    if len(args) > 1 or (args and size_keyword in kwargs):
        raise TypeError("%s() takes one size, then keyword arguments only" % name)
    size = args[0] if args else kwargs.get(size_keyword)
    if size is None:
        raise TypeError("%s() needs a size, for example @pytest.mark.%s(\"24 MB\")" % (name, name))
    filter_fn = kwargs.get("filter_fn")
    if filter_fn is not None and not callable(filter_fn):
        raise TypeError("limit_leaks(filter_fn=...) must be callable, not %r" % (filter_fn,))
    return Limit(name, parse_size(size), bool(kwargs.get("current_thread_only", False)), filter_fn)


def _records(records: Iterable[AllocationRecord], reader: FileReader, current_thread_only: bool):
    if not current_thread_only:
        return list(records)
    main = reader.metadata.main_thread_id
    return [record for record in records if record.tid == main]


def _stack_lines(record: AllocationRecord, hybrid: bool, frames: int) -> List[str]:
    stack = record.hybrid_stack_trace() if hybrid else record.stack_trace()
    if not stack:
        return []
    lines = ["    - %s allocated here:" % format_size(record.size)]
    lines += ["        " + _frame_text(*frame) for frame in stack[:frames]]
    if len(stack) > frames:
        lines.append("        ...")
    return lines


def _frame_text(function: str, filename: str, lineno: int) -> str:
    """``function:file:line``; a native frame without debug information is its symbol alone."""
    if not filename:
        return function
    return "%s:%s:%d" % (function, filename, lineno)


def _listing(title: str, records: List[AllocationRecord], hybrid: bool, frames: int, verbosity: int) -> str:
    lines = [title]
    shown = records
    if verbosity < 2:
        shown = sorted(records, key=lambda record: record.size, reverse=True)[:_LISTED_AT_DEFAULT_VERBOSITY]
    for record in shown:
        lines += _stack_lines(record, hybrid, frames)
    if len(records) > len(shown):
        lines.append("    ...and %d more" % (len(records) - len(shown)))
    return "\n".join(lines)


@dataclass
class Check:
    """What checking a capture needs from the session: how to show stacks, and the cache of
    previous totals for ``--fail-on-increase``."""

    stacks: int
    native: bool
    verbosity: int
    fail_on_increase: bool
    previous_total: Callable[[], Optional[float]]
    remember_total: Callable[[float], None]


def check_memory(limit: Limit, reader: FileReader, check: Check) -> Optional[Failure]:
    """limit_memory: the memory alive at the test's peak, summed over its locations, must stay
    below the limit (and, with --fail-on-increase, not grow from the previous run)."""
    records = _records(reader.get_high_watermark_allocation_records(merge_threads=not limit.current_thread_only),
                       reader, limit.current_thread_only)
    total = sum(record.size for record in records)
    previous = check.previous_total()
    if check.fail_on_increase and previous is not None and total > previous:
        return Failure("Test previously used %s but now uses %s" % (format_size(previous), format_size(total)),
                       ("memray-max-memory", "Test uses more memory than previous run"))
    check.remember_total(total)
    if total < limit.size:
        return None
    section = None
    if check.verbosity >= 0:
        section = ("memray-max-memory",
                   _listing("List of allocations:", records, check.native, check.stacks, check.verbosity))
    return Failure("Test was limited to %s but allocated %s" % (format_size(limit.size), format_size(total)), section)


def check_leaks(limit: Limit, reader: FileReader, check: Check) -> Optional[Failure]:
    """limit_leaks: no single location (one distinct stack) may leave ``limit`` or more
    allocated when the test ends, unless ``filter_fn`` says its stack does not count."""
    records = _records(reader.get_leaked_allocation_records(merge_threads=not limit.current_thread_only),
                       reader, limit.current_thread_only)
    leaking = [record for record in records if record.size >= limit.size and _counts(record, limit.filter_fn)]
    if not leaking:
        return None
    section = None
    if check.verbosity >= 0:
        frames = max(check.stacks, _LEAK_FRAMES_AT_LEAST)
        section = ("memray-leaked-memory",
                   _listing("List of leaked allocations:", leaking, True, frames, max(check.verbosity, 2)))
    return Failure("Test was allowed to leak %s per location but at least one location leaked more"
                   % format_size(limit.size), section)


def _counts(record: AllocationRecord, filter_fn: Optional[LeaksFilterFunction]) -> bool:
    if filter_fn is None:
        return True
    return bool(filter_fn(Stack(tuple(StackFrame(*frame) for frame in record.hybrid_stack_trace()))))


def check_capture(limit: Limit, path: str, check: Check) -> Optional[Failure]:
    with FileReader(path) as reader:
        if limit.name == "limit_memory":
            return check_memory(limit, reader, check)
        return check_leaks(limit, reader, check)
