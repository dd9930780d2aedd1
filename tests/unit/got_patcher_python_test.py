"""Patches a real CPython's GOT slots from inside the interpreter.

Usage: got_patcher_python_test.py PROBE_SO [PYTHON]

Loads PROBE_SO (tests/unit/got_patcher_pyprobe.cpp) with ctypes into PYTHON (default: the
interpreter named by $MEMRAY_TEST_PYTHON), patches malloc & co. with counting hooks, runs code
that allocates from several threads while the main thread patches and restores, imports an
extension module after the first patch, and checks the counts. Exits non-zero on failure.
"""
import os
import subprocess
import sys

CHILD = r'''
import ctypes, sys, threading

probe = ctypes.CDLL(sys.argv[1])
for name in ("got_probe_patch", "got_probe_restore", "got_probe_patched_slots"):
    getattr(probe, name).restype = ctypes.c_ulong
for name in ("got_probe_allocations", "got_probe_frees", "got_probe_mmaps"):
    getattr(probe, name).restype = ctypes.c_ulonglong

def check(condition, message):
    if not condition:
        print("FAIL:", message, flush=True)
        sys.exit(1)

written = probe.got_probe_patch()
check(written > 0, "nothing patched")
check(probe.got_probe_patch() == 0, "a second patch wrote slots again")

before = probe.got_probe_allocations()
blobs = [bytearray(100000) for _ in range(50)]  # beyond pymalloc: PyMem_RawMalloc -> malloc
del blobs
allocations = probe.got_probe_allocations() - before
check(allocations >= 50, "only %d allocations counted for 50 large objects" % allocations)
check(probe.got_probe_frees() > 0, "no free counted")

# An extension module loaded after the first patch is picked up by the next one (unless the
# interpreter has it built in: then its calls go through slots patched already).
fresh = "mmap" not in sys.modules and "mmap" not in sys.builtin_module_names
import mmap
later = probe.got_probe_patch()
check(later > 0 or not fresh, "the newly loaded mmap module was not patched")
mmaps = probe.got_probe_mmaps()
m = mmap.mmap(-1, 1 << 16)
m.close()
check(probe.got_probe_mmaps() > mmaps, "mmap from the mmap module was not counted")

# Patching and restoring while other threads allocate: ctypes drops the GIL during the calls,
# so the threads really run while slots are rewritten.
stop = False
def churn():
    while not stop:
        [bytes(5000) for _ in range(20)]
threads = [threading.Thread(target=churn) for _ in range(3)]
for t in threads:
    t.start()
for _ in range(50):
    probe.got_probe_restore()
    probe.got_probe_patch()
stop = True
for t in threads:
    t.join()

check(probe.got_probe_patched_slots() > 0, "nothing patched at the end")
restored = probe.got_probe_restore()
check(restored > 0, "nothing restored")
check(probe.got_probe_patched_slots() == 0, "slots left patched")

after = probe.got_probe_allocations()
blobs = [bytearray(100000) for _ in range(50)]
del blobs
check(probe.got_probe_allocations() == after, "allocations still counted after restoring")
print("OK: %d slots patched, %d more after importing mmap, %d restored, %d allocations counted"
      % (written, later, restored, after), flush=True)
'''


def main():
    probe = os.path.abspath(sys.argv[1])
    python = sys.argv[2] if len(sys.argv) > 2 else os.environ["MEMRAY_TEST_PYTHON"]
    proc = subprocess.run([python, "-c", CHILD, probe], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=120)
    print("%s: %s" % (python, proc.stdout.strip()))
    if proc.returncode != 0 or not proc.stdout.startswith("OK"):
        print("FAILED with exit code %d" % proc.returncode)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
