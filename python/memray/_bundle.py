"""Where the wheel put the native parts: the ``memray`` executable in ``memray/bin`` and its
libraries in ``memray/lib``.

That layout is the one the executable itself expects (tools/memray/payload_locator.h: it
looks for its payload in ``<its directory>/../lib``), so the CLI run from the wheel finds the
same payload that ``memray.Tracker`` loads in-process.
"""

from __future__ import annotations

import os

_HERE = os.path.dirname(os.path.abspath(__file__))

PAYLOAD = "libmemray_payload.so"
READER_API = "libmemray_reader_api.so"


def executable() -> str:
    return os.path.join(_HERE, "bin", "memray")


def library(name: str) -> str:
    """The bundled library's path; OSError naming it when the installation lacks it."""
    path = os.path.join(_HERE, "lib", name)
    if not os.path.isfile(path):
        raise OSError("memray is not installed completely: %s is missing" % path)
    return path
