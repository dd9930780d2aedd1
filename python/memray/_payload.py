"""The tracking payload (libmemray_payload.so) loaded into this process through ctypes, as
``memray run`` loads it into the programs it starts: same library, same capture.

Its C API is payload/include/memray/payload/payload_api.h. ctypes' CDLL releases the GIL
around each call; the payload takes it itself where it needs it.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Optional

from memray import _bundle

_lock = threading.Lock()
_library: Optional[ctypes.CDLL] = None


def _already_loaded() -> Optional[str]:
    """The path of a payload already in this process (a program run by ``memray run`` from
    another installation): a second copy would track beside the first."""
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.rstrip("\n").partition("/")[2]
                if path.endswith("/" + _bundle.PAYLOAD):
                    return "/" + path
    except OSError:
        pass
    return None


def payload() -> ctypes.CDLL:
    global _library
    with _lock:
        if _library is None:
            library = ctypes.CDLL(_already_loaded() or _bundle.library(_bundle.PAYLOAD))
            library.memray_start.argtypes = [ctypes.c_char_p]
            library.memray_start.restype = ctypes.c_int
            library.memray_stop.argtypes = []
            library.memray_stop.restype = ctypes.c_int
            library.memray_is_active.argtypes = []
            library.memray_is_active.restype = ctypes.c_int
            library.memray_last_error.argtypes = []
            library.memray_last_error.restype = ctypes.c_char_p
            _library = library
        return _library


def last_error(library: ctypes.CDLL) -> str:
    return (library.memray_last_error() or b"").decode("utf-8", "replace")
