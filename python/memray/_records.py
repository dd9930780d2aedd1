"""What FileReader's queries yield: memray's ``AllocationRecord`` and ``MemorySnapshot``."""

from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional, Tuple

from memray._reader_library import Capture, Frame
from memray._types import AllocatorType

_DEALLOCATORS = frozenset({AllocatorType.FREE, AllocatorType.MUNMAP, AllocatorType.PYMALLOC_FREE})


def size_fmt(num: float, suffix: str = "B") -> str:
    for unit in ("", "K", "M", "G", "T", "P", "E", "Z"):
        if abs(num) < 1000.0:
            return "%5.3f%s%s" % (num, unit, suffix)
        num /= 1000.0
    return "%.1f%s%s" % (num, "Y", suffix)


class MemorySnapshot(NamedTuple):
    time: int  # milliseconds since the epoch
    rss: int  # bytes
    heap: int  # tracked heap, bytes


class AllocationRecord:
    """One allocation or deallocation (``get_allocation_records``), or one location's
    allocations (the other queries: ``size`` is their sum, ``n_allocations`` their number).
    Read-only; equal when their fields are."""

    __slots__ = ("_fields", "_capture", "_stacks")

    def __init__(self, fields: Tuple[int, ...], capture: Capture) -> None:
        # (tid, address, size, allocator, stack_id, n_allocations, native_stack_id,
        #  native_segment_generation): the order memray's record tuple has.
        self._fields = fields
        self._capture = capture
        self._stacks: Optional[Dict[Tuple[str, int], List[Frame]]] = None

    @property
    def tid(self) -> int:
        return self._fields[0]

    @property
    def address(self) -> int:
        return self._fields[1]

    @property
    def size(self) -> int:
        return self._fields[2]

    @property
    def allocator(self) -> int:
        return self._fields[3]

    @property
    def stack_id(self) -> int:
        return self._fields[4]

    @property
    def n_allocations(self) -> int:
        return self._fields[5]

    @property
    def native_stack_id(self) -> int:
        return self._fields[6]

    @property
    def native_segment_generation(self) -> int:
        return self._fields[7]

    @property
    def thread_name(self) -> str:
        if self.tid == -1:
            return "merged thread"
        return self._capture.thread_name(self.tid)

    def _cached(self, kind: str, max_stacks: Optional[int]) -> List[Frame]:
        if self.allocator in _DEALLOCATORS:
            raise NotImplementedError("Stack traces for deallocations aren't captured.")
        limit = 0 if max_stacks is None else max(int(max_stacks), 0)
        if max_stacks is not None and limit == 0:
            return []
        if self._stacks is None:
            self._stacks = {}
        key = (kind, limit)
        frames = self._stacks.get(key)
        if frames is None:
            if kind == "python":
                frames = self._capture.python_stack(self.stack_id, limit)
            elif kind == "native":
                frames = self._capture.native_stack(self.native_stack_id, limit)
            else:
                frames = self._capture.hybrid_stack(self.stack_id, self.native_stack_id, limit)
            self._stacks[key] = frames
        return list(frames)

    def stack_trace(self, max_stacks: Optional[int] = None) -> List[Frame]:
        """The Python stack, most recent call first: (function, file, line) tuples."""
        return self._cached("python", max_stacks)

    def native_stack_trace(self, max_stacks: Optional[int] = None) -> List[Frame]:
        """The native stack of a native-traces capture (else empty), most recent call first."""
        return self._cached("native", max_stacks)

    def hybrid_stack_trace(self, max_stacks: Optional[int] = None) -> List[Frame]:
        """The native stack with the interpreter's evaluation frames replaced by the Python
        frames they ran; the Python stack when the capture has no native traces."""
        return self._cached("hybrid", max_stacks)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AllocationRecord):
            return NotImplemented
        return self._fields == other._fields

    def __hash__(self) -> int:
        return hash(self._fields)

    def __repr__(self) -> str:
        size = "N/A" if self.allocator in _DEALLOCATORS and not self.size else size_fmt(self.size)
        return "AllocationRecord<tid=%s, address=%s, size=%s, allocator=%r, allocations=%d>" % (
            hex(self.tid), hex(self.address), size, int(self.allocator), self.n_allocations)
