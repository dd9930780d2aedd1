// Runs one program in a child process and stands in for it until it ends.
//
// While the child runs, this process behaves as a transparent wrapper (signal_relay.h): the
// terminal's signals reach the child directly (it shares our process group) and are survived
// here, every other catchable signal sent to this process is forwarded to the child, a stop
// of the child stops this process too; and if this process is killed outright the child gets
// SIGKILL too, as it would if the two were one process. Afterwards dieOfSignal() lets the
// caller end the way the child ended.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "signal_relay.h"

namespace memray::cli {

// Builds the child's argv[1..] from its pid. It runs in the child between fork() and exec(),
// so it may only do what is safe there; this process is single-threaded, so allocating and
// writing to stderr are fine.
using ArgumentBuilder = std::function<std::vector<std::string>(pid_t self)>;

// Starts `program` (looked up in PATH unless it contains a '/', like a shell does) with the
// arguments `build` returns, and waits for it to end. The child starts with the signal
// dispositions and mask this process had. When this returns, every signal stays blocked in
// this process, which is expected to end soon after, with the child's status. Throws std::runtime_error if the child cannot be started (e.g. no such program).
ChildExit runChild(const std::string& program, const ArgumentBuilder& build);

// Like runChild, but runs `started(pid)` in this process once the child has been started
// (every signal is blocked by then, so a thread started there inherits that and leaves the
// signals to the wait), then waits for the child.
ChildExit runChild(const std::string& program, const ArgumentBuilder& build,
                   const std::function<void(pid_t)>& started);

// For the live view, which needs the terminal for itself: starts `program` in a process group
// of its own (the terminal's Ctrl-C and hangup reach only the view), with standard input from
// /dev/null and standard output and error into `output_fd`, and returns its pid without
// waiting. It dies with this process (SIGKILL), like runChild's child. Throws
// std::runtime_error if it cannot be started.
pid_t startBackgroundChild(const std::string& program, const ArgumentBuilder& build, int output_fd);

// Kills this process with `signal`, so that whoever waits for it sees the same status as if
// it had been the child. Never returns.
[[noreturn]] void dieOfSignal(int signal);

}  // namespace memray::cli
