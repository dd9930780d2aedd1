"""Checks payload/src/python_layouts.h against the headers of every installed CPython 3.7-3.13.

For each interpreter's include directory, python_frames_layout_probe.c is compiled against
those headers (Py_BUILD_CORE, so the internal frame structs are visible) and prints every
offset, width and constant the payload hard-codes, as "key value" lines. The table's side of
the same facts comes from python_frames_layout_dump. Any difference, including a key only one
side has, fails the test.

Debian's /usr/include/python3.11 is checked as well when present: the system python3.11 links
libpython statically, and the payload serves it with the pyenv-derived 3.11 table.

Exit status: 0 all match, 1 mismatch or error, 77 nothing to check (ctest SKIP_RETURN_CODE).
"""

import argparse
import glob
import os
import re
import subprocess
import sys


def header_dirs(pyenv_root, extra):
    found = []
    for minor in range(7, 14):
        for prefix in sorted(glob.glob(os.path.join(pyenv_root, "3.%d.*" % minor))):
            # 3.7 names its headers after its ABI flags: include/python3.7m.
            for name in ("python3.%d" % minor, "python3.%dm" % minor):
                include = os.path.join(prefix, "include", name)
                if os.path.isfile(os.path.join(include, "Python.h")):
                    found.append((os.path.basename(prefix), include))
                    break
    for include in extra:
        if os.path.isfile(os.path.join(include, "Python.h")):
            found.append((include, include))
    return found


def parse(text):
    facts = {}
    for line in text.splitlines():
        key, value = line.split()
        if key in facts:
            raise ValueError("duplicate key %s" % key)
        facts[key] = value
    return facts


def check(label, include, args):
    includes = ["-I" + include, "-I" + os.path.join(include, "internal")]
    binary = os.path.join(args.work_dir, "probe-" + re.sub(r"[^\w.]", "_", label))
    compile_cmd = [args.cc, "-std=c11", "-DPy_BUILD_CORE", *includes, args.probe, "-o", binary]
    subprocess.run(compile_cmd, check=True)
    probed = parse(subprocess.run([binary], check=True, capture_output=True, text=True).stdout)

    minor = probed["version"].split(".")[1]
    dumped = subprocess.run([args.dump, minor], capture_output=True, text=True)
    if dumped.returncode != 0:
        print("%s: payload has no table for %s: %s" % (label, probed["version"], dumped.stderr.strip()))
        return False
    table = parse(dumped.stdout)

    problems = []
    for key in sorted(set(probed) | set(table)):
        want, have = probed.get(key, "(absent)"), table.get(key, "(absent)")
        if want != have:
            problems.append("  %-28s headers %-10s table %s" % (key, want, have))
    if problems:
        print("%s (%s): %d mismatch(es)" % (label, probed["version"], len(problems)))
        print("\n".join(problems))
        return False
    print("%s (%s): %d facts match" % (label, probed["version"], len(probed)))
    return True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cc", required=True)
    parser.add_argument("--dump", required=True, help="python_frames_layout_dump executable")
    parser.add_argument("--probe", required=True, help="python_frames_layout_probe.c")
    parser.add_argument("--work-dir", required=True)
    parser.add_argument("--pyenv-root", default="/root/.pyenv/versions")
    parser.add_argument("--extra-include", action="append", default=["/usr/include/python3.11"])
    args = parser.parse_args()

    os.makedirs(args.work_dir, exist_ok=True)
    targets = header_dirs(args.pyenv_root, args.extra_include)
    if not targets:
        print("no CPython 3.7-3.13 headers found; skipping")
        return 77
    ok = True
    for label, include in targets:
        try:
            ok &= check(label, include, args)
        except (subprocess.CalledProcessError, ValueError, KeyError) as e:
            print("%s: probe failed: %s" % (label, e))
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
