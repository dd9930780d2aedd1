// Why an attach (or a detach) did not happen. Every refusal has its own kind, so the CLI and
// the tests can tell them apart without parsing messages, and its own one-line message that
// says what to do about it.
#pragma once

#include <stdexcept>
#include <string>

namespace memray::injector {

enum class FailureKind {
    NoSuchProcess,      // no process with that pid
    PermissionDenied,   // ptrace (or the control channel) is not allowed: the message says why
    AlreadyTraced,      // another tracer (gdb, strace, py-spy...) is attached
    Stopped,            // the process is stopped (state T): resuming it is not ours to do
    NotPython,          // no CPython C API in the process
    UnsupportedPython,  // CPython, but a version or build the payload cannot track
    AlreadyTracked,     // a capture is already active in the process
    PayloadUnreadable,  // the target's user cannot read the payload library
    TargetExiting,      // the process is exiting (or exited while we were attaching)
    NoSafePoint,        // no thread reached a safe point before the deadline
    Sandboxed,          // a seccomp filter would kill or fail a system call memray makes
    Interrupted,        // SIGINT/SIGTERM to memray itself; the target was left as it was
    TargetFailure,      // the target could not load or start the payload (dlerror, channel error)
    Internal,           // anything else (a ptrace call failing unexpectedly, ...)
};

class Failure : public std::runtime_error
{
  public:
    Failure(FailureKind kind, const std::string& message)
    : std::runtime_error(message)
    , kind_(kind)
    {
    }
    FailureKind kind() const { return kind_; }

  private:
    FailureKind kind_;
};

}  // namespace memray::injector
