"""ctypes binding of libmemray_reader_api.so (python/reader_api/memray_reader_api.h).

``Capture`` owns one handle: an analysis' result rows, or a stream of raw records, plus the
tables that resolve their stacks. Records keep their Capture alive, so their stacks can be asked
for after the FileReader that made them is closed.
"""

from __future__ import annotations

import ctypes
import struct
import threading
from typing import Dict, Iterator, List, Optional, Tuple

from memray import _bundle

QUERY_HIGH_WATERMARK = 0
QUERY_LEAKS = 1
QUERY_TEMPORARY = 2
QUERY_RECORDS = 3
QUERY_HEADER = 4

ERROR_CAPTURE = 1
ERROR_AGGREGATED = 2

# memray_row: int64 tid, uint64 address, size, n_allocations, stack_id, native_stack_id,
# uint32 allocator, uint32 is_deallocation.
_ROW = struct.Struct("=qQQQQQII")
_RECORDS_PER_CALL = 65536

Frame = Tuple[str, str, int]


class _Metadata(ctypes.Structure):
    _fields_ = [
        ("pid", ctypes.c_uint64),
        ("main_thread_id", ctypes.c_uint64),
        ("start_time_us", ctypes.c_uint64),
        ("end_time_us", ctypes.c_uint64),
        ("total_allocations", ctypes.c_uint64),
        ("total_frames", ctypes.c_uint64),
        ("peak_memory", ctypes.c_uint64),
        ("has_native_traces", ctypes.c_uint32),
        ("trace_python_allocators", ctypes.c_uint32),
        ("aggregated", ctypes.c_uint32),
        ("has_allocation_records", ctypes.c_uint32),
        ("command_line", ctypes.c_char_p),
        ("python_allocator", ctypes.c_char_p),
        ("python_version", ctypes.c_char_p),
    ]


class _MemoryPoint(ctypes.Structure):
    _fields_ = [("time_ms", ctypes.c_uint64), ("rss", ctypes.c_uint64), ("heap", ctypes.c_uint64)]


class CaptureError(Exception):
    """A handle could not be opened: ``kind`` is ERROR_CAPTURE or ERROR_AGGREGATED."""

    def __init__(self, kind: int, message: str) -> None:
        super().__init__(message)
        self.kind = kind


_lock = threading.Lock()
_library: Optional[ctypes.CDLL] = None


def _declare(library: ctypes.CDLL) -> None:
    handle, size_t, u64 = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint64
    signatures = {
        "memray_capture_open": (handle, [ctypes.c_char_p, ctypes.c_int, ctypes.c_int, u64, u64,
                                         ctypes.POINTER(ctypes.c_int)]),
        "memray_capture_close": (None, [handle]),
        "memray_last_error": (ctypes.c_char_p, []),
        "memray_capture_metadata": (None, [handle, ctypes.POINTER(_Metadata)]),
        "memray_capture_row_count": (size_t, [handle]),
        "memray_capture_rows": (size_t, [handle, size_t, ctypes.c_void_p, size_t]),
        "memray_capture_next_records": (ctypes.c_int64, [handle, ctypes.c_void_p, size_t]),
        "memray_capture_memory_point_count": (size_t, [handle]),
        "memray_capture_memory_points": (size_t, [handle, ctypes.POINTER(_MemoryPoint), size_t]),
        "memray_capture_thread_name": (ctypes.c_char_p, [handle, ctypes.c_int64]),
        "memray_capture_python_stack": (ctypes.c_void_p, [handle, u64, size_t, ctypes.POINTER(size_t)]),
        "memray_capture_native_stack": (ctypes.c_void_p, [handle, u64, size_t, ctypes.POINTER(size_t)]),
        "memray_capture_hybrid_stack": (ctypes.c_void_p, [handle, u64, u64, size_t, ctypes.POINTER(size_t)]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(library, name)
        function.restype = restype
        function.argtypes = argtypes


def library() -> ctypes.CDLL:
    global _library
    with _lock:
        if _library is None:
            loaded = ctypes.CDLL(_bundle.library(_bundle.READER_API))
            _declare(loaded)
            _library = loaded
        return _library


def _text(raw: Optional[bytes]) -> str:
    return (raw or b"").decode("utf-8", "replace")


def _frames(address: Optional[int], size: int) -> List[Frame]:
    if not size or address is None:
        return []
    fields = ctypes.string_at(address, size).decode("utf-8", "replace").split("\0")
    return [(fields[i], fields[i + 1], int(fields[i + 2])) for i in range(0, len(fields) - 2, 3)]


class Capture:
    def __init__(self, path: str, query: int, *, merge_threads: bool = True, threshold: int = 1,
                 max_memory_points: int = 10000) -> None:
        self._library = library()
        error = ctypes.c_int(0)
        self._handle = self._library.memray_capture_open(
            path.encode(), query, int(merge_threads), max(int(threshold), 0), max(int(max_memory_points), 1),
            ctypes.byref(error))
        if not self._handle:
            raise CaptureError(error.value, _text(self._library.memray_last_error()))
        self._thread_names: Dict[int, str] = {}

    def __del__(self) -> None:
        handle, self._handle = getattr(self, "_handle", None), None
        if handle:
            self._library.memray_capture_close(handle)

    def metadata(self) -> _Metadata:
        out = _Metadata()
        self._library.memray_capture_metadata(self._handle, ctypes.byref(out))
        return out

    def rows(self) -> List[tuple]:
        count = self._library.memray_capture_row_count(self._handle)
        buffer = ctypes.create_string_buffer(count * _ROW.size)
        copied = self._library.memray_capture_rows(self._handle, 0, buffer, count)
        return list(_ROW.iter_unpack(buffer.raw[:copied * _ROW.size]))

    def next_records(self) -> Iterator[tuple]:
        buffer = ctypes.create_string_buffer(_RECORDS_PER_CALL * _ROW.size)
        while True:
            count = self._library.memray_capture_next_records(self._handle, buffer, _RECORDS_PER_CALL)
            if count < 0:
                raise CaptureError(ERROR_CAPTURE, _text(self._library.memray_last_error()))
            if count == 0:
                return
            yield from _ROW.iter_unpack(buffer.raw[:count * _ROW.size])

    def memory_points(self) -> List[Tuple[int, int, int]]:
        capacity = self._library.memray_capture_memory_point_count(self._handle)
        points = (_MemoryPoint * max(capacity, 1))()
        count = self._library.memray_capture_memory_points(self._handle, points, capacity)
        return [(p.time_ms, p.rss, p.heap) for p in points[:count]]

    def thread_name(self, tid: int) -> str:
        name = self._thread_names.get(tid)
        if name is None:
            name = self._thread_names[tid] = _text(self._library.memray_capture_thread_name(self._handle, tid))
        return name

    def python_stack(self, stack_id: int, max_frames: int) -> List[Frame]:
        size = ctypes.c_size_t(0)
        address = self._library.memray_capture_python_stack(self._handle, stack_id, max_frames, ctypes.byref(size))
        return _frames(address, size.value)

    def native_stack(self, native_stack_id: int, max_frames: int) -> List[Frame]:
        size = ctypes.c_size_t(0)
        address = self._library.memray_capture_native_stack(
            self._handle, native_stack_id, max_frames, ctypes.byref(size))
        return _frames(address, size.value)

    def hybrid_stack(self, stack_id: int, native_stack_id: int, max_frames: int) -> List[Frame]:
        size = ctypes.c_size_t(0)
        address = self._library.memray_capture_hybrid_stack(
            self._handle, stack_id, native_stack_id, max_frames, ctypes.byref(size))
        return _frames(address, size.value)
