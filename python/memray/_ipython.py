"""The IPython/Jupyter magic: ``%load_ext memray``, then a cell starting with
``%%memray_flamegraph [flags]`` runs tracked and its flame graph is shown inline.

The cell runs through the shell (``run_cell``), so its names land in the user's namespace as
any cell's do and an exception in it still leaves a report. The capture goes to
``memray-results/<new directory>/`` under the current directory; the bundled CLI's
``memray flamegraph`` turns it into ``flamegraph.html`` there, and the capture is removed.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import tempfile
from typing import Any, List, Optional

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, magics_class
from IPython.display import IFrame, display

from memray import _bundle
from memray._tracker import Tracker
from memray._types import FileFormat

RESULTS_DIRECTORY = "memray-results"


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("%s is not a positive number" % text)
    return value


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="%%memray_flamegraph",
        description="Run the cell with memray tracking its allocations, then show its flame graph "
                    "(by default of the memory alive at the cell's peak).")
    parser.add_argument("--native", action="store_true", help="record native stacks too")
    parser.add_argument("--follow-fork", action="store_true", help="track child processes too")
    parser.add_argument("--trace-python-allocators", action="store_true",
                        help="record every allocation of Python's own allocator (pymalloc)")
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument("--leaks", action="store_true", help="show what was still allocated when the cell ended")
    kind.add_argument("--temporary-allocation-threshold", metavar="N", type=_positive, default=None,
                      help="show temporary allocations: freed after at most N other allocations")
    kind.add_argument("--temporary-allocations", action="store_true",
                      help="show temporary allocations (the threshold 1)")
    parser.add_argument("--temporal", action="store_true",
                        help="a flame graph that can show any time range of the cell's run")
    parser.add_argument("--split-threads", action="store_true", help="keep threads apart")
    parser.add_argument("--inverted", action="store_true",
                        help="allocating functions at the top, their callers below")
    parser.add_argument("--max-memory-records", metavar="N", type=_positive, default=None,
                        help="keep at most N memory samples (and temporal time slices)")
    return parser


def parse_flags(line: str) -> Optional[argparse.Namespace]:
    """The magic's flags, or None when -h printed the help or the flags were wrong (argparse has
    said why): a magic line's mistake is not an exception in the user's notebook."""
    try:
        return argument_parser().parse_args(shlex.split(line))
    except SystemExit:
        return None


def flamegraph_arguments(args: argparse.Namespace) -> List[str]:
    """The reporter's flags of ``memray flamegraph`` that the magic's flags ask for."""
    flags = []
    if args.leaks:
        flags.append("--leaks")
    if args.temporary_allocations:
        flags.append("--temporary-allocations")
    if args.temporary_allocation_threshold is not None:
        flags += ["--temporary-allocation-threshold", str(args.temporary_allocation_threshold)]
    for name in ("temporal", "split_threads", "inverted"):
        if getattr(args, name):
            flags.append("--" + name.replace("_", "-"))
    if args.max_memory_records is not None:
        flags += ["--max-memory-records", str(args.max_memory_records)]
    return flags


@magics_class
class FlamegraphMagics(Magics):
    @cell_magic
    def memray_flamegraph(self, line: str, cell: str) -> None:
        """Run the cell tracked by memray and show its flame graph (``%%memray_flamegraph -h``)."""
        args = parse_flags(line)
        if args is None:
            return
        temporary = args.temporary_allocations or args.temporary_allocation_threshold is not None
        if args.temporal and temporary:
            raise UsageError("Can't create a temporal flame graph of temporary allocations")
        if self.shell is None:
            raise UsageError("Cannot profile code when not in a shell")

        os.makedirs(RESULTS_DIRECTORY, exist_ok=True)
        directory = os.path.relpath(tempfile.mkdtemp(dir=RESULTS_DIRECTORY))
        capture = os.path.join(directory, "memray.dump")
        report = os.path.join(directory, "flamegraph.html")
        # Aggregated captures are small, but hold neither a timeline nor temporary allocations.
        file_format = FileFormat.ALL_ALLOCATIONS if args.temporal or temporary else FileFormat.AGGREGATED_ALLOCATIONS
        with Tracker(capture, native_traces=args.native, follow_fork=args.follow_fork,
                     trace_python_allocators=args.trace_python_allocators, file_format=file_format):
            self.shell.run_cell(cell)

        made = subprocess.run([_bundle.executable(), "flamegraph", "-f", "-o", report]
                              + flamegraph_arguments(args) + [capture],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        if made.returncode != 0:
            print(made.stdout, end="")
            print("memray: no flame graph: the capture stays in %s" % capture)
            return
        os.unlink(capture)
        print("Results saved to %s" % report)
        display(IFrame(report, width="100%", height="600"))


def load_ipython_extension(ipython: Any) -> None:
    ipython.register_magics(FlamegraphMagics)
