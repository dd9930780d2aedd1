"""``python -m memray ARGS`` and the ``memray`` console script: the bundled CLI, exactly.

The process becomes the executable (os.execv), so its output, exit status and signals are the
CLI's own. One thing is added: ``memray run`` without ``--python`` runs the program under this
interpreter, as memray's ``python3.X -m memray run`` does, rather than the first python3 on PATH.
"""

from __future__ import annotations

import os
import sys
from typing import List, Sequence

from memray import _bundle

# Global options the CLI takes before its subcommand (tools/memray/main.cpp).
_GLOBAL_FLAGS = {"-v", "-vv", "-vvv", "--verbose"}


def cli_arguments(arguments: Sequence[str], interpreter: str) -> List[str]:
    arguments = list(arguments)
    index = 0
    while index < len(arguments) and arguments[index] in _GLOBAL_FLAGS:
        index += 1
    if index < len(arguments) and arguments[index] == "run":
        given = any(a == "--python" or a.startswith("--python=") for a in arguments[index + 1:])
        if not given and interpreter:
            arguments[index + 1:index + 1] = ["--python", interpreter]
    return arguments


def main() -> None:
    executable = _bundle.executable()
    argv = ["memray"] + cli_arguments(sys.argv[1:], sys.executable)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execv(executable, argv)
    except OSError as error:
        sys.exit("memray: cannot run %s: %s" % (executable, error.strerror))


if __name__ == "__main__":
    main()
