"""memray: a memory profiler for CPython 3.7 to 3.13 on Linux (this project's C++ core, driven
from Python). The API is memray's: ``Tracker`` records a capture from inside the program,
``FileReader`` reads one; ``pytest --memray`` and the ``limit_memory``/``limit_leaks`` markers
come from memray.pytest_plugin, ``%load_ext memray`` from memray._ipython."""

from memray._destination import Destination, FileDestination, SocketDestination
from memray._metadata import Metadata
from memray._reader import FileReader
from memray._records import AllocationRecord, MemorySnapshot
from memray._tracker import Tracker
from memray._types import AllocatorType, FileFormat, PymallocDomain
from memray._version import __version__


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext memray``: registers the ``%%memray_flamegraph`` cell magic (memray/_ipython.py)."""
    from memray._ipython import load_ipython_extension as load

    load(ipython)


__all__ = [
    "AllocationRecord",
    "AllocatorType",
    "Destination",
    "FileDestination",
    "FileFormat",
    "FileReader",
    "MemorySnapshot",
    "Metadata",
    "PymallocDomain",
    "SocketDestination",
    "Tracker",
    "__version__",
    "load_ipython_extension",
]
