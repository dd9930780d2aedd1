"""``memray.FileReader``: a capture file's metadata, memory samples and allocations.

The analyses run in C++ (libmemray_reader_api.so over the reader that every reporter uses);
Python receives one row per location, never the capture's records, except from
``get_allocation_records`` which is the records. As memray's, the queries are generators:
their errors are raised on the first iteration.

The file is opened once by the constructor and every query reads it through
/proc/self/fd/N, as memray does: a capture deleted or replaced meanwhile is still the one read.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Iterator, List, Optional, Union

from memray import _reader_library as native
from memray._metadata import Metadata
from memray._records import AllocationRecord, MemorySnapshot
from memray._types import FileFormat

# What memray says when a query needs the allocation records an aggregated capture lacks.
_AGGREGATED_ERRORS = {
    native.QUERY_RECORDS: "Can't get all allocations from a pre-aggregated capture file.",
    native.QUERY_TEMPORARY: "Can't find temporary allocations using a pre-aggregated capture file.",
}


class FileReader:
    def __init__(self, file_name: Union[str, "os.PathLike[str]"], *, report_progress: bool = False,
                 max_memory_records: int = 10000) -> None:
        self._path = os.fspath(file_name)
        self._fd: Optional[int] = None
        self._max_memory_records = max(int(max_memory_records), 1)
        # report_progress is accepted for compatibility; the C++ reader reports nothing.
        try:
            self._fd = os.open(self._path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as error:
            raise OSError("Could not open file %s: %s" % (self._path, error.strerror)) from None
        self._summary: Optional[native.Capture] = None
        self._metadata: Optional[Metadata] = None
        try:
            self._open(native.QUERY_HEADER)  # a file that is not a capture fails here, as memray's does
        except BaseException:
            self.close()
            raise

    # ---- life cycle ----

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
        self._summary = None

    @property
    def closed(self) -> bool:
        return self._fd is None

    def __enter__(self) -> "FileReader":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_fd", None) is not None:
            self.close()

    # ---- queries ----

    @property
    def metadata(self) -> Metadata:
        if self._metadata is None:
            self._ensure_open()
            if self._summary is None:
                self._summary = self._open(native.QUERY_LEAKS)
            self._metadata = self._metadata_of(self._summary)
        return self._metadata

    def get_memory_snapshots(self) -> Iterator[MemorySnapshot]:
        self._ensure_open()
        if self._summary is None:
            self._summary = self._open(native.QUERY_LEAKS)
        for point in self._summary.memory_points():
            yield MemorySnapshot(*point)

    def get_high_watermark_allocation_records(self, merge_threads: bool = True) -> Iterator[AllocationRecord]:
        yield from self._grouped(native.QUERY_HIGH_WATERMARK, merge_threads)

    def get_leaked_allocation_records(self, merge_threads: bool = True) -> Iterator[AllocationRecord]:
        yield from self._grouped(native.QUERY_LEAKS, merge_threads)

    def get_temporary_allocation_records(self, merge_threads: bool = True,
                                         threshold: int = 1) -> Iterator[AllocationRecord]:
        yield from self._grouped(native.QUERY_TEMPORARY, merge_threads, threshold)

    def get_allocation_records(self) -> Iterator[AllocationRecord]:
        self._ensure_open()
        capture = self._open(native.QUERY_RECORDS)
        try:
            for tid, address, size, count, stack, native_stack, allocator, _ in capture.next_records():
                yield AllocationRecord((tid, address, size, allocator, stack, count, native_stack, 0), capture)
        except native.CaptureError as error:
            raise OSError(self._message(error)) from None

    # ---- helpers ----

    def _ensure_open(self) -> None:
        if self._fd is None:
            raise ValueError("Operation on a closed FileReader")

    def _message(self, error: Exception) -> str:
        # The C++ reader names the file it was given, /proc/self/fd/N: name the user's file.
        return str(error).replace("/proc/self/fd/%d" % self._fd, self._path) if self._fd is not None else str(error)

    def _open(self, query: int, merge_threads: bool = True, threshold: int = 1) -> native.Capture:
        assert self._fd is not None
        try:
            return native.Capture("/proc/self/fd/%d" % self._fd, query, merge_threads=merge_threads,
                                  threshold=threshold, max_memory_points=self._max_memory_records)
        except native.CaptureError as error:
            if error.kind == native.ERROR_AGGREGATED:
                raise NotImplementedError(_AGGREGATED_ERRORS.get(query, str(error))) from None
            raise OSError(self._message(error)) from None

    def _grouped(self, query: int, merge_threads: bool, threshold: int = 1) -> List[AllocationRecord]:
        self._ensure_open()
        capture = self._open(query, merge_threads, threshold)
        if self._summary is None and query != native.QUERY_TEMPORARY:
            self._summary = capture  # its pass measured the whole capture: metadata for free
        return [AllocationRecord((tid, address, size, allocator, stack, count, native_stack, 0), capture)
                for tid, address, size, count, stack, native_stack, allocator, _ in capture.rows()]

    @staticmethod
    def _metadata_of(capture: native.Capture) -> Metadata:
        raw = capture.metadata()
        start = datetime.fromtimestamp(raw.start_time_us / 1e6).astimezone()
        end = datetime.fromtimestamp(raw.end_time_us / 1e6).astimezone() if raw.end_time_us else start
        return Metadata(
            start_time=start,
            end_time=end,
            total_allocations=raw.total_allocations,
            total_frames=raw.total_frames,
            peak_memory=raw.peak_memory,
            command_line=(raw.command_line or b"").decode("utf-8", "replace"),
            pid=raw.pid,
            main_thread_id=raw.main_thread_id,
            python_allocator=(raw.python_allocator or b"").decode("utf-8", "replace"),
            has_native_traces=bool(raw.has_native_traces),
            trace_python_allocators=bool(raw.trace_python_allocators),
            file_format=FileFormat.AGGREGATED_ALLOCATIONS if raw.aggregated else FileFormat.ALL_ALLOCATIONS,
        )
