// While `memray run`'s program runs, this process stands in for it towards whoever sent the
// signals: a shell, a terminal, a supervisor, `docker stop`. The rule, worked out in
// signal_relay.cpp:
//   - every catchable signal sent to this process is passed on to the program (kill(1),
//     supervisors, timers), except the ones the program got itself at the same moment: those
//     a terminal sends to the whole foreground process group (Ctrl-C, Ctrl-\, Ctrl-Z, hangup,
//     window size), and those the program sent;
//   - when the program stops (Ctrl-Z, SIGSTOP), this process stops with the same signal, so
//     the shell, which waits for this process and not for the program, sees the job stopped;
//     when continued, it makes sure the program is continued too;
//   - the program's end is collected: its exit status or the signal it died of.
#pragma once

#include <csignal>

#include <sys/types.h>

namespace memray::cli {

struct ChildExit
{
    pid_t pid = 0;
    int exitCode = 0;  // when signal == 0
    int signal = 0;    // the signal that killed the child, or 0 if it exited
};

class SignalRelay
{
  public:
    // Blocks every signal in this process (they are collected by waitForExit, never handled
    // asynchronously, and none is lost between fork() and the wait), and makes sure SIGCHLD
    // is not ignored. Construct it before forking the child.
    SignalRelay();
    SignalRelay(const SignalRelay&) = delete;
    SignalRelay& operator=(const SignalRelay&) = delete;

    // In the child before exec, or in the parent if the child could not be started: the
    // signal mask and SIGCHLD disposition this process had before.
    void restore() const;

    // Relays signals to `child` until it ends. The signals stay blocked afterwards: this
    // process only has to report and end the way the child did, and a late Ctrl-C (pending,
    // or pressed again) must not make it die of SIGINT instead.
    ChildExit waitForExit(pid_t child);

  private:
    void relay(pid_t child, int signal, const siginfo_t& info) const;
    void stopLikeChild(pid_t child, int stopSignal) const;

    sigset_t d_all;
    sigset_t d_originalMask;
    struct sigaction d_originalChld = {};
};

}  // namespace memray::cli
