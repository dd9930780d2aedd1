#!/usr/bin/env python3
"""Writes memray's wheel from a build tree, with the standard library only (no setuptools,
wheel or build: PyPI may be out of reach).

    python/build_wheel.py --build-dir build --out-dir build/wheel [--version X.Y.Z]

One wheel for every CPython 3.7-3.13: the package is pure Python and reaches the native
parts through ctypes, so the tag is py3-none-<platform>. It carries:
    memray/*.py, py.typed                  the package (python/memray)
    memray/bin/memray                      the CLI (the console script execs it)
    memray/lib/libmemray_payload.so        what Tracker and `memray run` load into Python
    memray/lib/libmemray_attach.so         `memray attach`/`detach`
    memray/lib/libmemray_reader_api.so     what FileReader calls
Debug sections are stripped from the native files (strip --strip-debug) unless --keep-debug:
they are most of their size and nothing at run time reads them.

The archive is reproducible: entries sorted, timestamps from SOURCE_DATE_EPOCH (else 1980).
"""

import argparse
import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_DIR = os.path.join(HERE, "memray")
NAME = "memray"

# (path in the build tree, path in the wheel)
NATIVE_FILES = [
    ("bin/memray", "memray/bin/memray"),
    ("lib/libmemray_payload.so", "memray/lib/libmemray_payload.so"),
    ("lib/libmemray_attach.so", "memray/lib/libmemray_attach.so"),
    ("lib/libmemray_reader_api.so", "memray/lib/libmemray_reader_api.so"),
]

SUMMARY = "A memory profiler for CPython 3.7 to 3.13 on Linux (C++ core): CLI, Tracker and FileReader"

# The pytest plugin is registered under pytest-memray's name: pytest loads one plugin per name,
# so with both installed one of them runs rather than both clashing over --memray.
ENTRY_POINTS = """[console_scripts]
memray = memray.__main__:main

[pytest11]
memray = memray.pytest_plugin
"""


def fail(message):
    sys.exit("build_wheel: error: %s" % message)


def package_version():
    with open(os.path.join(PACKAGE_DIR, "_version.py")) as source:
        match = re.search(r'^__version__ = "([^"]+)"$', source.read(), re.MULTILINE)
    if not match:
        fail("python/memray/_version.py has no __version__ line")
    return match.group(1)


def platform_tag():
    # The native files link Debian's shared libraries (README: "The wheel"), so the tag is the
    # plain platform one, not a manylinux promise.
    return sysconfig.get_platform().replace("-", "_").replace(".", "_")


def package_files():
    """(source, name in wheel) of the Python package: every .py, .pyi and py.typed."""
    files = []
    for root, dirs, names in os.walk(PACKAGE_DIR):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            if name.endswith((".py", ".pyi")) or name == "py.typed":
                source = os.path.join(root, name)
                files.append((source, "memray/" + os.path.relpath(source, PACKAGE_DIR).replace(os.sep, "/")))
    return files


def prepared_native_files(build_dir, scratch, keep_debug):
    files = []
    strip = None if keep_debug else shutil.which("strip")
    for relative, name in NATIVE_FILES:
        source = os.path.join(build_dir, relative)
        if not os.path.isfile(source):
            fail("%s is missing: build it first (cmake --build %s --target wheel)" % (source, build_dir))
        if strip:
            copy = os.path.join(scratch, os.path.basename(relative))
            subprocess.run([strip, "--strip-debug", "-o", copy, source], check=True)
            source = copy
        files.append((source, name))
    return files


def metadata_text(version):
    return "\n".join([
        "Metadata-Version: 2.1",
        "Name: %s" % NAME,
        "Version: %s" % version,
        "Summary: %s" % SUMMARY,
        "Requires-Python: >=3.7, <3.14",
        "Classifier: Operating System :: POSIX :: Linux",
        "Classifier: Programming Language :: Python :: 3",
        "",
        "Run `memray --help`, or `python -m memray --help`. In Python: `memray.Tracker` and",
        "`memray.FileReader` (docs/python-api.md of the source tree).",
        "",
    ])


def wheel_text(tag):
    return "Wheel-Version: 1.0\nGenerator: memray build_wheel.py\nRoot-Is-Purelib: false\nTag: %s\n" % tag


def record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (name, digest, len(data))


def write_wheel(path, entries, dist_info):
    """entries: (name in wheel, bytes, executable) without the dist-info; RECORD comes last."""
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))
    date_time = time.gmtime(max(epoch, 315532800))[:6]
    record = []
    with zipfile.ZipFile(path + ".partial", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data, executable in entries:
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = ((0o755 if executable else 0o644) | 0o100000) << 16  # regular file
            archive.writestr(info, data)
            record.append(record_line(name, data))
        record_name = dist_info + "/RECORD"
        record.append(record_name + ",,")
        info = zipfile.ZipInfo(record_name, date_time=date_time)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = (0o644 | 0o100000) << 16
        archive.writestr(info, "\n".join(record) + "\n")
    os.replace(path + ".partial", path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", required=True, help="the CMake build tree (bin/, lib/)")
    parser.add_argument("--out-dir", required=True, help="where the wheel goes")
    parser.add_argument("--version", help="the project's version, checked against the package's")
    parser.add_argument("--keep-debug", action="store_true", help="keep the native files' debug sections")
    args = parser.parse_args()

    version = package_version()
    if args.version and args.version != version:
        fail("CMakeLists.txt says version %s but python/memray/_version.py says %s" % (args.version, version))
    tag = "py3-none-" + platform_tag()
    dist_info = "%s-%s.dist-info" % (NAME, version)
    os.makedirs(args.out_dir, exist_ok=True)
    wheel_path = os.path.join(args.out_dir, "%s-%s-%s.whl" % (NAME, version, tag))

    with tempfile.TemporaryDirectory(prefix="memray-wheel-") as scratch:
        entries = []
        for source, name in package_files():
            with open(source, "rb") as handle:
                entries.append((name, handle.read(), False))
        for source, name in prepared_native_files(os.path.abspath(args.build_dir), scratch, args.keep_debug):
            with open(source, "rb") as handle:
                entries.append((name, handle.read(), name.startswith("memray/bin/")))
        entries.sort(key=lambda entry: entry[0])
        entries += [
            (dist_info + "/METADATA", metadata_text(version).encode(), False),
            (dist_info + "/WHEEL", wheel_text(tag).encode(), False),
            (dist_info + "/entry_points.txt", ENTRY_POINTS.encode(), False),
        ]
        write_wheel(wheel_path, entries, dist_info)
    print(wheel_path)


if __name__ == "__main__":
    main()
