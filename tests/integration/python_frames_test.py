"""ctest driver for the frame walker's integration test (runs under the test driver Python).

Runs python_frames_target.py under the interpreter under test (MEMRAY_TEST_PYTHON) with the
probe library given as argv[1]; the target does the checking and reports.
"""

import os
import subprocess
import sys


def main():
    python = os.environ["MEMRAY_TEST_PYTHON"]
    library = sys.argv[1]
    target = os.path.join(os.path.dirname(os.path.abspath(__file__)), "python_frames_target.py")
    if not os.path.exists(library):
        print("probe library %s not built" % library)
        return 1
    # -I: no user site or PYTHON* variables leaking in; -X utf8: the target prints non-ASCII
    # names whatever the locale of the test run.
    command = [python, "-I", "-X", "utf8", target, library]
    print(" ".join(command), flush=True)
    return subprocess.run(command, timeout=240).returncode


if __name__ == "__main__":
    sys.exit(main())
