"""Helpers for the HTML report tests: a program with known functions, and reading the data
back out of a report (docs/report-data.md)."""

import json
import re

import memray_testlib

# Known functions, known sizes: alpha_big keeps 8 MiB alive at the peak, beta_small keeps
# ~2 MB through gamma_outer -> delta_inner, epsilon_temporary only makes garbage, and
# import_heavy keeps 2 MB allocated by a module's body, inside the import system. The phases are
# at least one memory sample apart (capture_waits.wait_for_samples): the program must run as
# `memray run -o DIRECTORY/capture.bin DIRECTORY/script.py` (memray_testlib.run_script).
KNOWN_PROGRAM = """
import threading
from capture_waits import wait_for_samples

def alpha_big():
    return [bytearray(1024 * 1024) for _ in range(8)]

def delta_inner():
    return [bytearray(1000) for _ in range(2000)]

def gamma_outer():
    return delta_inner()

def beta_small():
    return gamma_outer()

def epsilon_temporary():
    for _ in range(200):
        bytearray(50000)

def worker_thread_body():
    global worker_keep
    worker_keep = bytearray(3 * 1024 * 1024)

def import_heavy():
    # A module whose body allocates, imported here: its frames run inside the import system.
    import os, sys
    directory = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(directory, "heavy_module.py"), "w") as module:
        module.write("HEAVY = [bytearray(100000) for _ in range(20)]\\n")
    sys.path.insert(0, directory)
    import heavy_module
    return heavy_module.HEAVY

def main():
    keep = [alpha_big()]
    wait_for_samples()
    keep += [beta_small(), import_heavy()]
    wait_for_samples()
    epsilon_temporary()
    wait_for_samples()
    worker = threading.Thread(target=worker_thread_body, name="worker")
    worker.start()
    worker.join()
    return keep

if __name__ == "__main__":
    main()
"""

KNOWN_FUNCTIONS = ["alpha_big", "beta_small", "gamma_outer", "delta_inner", "main"]

_DATA = re.compile(r'<script type="application/json" id="memray-data">(.*?)</script>', re.S)


def report_data(html_path):
    """The JSON object inside a report."""
    text = html_path.read_text(encoding="utf-8")
    match = _DATA.search(text)
    if not match:
        raise AssertionError("%s has no data element" % html_path)
    return json.loads(match.group(1))


def tree_nodes(data):
    """The report's tree as full columns: parent, frame, thread, self_bytes, self_count (the file
    stores parent offsets, no thread column when merged, and self usage sparsely)."""
    stored = data["nodes"]
    n = len(stored["frame"])
    self_bytes, self_count = [0] * n, [0] * n
    for node, size, count in zip(data["self"]["node"], data["self"]["bytes"], data["self"]["count"]):
        self_bytes[node], self_count[node] = size, count
    return {
        "parent": [i - offset if i else -1 for i, offset in enumerate(stored["parent_offset"])],
        "frame": stored["frame"],
        "thread": stored["thread"] if len(stored["thread"]) == n else [0] * n,
        "self_bytes": self_bytes,
        "self_count": self_count,
    }


def function_names(data):
    strings = data["strings"]
    return [strings[i] for i in data["frames"]["function"]]


def capture_known_program(directory):
    result = memray_testlib.run_script(directory, KNOWN_PROGRAM)
    if result.process.returncode != 0:
        raise AssertionError("memray run failed: %s" % result.process.stderr)
    return result
