"""What serves a ``Tracker(destination=SocketDestination(port))``: the live view of ``memray
live PORT``.

memray's Tracker streams its records into the socket itself, and so blocks when a viewer reads
slowly. This one writes its capture exactly as for a FileDestination, to a private directory
(mode 0700, from ``tempfile.mkdtemp``), and the bundled CLI, started here as a helper process
(``memray _serve-tracker``, tools/memray/cmd_serve_tracker.cpp), serves that file on the port
as ``memray run --live-remote`` does: the program never waits for a viewer, any number of
viewers may connect, and each one is sent the capture from its start.

The helper is in a session of its own (the terminal's Ctrl-C is the program's to handle) and
holds the read end of a pipe, the lifeline: the Tracker writes a byte to it once its capture is
complete, and the kernel closes it if this process dies, however it dies. Either way the helper
lets the connected viewers finish, removes the capture and its directory, and exits.
"""

import os
import select
import shutil
import subprocess
import tempfile
import threading
from typing import Optional

from memray import _bundle

# memray's own message for a socket it cannot bind (its SocketSink), as an OSError.
_BIND_FAILURE = "Failed to bind to host and port"


def check_port(port: object) -> int:
    """memray's conversion of ``server_port`` to an unsigned int, then the range a port has."""
    if isinstance(port, bool) or not isinstance(port, int):
        raise TypeError("an integer is required for server_port, not %s" % type(port).__name__)
    if port < 0:
        raise OverflowError("can't convert negative value to unsigned int")
    if not 0 < port < 65536:
        raise OSError("%s: port %d is not in 1..65535" % (_BIND_FAILURE, port))
    return port


class LiveHelper:
    """A helper serving the capture at ``self.capture`` on ``address:port`` once started."""

    def __init__(self, address: str, port: int) -> None:
        if not isinstance(address, str):
            raise TypeError("address must be a string, not %s" % type(address).__name__)
        self.directory = os.path.abspath(tempfile.mkdtemp(prefix="memray-tracker-"))  # 0700: nobody else reads it
        self.capture = os.path.join(self.directory, "capture.bin")
        self._process = None  # type: Optional[subprocess.Popen]
        self._owner = os.getpid()  # a forked child's copy of this object must not speak for it
        try:
            self._process = subprocess.Popen(
                [_bundle.executable(), "_serve-tracker", address, str(port), self.capture, str(os.getpid())],
                # Its stderr is not the program's: whoever reads that would wait for the helper.
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd="/",
                # Unbuffered: each readline takes one line off the pipe, so that select() sees the next.
                bufsize=0, close_fds=True, start_new_session=True)
            said = self._next_line()
            if said != "listening":
                message = said[len("error "):] if said.startswith("error ") else "the helper ended unexpectedly"
                raise OSError("%s: %s" % (_BIND_FAILURE, message))
        except BaseException:
            self.abandon()
            raise

    def _next_line(self) -> str:
        """The helper's next line; "" once it has ended. Waits as long as it takes, in steps
        that let a signal handler (Ctrl-C's KeyboardInterrupt) run."""
        assert self._process is not None and self._process.stdout is not None
        stdout = self._process.stdout
        while True:
            ready, _, _ = select.select([stdout], [], [], 0.5)
            if ready:
                return stdout.readline().decode("utf-8", "replace").rstrip("\n")

    def wait_for_viewer(self) -> None:
        """Until a viewer has connected (memray's constructor waits for its client too)."""
        said = self._next_line()
        if said != "connected":
            raise OSError("%s: the live view's helper ended before a viewer connected" % _BIND_FAILURE)

    def capture_complete(self) -> None:
        """The capture is finished (or was never started): the helper serves the rest to its
        viewers, cleans up and exits on its own; this process need not wait for it."""
        process = self._process
        if process is None or os.getpid() != self._owner:
            return
        self._process = None
        try:
            assert process.stdin is not None
            process.stdin.write(b"x")
            process.stdin.close()
        except OSError:
            pass  # already gone: it cleaned up, or cannot any more
        if process.poll() is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
        else:  # reaped when it ends, so that no zombie stays behind in a long-running program
            threading.Thread(target=process.wait, name="memray-live-helper", daemon=True).start()

    def abandon(self) -> None:
        """Tracking never started (the constructor failed or was interrupted): the helper is
        ended and the directory removed here."""
        if os.getpid() != self._owner:
            return
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait()
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    pipe.close()
        shutil.rmtree(self.directory, ignore_errors=True)
