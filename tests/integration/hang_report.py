"""What every process of a tree was doing: the failure message of a test whose command hung.

A timeout alone says nothing about why; the native stack of every thread of every process
involved (memray, the interpreter it started, forked children) usually does. Stacks come from
eu-stack (Debian's elfutils, installed by tools/scripts/setup.sh), else gdb.

    except subprocess.TimeoutExpired:
        raise AssertionError("... hung\\n" + hang_report.describe_tree(process.pid))
"""

import os
import shutil
import subprocess

# Reading a stack takes well under a second; a process stuck in the kernel may take longer.
STACK_TIMEOUT = 60


def _parent_of(pid):
    try:
        with open("/proc/%d/stat" % pid) as stat:
            text = stat.read()
    except OSError:
        return None
    # The command name is in parentheses and may itself contain spaces and parentheses.
    return int(text[text.rindex(")") + 2:].split()[1])


def descendants(root):
    """`root` and every process below it, parents before children."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            parent = _parent_of(int(entry))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry))
    found, pending = [], [root]
    while pending:
        pid = pending.pop(0)
        found.append(pid)
        pending.extend(sorted(children.get(pid, [])))
    return found


def _command_line(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as cmdline:
            words = cmdline.read().split(b"\0")
    except OSError:
        return "(gone)"
    text = " ".join(w.decode("utf-8", "replace") for w in words if w)
    return text if len(text) <= 300 else text[:300] + "..."


def stacks(pid):
    """Every thread's native stack of one process, as text."""
    if shutil.which("eu-stack"):
        command = ["eu-stack", "-p", str(pid)]
    elif shutil.which("gdb"):
        command = ["gdb", "-p", str(pid), "-batch", "-nx", "-ex", "thread apply all bt 40"]
    else:
        return "(neither eu-stack nor gdb is installed to show the stacks)"
    try:
        dump = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=STACK_TIMEOUT)
    except subprocess.TimeoutExpired:
        return "(%s timed out)" % command[0]
    if command[0] == "gdb":
        return "\n".join(line for line in dump.stdout.splitlines() if line.startswith(("Thread", "#")))
    return dump.stdout.rstrip()


def describe_tree(root):
    """The command line and every thread's stack of `root` and of each process below it."""
    parts = []
    for pid in descendants(root):
        parts.append("--- process %d: %s\n%s" % (pid, _command_line(pid), stacks(pid)))
    return "\n".join(parts) if parts else "(process %d is gone)" % root


def kill_tree(root):
    """SIGKILLs `root` and every process below it (children first: none is left orphaned)."""
    for pid in reversed(descendants(root)):
        try:
            os.kill(pid, 9)
        except OSError:
            pass
