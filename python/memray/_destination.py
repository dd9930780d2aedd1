"""Where a Tracker sends its capture (memray's ``Destination`` classes)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Union


class Destination:
    pass


@dataclass(frozen=True)
class FileDestination(Destination):
    """A capture file. ``overwrite`` replaces an existing one. ``compress_on_exit`` and
    ``buffered`` are accepted for compatibility: this memray always writes LZ4-compressed
    chunks as it goes, so there is nothing left to compress at exit."""

    path: Union[str, "os.PathLike[str]"]
    overwrite: bool = False
    compress_on_exit: bool = True
    buffered: bool = False


@dataclass(frozen=True)
class SocketDestination(Destination):
    """Serve the capture to ``memray live PORT`` on ``address:server_port`` (python/memray/_live_helper.py).
    The Tracker's constructor waits until a viewer has connected, as memray's does."""

    server_port: int
    address: str = "127.0.0.1"
