"""Driving the live view through a real terminal: tmux (standard library only).

A Tmux runs one command in a detached tmux server of its own (a private socket, so parallel
tests never meet), in a window of a given size. The tests read the screen as text with
`capture-pane` and type with `send-keys`, exactly as a user's terminal would deliver them.
When the command ends, its pane stays (remain-on-exit), so the last screen can still be read,
and its exit status is in a file.

Every wait polls with a generous bound; when one runs out, the failure shows the screen and
the stacks of every process in the pane (hang_report).
"""

import itertools
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import hang_report  # noqa: E402
import memray_testlib as lib  # noqa: E402

# Far beyond what any screen needs on a quiet machine (well under a second): only a stuck
# view runs into it.
WAIT_TIMEOUT = 90

_sessions = itertools.count()


def shell_quote(text):
    return "'" + str(text).replace("'", "'\\''") + "'"


class Tmux:
    """COMMAND (a list) in a WIDTH x HEIGHT tmux window; DIRECTORY holds tmux's files."""

    def __init__(self, directory, command, width=100, height=30, env=None, utf8=True):
        self.directory = Path(directory)
        self.socket = "memray-test-%d-%d" % (os.getpid(), next(_sessions))
        self.status_file = self.directory / ("%s.status" % self.socket)
        config = self.directory / ("%s.conf" % self.socket)
        config.write_text('set -g remain-on-exit on\nset -g default-terminal "tmux-256color"\n'
                          "set -g status off\n")
        environment = dict(env if env is not None else lib.memray_env())
        environment["LANG"] = environment["LC_ALL"] = "C.UTF-8" if utf8 else "C"
        environment.pop("TMUX", None)
        self.environment = environment
        shell = "%s; echo $? > %s" % (" ".join(shell_quote(a) for a in command), shell_quote(self.status_file))
        self._tmux(["-f", str(config), "new-session", "-d", "-s", "live", "-x", str(width), "-y", str(height),
                    "sh", "-c", shell])

    def _tmux(self, arguments, check=True):
        return subprocess.run(["tmux", "-L", self.socket] + arguments, env=self.environment, check=check,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                              timeout=lib.DEFAULT_TIMEOUT)

    def screen(self):
        """The window's text, one string per line (trailing blanks trimmed)."""
        return [line.rstrip() for line in self._tmux(["capture-pane", "-p", "-t", "live"]).stdout.split("\n")]

    def text(self):
        return "\n".join(self.screen())

    def full_text(self):
        """Everything the window showed that is still kept, scrolled-off lines included: what a
        command printed after leaving the full-screen view (tmux may scroll it off when the
        command's pane dies)."""
        return self._tmux(["capture-pane", "-p", "-S", "-", "-E", "-", "-t", "live"]).stdout

    def keys(self, *keys):
        """tmux key names or literal text, e.g. keys("t"), keys("Space"), keys("Escape")."""
        self._tmux(["send-keys", "-t", "live"] + list(keys))

    def type(self, text):
        self._tmux(["send-keys", "-t", "live", "-l", text])

    def resize(self, width, height):
        self._tmux(["resize-window", "-t", "live", "-x", str(width), "-y", str(height)])

    def pane_pid(self):
        return int(self._tmux(["display-message", "-p", "-t", "live", "#{pane_pid}"]).stdout.strip())

    def exit_status(self):
        """The command's exit status once it has ended, else None."""
        try:
            text = self.status_file.read_text().strip()
        except FileNotFoundError:
            return None
        return int(text) if text else None

    def wait_for(self, predicate, what, timeout=WAIT_TIMEOUT, involved=()):
        """Polls the screen until PREDICATE(screen lines) is true; returns those lines. WHAT says
        what was awaited, for the failure message."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.screen()
            if predicate(lines):
                return lines
            if time.monotonic() >= deadline:
                self.fail("timed out after %s s waiting for %s" % (timeout, what), lines, involved)
            time.sleep(0.1)

    def wait_for_text(self, pattern, timeout=WAIT_TIMEOUT, involved=()):
        """The first screen whose text matches the regular expression PATTERN."""
        regex = re.compile(pattern)
        return self.wait_for(lambda lines: regex.search("\n".join(lines)), "/%s/ on the screen" % pattern,
                             timeout, involved)

    def wait_for_exit(self, timeout=WAIT_TIMEOUT, involved=()):
        deadline = time.monotonic() + timeout
        while self.exit_status() is None:
            if time.monotonic() >= deadline:
                self.fail("timed out after %s s waiting for the command to end" % timeout, self.screen(), involved)
            time.sleep(0.05)
        return self.exit_status()

    def fail(self, message, lines, involved=()):
        try:
            pids = [self.pane_pid()]
        except (subprocess.SubprocessError, ValueError):
            pids = []
        stacks = "\n".join(hang_report.describe_tree(pid) for pid in pids + list(involved))
        raise AssertionError("%s; the screen:\n%s\n%s" % (message, "\n".join(lines), stacks))

    def close(self):
        self._tmux(["kill-server"], check=False)


# A row of the table: "Location  Total  % Total  Own  % Own  Allocations  File/Module".
ROW = re.compile(r"^(?P<location>\S.*?)\s+(?P<total>\d+\.\d{3}[kMGTP]?B)\s+(?P<total_pct>\d+\.\d\d%)\s+"
                 r"(?P<own>\d+\.\d{3}[kMGTP]?B)\s+(?P<own_pct>\d+\.\d\d%)\s+(?P<allocations>\d+)\s*(?P<file>.*)$")


def rows(lines):
    """The table rows on the screen, in order, as dicts of the columns above."""
    return [match.groupdict() for match in map(ROW.match, lines) if match]


def row(lines, function):
    """The row of FUNCTION (its Location), or None."""
    return next((r for r in rows(lines) if r["location"] == function), None)


def row_index(lines, function):
    """FUNCTION's place in the table (0 for the first row), or None."""
    return next((i for i, r in enumerate(rows(lines)) if r["location"] == function), None)


def process_state(pid):
    """PID's state letter in /proc (R, S, T stopped, Z zombie...), or None once it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def process_alive(pid):
    """Whether PID runs (a zombie does not)."""
    return process_state(pid) not in (None, "Z", "X")
