"""``memray.Tracker``: tracks every allocation of this process while a ``with`` block runs.

Like memray's: the output file is created by the constructor (so a name that is taken, or a
directory that cannot be written, fails there), one Tracker may be active per process, and a
Tracker is used once. The capture is the one ``memray run`` writes (the same payload starts it),
so every reporter reads it.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, Optional, Union

from memray import _payload
from memray._destination import Destination, FileDestination, SocketDestination
from memray._live_helper import LiveHelper, check_port
from memray._types import FileFormat

# The payload allows RSS samples at most a minute apart (payload/src/capture_config.cpp).
_LONGEST_INTERVAL_MS = 60000

_active_lock = threading.Lock()
_active: Optional["Tracker"] = None


def _create_output(path: str, overwrite: bool) -> None:
    if path == os.devnull:  # memray's way of tracking for nothing: no file to refuse or create
        return
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        os.close(os.open(path, flags, 0o644))
    except FileExistsError:
        raise OSError(
            "Output file %s already exists. Memray can overwrite it with the --force CLI argument "
            "or the overwrite=True API argument." % path) from None
    except OSError as error:
        raise OSError("Could not create output file %s: %s" % (path, error.strerror)) from None


class Tracker:
    """Context manager that tracks the allocations of every thread while it is active.

    ``Tracker("out.bin")`` is ``Tracker(destination=FileDestination("out.bin"))``."""

    def __init__(
        self,
        file_name: Union[str, "os.PathLike[str]", None] = None,
        *,
        destination: Optional[Destination] = None,
        native_traces: bool = False,
        memory_interval_ms: int = 10,
        follow_fork: bool = False,
        trace_python_allocators: bool = False,
        track_object_lifetimes: bool = False,
        file_format: FileFormat = FileFormat.ALL_ALLOCATIONS,
    ) -> None:
        if (file_name is None) == (destination is None):
            raise TypeError("Exactly one of 'file_name' or 'destination' argument must be specified")
        if file_name is not None:
            destination = FileDestination(path=file_name)
        if not isinstance(destination, (FileDestination, SocketDestination)):
            raise TypeError("destination must be a SocketDestination or FileDestination")
        file_format = FileFormat(file_format)
        if isinstance(destination, SocketDestination):
            if follow_fork:
                raise RuntimeError("follow_fork requires an output file")
            if file_format == FileFormat.AGGREGATED_ALLOCATIONS:
                raise RuntimeError("AGGREGATED_ALLOCATIONS requires an output file")
        if track_object_lifetimes:
            if sys.version_info < (3, 13, 3):
                raise RuntimeError(
                    "Python object reference tracking requires Python 3.13.3 or later. Current version: %s"
                    % ".".join(str(part) for part in sys.version_info[:3]))
            raise NotImplementedError("track_object_lifetimes is not supported by this memray yet")
        if int(memory_interval_ms) < 1:
            raise ValueError("memory_interval_ms must be a positive number of milliseconds")

        self._options = {
            "native": native_traces,
            "trace_python_allocators": trace_python_allocators,
            "follow_fork": follow_fork,
            "aggregate": file_format == FileFormat.AGGREGATED_ALLOCATIONS,
            "rss_interval_ms": min(int(memory_interval_ms), _LONGEST_INTERVAL_MS),
            # The frame that called __enter__ (1: __enter__'s own is 0) starts the stacks of the
            # thread that entered: the frames above the `with` are left out, as memray does.
            "entry_frame": 1,
        }
        self._used = False
        self._live = None  # type: Optional[LiveHelper]
        if isinstance(destination, SocketDestination):
            port = check_port(destination.server_port)
            self._live = LiveHelper(destination.address, port)
            self._path = self._live.capture
            try:
                self._live.wait_for_viewer()
            except BaseException:
                self._live.abandon()
                raise
            return
        self._path = os.path.abspath(os.fspath(destination.path))
        if "\n" in self._path:  # the payload's configuration is one key=value per line
            raise OSError("Could not create output file %r: memray cannot write to a name with a newline" % self._path)
        _create_output(self._path, destination.overwrite)

    def _config(self) -> bytes:
        lines = ["output=" + self._path, "force=1"]  # the constructor made (or emptied) the file
        for key, value in self._options.items():
            lines.append("%s=%s" % (key, int(value)))
        return os.fsencode("\n".join(lines))

    def __enter__(self) -> "Tracker":
        global _active
        library = _payload.payload()
        with _active_lock:
            if self._used:
                raise RuntimeError("Attempting to use stale output handle")
            if _active is not None or library.memray_is_active():
                raise RuntimeError("No more than one Tracker instance can be active at the same time")
            try:  # the payload's walks stop at this code (entry_frame): keep it alive meanwhile
                self._entry_caller_code = sys._getframe(2).f_code
            except ValueError:
                self._entry_caller_code = None  # entered from the outermost frame: nothing above
            if library.memray_start(self._config()) != 0:
                if self._live is not None:  # its helper is told to go: nothing to retry with
                    self._used = True
                    self._live.capture_complete()
                raise RuntimeError("Failed to start tracking: %s" % _payload.last_error(library))
            self._used = True
            _active = self
        return self

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        global _active
        library = _payload.payload()
        with _active_lock:
            if _active is not self:
                return
            _active = None
            failed = library.memray_stop() != 0
        if self._live is not None:
            self._live.capture_complete()  # the helper serves the rest and cleans up
        # A failure to finish the file must not hide the exception the block raised.
        if failed and exc_type is None:
            raise RuntimeError("Failed to finish the capture: %s" % _payload.last_error(library))
