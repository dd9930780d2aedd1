// SIGINT/SIGTERM to `memray attach` while it holds a thread of the target must not leave the
// target half-modified. For the lifetime of an Interruption, SIGINT, SIGTERM, SIGHUP and SIGQUIT
// are blocked and only noted: the injector finishes or undoes the step it is in, restores the
// target and then gives up with FailureKind::Interrupted. SIGCHLD is blocked too, so that
// waiting for a ptrace stop can have a timeout (sigtimedwait) without racing a handler.
// (SIGKILL cannot be deferred: killing memray while a remote call runs leaves that thread to
// die on the call's trap. That window is a few milliseconds long.)
#pragma once

#include <chrono>
#include <signal.h>

namespace memray::injector {

class Interruption
{
  public:
    Interruption();
    ~Interruption();
    Interruption(const Interruption&) = delete;
    Interruption& operator=(const Interruption&) = delete;

    // True once a terminating signal has arrived (it is consumed and remembered).
    bool requested();
    // The signal that asked to stop, or 0.
    int signal() const { return signal_; }
    // Sleeps until a child changes state, a terminating signal arrives, or `timeout` passes.
    void waitForChild(std::chrono::microseconds timeout);

  private:
    sigset_t blocked_;
    sigset_t previous_;
    int signal_ = 0;
};

}  // namespace memray::injector
