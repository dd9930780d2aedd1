"""memray's enumerations, with memray's names and numbers (programs compare against them)."""

from __future__ import annotations

import enum


class FileFormat(enum.IntEnum):
    """What a Tracker writes: every allocation, or per-location figures only (much smaller; no
    temporary allocations, no ``stats``, no ``get_allocation_records``)."""

    ALL_ALLOCATIONS = 1
    AGGREGATED_ALLOCATIONS = 2


class AllocatorType(enum.IntEnum):
    PYMALLOC_FREE = 1
    PYMALLOC_MALLOC = 2
    PYMALLOC_CALLOC = 3
    PYMALLOC_REALLOC = 4
    FREE = 5
    MALLOC = 6
    REALLOC = 7
    CALLOC = 8
    POSIX_MEMALIGN = 9
    ALIGNED_ALLOC = 10
    MEMALIGN = 11
    VALLOC = 12
    PVALLOC = 13
    MMAP = 14
    MUNMAP = 15


class PymallocDomain(enum.IntEnum):
    PYMALLOC_RAW = 1
    PYMALLOC_MEM = 2
    PYMALLOC_OBJECT = 3
