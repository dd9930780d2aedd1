"""Imported by the programs the tests run under `memray run -o DIR/capture.bin DIR/script.py`
(memray_testlib.run_script copies it next to the script): waits on what memray has written, so
that a program's phases are cut apart by real memory samples and checkpoints instead of by
sleeps that a loaded machine may outlast.

The payload's writer writes one chunk per memory sample (docs/capture-format.md), so the file
grows at every sample. A growth seen just after a call may come from a sample taken before it;
the one after that cannot. Hence one growth (or checkpoint) more than asked for."""

import os
import subprocess
import time

# Generous: the wait is for the writer thread of a process on a machine that may be very busy.
LIMIT_S = 120


def _capture(name):
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), name)


def wait_for_samples(count=1, name="capture.bin"):
    """Returns once memray has taken COUNT memory samples after this call."""
    path = _capture(name)
    size, growths, deadline = os.path.getsize(path), 0, time.monotonic() + LIMIT_S
    while growths < count + 1:
        if time.monotonic() > deadline:
            raise SystemExit("capture_waits: %s grew %d times in %d s" % (path, growths, LIMIT_S))
        time.sleep(0.001)
        now = os.path.getsize(path)
        if now != size:
            size, growths = now, growths + 1


def count_checkpoints(memray, name="capture.bin"):
    """How many complete aggregate checkpoints the capture holds so far."""
    parsed = subprocess.run([memray, "parse", _capture(name)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            universal_newlines=True)
    return sum(1 for line in parsed.stdout.splitlines() if line.startswith("AGGREGATE_END"))


def wait_for_checkpoints(memray, count=1, name="capture.bin"):
    """Returns once an --aggregate capture holds COUNT checkpoints begun after this call
    (MEMRAY is the memray executable, whose `parse` counts them)."""
    first, deadline = count_checkpoints(memray, name), time.monotonic() + LIMIT_S
    while count_checkpoints(memray, name) < first + count + 1:
        if time.monotonic() > deadline:
            raise SystemExit("capture_waits: no new checkpoint in %s within %d s" % (_capture(name), LIMIT_S))
        time.sleep(0.05)
