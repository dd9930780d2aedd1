"""The benchmark suite's Python API section: memray.FileReader on a 10-million-allocation
capture, from the wheel installed into a fresh venv of --python (issue 15's target: the high
watermark records fully iterated from Python in under 2 s).

The wheel is written from the build tree next to --memray (python/build_wheel.py), which must
have libmemray_reader_api.so (`cmake --build BUILD --target wheel` builds everything it needs).
"""

import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD_WHEEL = os.path.join(HERE, os.pardir, "python", "build_wheel.py")
TARGET_SECONDS = 2.0

# Timed inside the interpreter, from FileReader() to the last record: neither the interpreter's
# start nor `import memray` (a fixed cost, measured apart) counts.
TIMED_QUERY = """
import sys, time
start = time.perf_counter()
import memray
imported = time.perf_counter()
cpu = time.process_time()
reader = memray.FileReader(sys.argv[1])
records = getattr(reader, sys.argv[2])()
count = sum(1 for _ in records)
done = time.perf_counter()
print(done - imported, time.process_time() - cpu, imported - start, count)
"""

QUERIES = [
    ("get_high_watermark_allocation_records", TARGET_SECONDS),
    ("get_leaked_allocation_records", None),
    ("get_temporary_allocation_records", None),
]


# A Tracker's fixed cost, file against socket: constructor to the end of an empty `with`. For
# the socket, a thread of the program plays the viewer (it connects as soon as the helper
# listens and reads the stream to its end), so the figure includes starting the helper process
# and the viewer's connection, the price of SocketDestination.
TIMED_TRACKER = """
import os, socket, sys, tempfile, threading, time
import memray

def viewer(port):
    while True:
        try:
            connection = socket.create_connection(("127.0.0.1", port))
            break
        except OSError:
            time.sleep(0.001)
    while connection.recv(65536):
        pass

def destination(kind, port, directory):
    if kind == "file":
        return memray.FileDestination(os.path.join(directory, "capture.bin"), overwrite=True)
    threading.Thread(target=viewer, args=(port,), daemon=True).start()
    return memray.SocketDestination(server_port=port)

kind, port = sys.argv[1], int(sys.argv[2])
with tempfile.TemporaryDirectory() as directory:
    wall, cpu = time.perf_counter(), time.process_time()
    with memray.Tracker(destination=destination(kind, port, directory)):
        pass
    print(time.perf_counter() - wall, time.process_time() - cpu)
"""


def free_port():
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def tracker_fixed_cost(ctx, python):
    lines = ["", "A Tracker's fixed cost, from its constructor to the end of an empty `with` (median of the",
             "rounds; for SocketDestination a thread of the program connects as the viewer: the helper",
             "process's start and the connection are included):", "",
             "| destination | wall (median) | CPU of the program (median) |", "|---|---|---|"]
    for kind in ("file", "socket"):
        walls, cpus = [], []
        for _ in range(ctx.rounds):
            result = subprocess.run([python, "-c", TIMED_TRACKER, kind, str(free_port())],
                                    capture_output=True, text=True, check=True)
            wall, cpu = result.stdout.split()
            walls.append(float(wall))
            cpus.append(float(cpu))
        lines.append("| %s | %.1f ms | %.1f ms |" % (
            "FileDestination" if kind == "file" else "SocketDestination",
            statistics.median(walls) * 1000, statistics.median(cpus) * 1000))
    return lines


def the_wheel(ctx):
    """A wheel written now from the build tree next to --memray, so that it is that build's."""
    build = os.path.dirname(os.path.dirname(ctx.memray))
    out_dir = os.path.join(ctx.scratch, "wheel")
    return subprocess.run([sys.executable, BUILD_WHEEL, "--build-dir", build, "--out-dir", out_dir],
                          capture_output=True, text=True, check=True).stdout.strip()


def installed_python(ctx, python=None, name="python-api-venv", system_site_packages=False):
    """A venv of PYTHON (default --python) in the scratch directory, with the wheel installed;
    its interpreter. With SYSTEM_SITE_PACKAGES it also sees the interpreter's own packages."""
    venv = os.path.join(ctx.scratch, name)
    subprocess.run([python or ctx.python, "-m", "venv", venv] + (["--system-site-packages"] if system_site_packages else []),
                   check=True, capture_output=True)
    python = os.path.join(venv, "bin", "python")
    subprocess.run([python, "-m", "pip", "install", "--no-index", "--disable-pip-version-check", the_wheel(ctx)],
                   check=True, capture_output=True)
    return python


def python_api_section(ctx):
    allocations = 100_000 if ctx.quick else 10_000_000
    capture = os.path.join(ctx.scratch, "python-api-%d.bin" % allocations)
    output = subprocess.run([ctx.synth, "-o", capture, "-n", str(allocations), "-s", "100000"],
                            capture_output=True, text=True, check=True).stdout
    records = int(re.search(r"records=(\d+)", output).group(1))
    python = installed_python(ctx)
    lines = ["## Python API", "",
             "`memray.FileReader(path).QUERY()` iterated to its end from Python, with the wheel installed into",
             "a venv of %s, on a `memray-synth` capture of %d allocations (%d records," % (ctx.python, allocations, records),
             "100,000 distinct stacks, 4 threads). Median over the rounds of the time from FileReader() to the",
             "last record, in the interpreter (its start and `import memray` excluded; the import is given",
             "apart), and of the CPU time the process spent meanwhile (the figure to trust on a loaded machine).", "",
             "| query | rows | wall (median) | lowest | highest | CPU (median) | import memray | target |",
             "|---|---|---|---|---|---|---|---|"]
    for query, target in QUERIES:
        walls, cpus, imports, rows = [], [], [], 0
        for _ in range(ctx.rounds):
            result = subprocess.run([python, "-c", TIMED_QUERY, capture, query],
                                    capture_output=True, text=True, check=True)
            wall, cpu, imported, rows = result.stdout.split()
            walls.append(float(wall))
            cpus.append(float(cpu))
            imports.append(float(imported))
        median = statistics.median(walls)
        verdict = ""
        if target is not None and not ctx.quick:
            verdict = "%.1f s: %s" % (target, "met" if median < target else "MISSED")
        lines.append("| %s | %s | %.2f s | %.2f s | %.2f s | %.2f s | %.0f ms | %s |" % (
            query, rows, median, min(walls), max(walls), statistics.median(cpus),
            statistics.median(imports) * 1000, verdict))
    return lines + tracker_fixed_cost(ctx, python) + [""]
