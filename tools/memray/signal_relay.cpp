#include "signal_relay.h"

#include "process_state.h"

#include <cerrno>
#include <cstdio>
#include <string>
#include <string_view>
#include <system_error>

#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

namespace memray::cli {

namespace {

// The signals a terminal sends to its whole foreground process group (keyboard: INT, QUIT,
// TSTP; resize: WINCH; background reads and writes: TTIN, TTOU; hangup: HUP, and CONT with it
// for an orphaned group). The kernel sends them with si_code SI_KERNEL.
bool isTerminalSignal(int signal)
{
    switch (signal) {
        case SIGINT:
        case SIGQUIT:
        case SIGTSTP:
        case SIGTTIN:
        case SIGTTOU:
        case SIGWINCH:
        case SIGHUP:
        case SIGCONT:
            return true;
        default:
            return false;
    }
}

bool sentByProcess(const siginfo_t& info)
{
    return info.si_code == SI_USER || info.si_code == SI_QUEUE || info.si_code == SI_TKILL;
}


}  // namespace

SignalRelay::SignalRelay()
{
    // Everything, fault signals included: a real fault in this process is delivered by the
    // kernel even when blocked, and one sent with kill(1) is the program's like any other.
    // SIGKILL and SIGSTOP cannot be blocked, and glibc keeps its internal signals out.
    sigfillset(&d_all);
    sigprocmask(SIG_BLOCK, &d_all, &d_originalMask);
    // An inherited SIG_IGN for SIGCHLD would make the kernel reap the child itself, and
    // waitpid() could never report its status.
    sigaction(SIGCHLD, nullptr, &d_originalChld);
    if (d_originalChld.sa_handler == SIG_IGN) {
        struct sigaction defaults = {};
        defaults.sa_handler = SIG_DFL;
        sigaction(SIGCHLD, &defaults, nullptr);
    }
}

void SignalRelay::restore() const
{
    sigaction(SIGCHLD, &d_originalChld, nullptr);
    sigprocmask(SIG_SETMASK, &d_originalMask, nullptr);
}

ChildExit SignalRelay::waitForExit(pid_t child)
{
    for (;;) {
        // Every change of state first. waitpid(-1): if this process is PID 1 (a container's
        // entry point), the program's orphans are re-parented to it, and are reaped here as
        // init would; only the program's own changes matter.
        for (;;) {
            int status = 0;
            const pid_t changed = waitpid(-1, &status, WNOHANG | WUNTRACED | WCONTINUED);
            if (changed == 0) {
                break;
            }
            if (changed < 0) {
                if (errno == EINTR) {
                    continue;
                }
                throw std::system_error(errno, std::generic_category(), "waitpid");
            }
            if (changed != child) {
                continue;
            }
            if (WIFEXITED(status)) {
                return ChildExit{child, WEXITSTATUS(status), 0};
            }
            if (WIFSIGNALED(status)) {
                return ChildExit{child, 0, WTERMSIG(status)};
            }
            if (WIFSTOPPED(status)) {
                stopLikeChild(child, WSTOPSIG(status));
            }
        }
        siginfo_t info = {};
        const int signal = sigwaitinfo(&d_all, &info);
        if (signal > 0) {
            relay(child, signal, info);
        }
    }
}

// Which signals are passed on. Forwarding a signal the program has received already would
// deliver it twice: a second Ctrl-C could interrupt the program's KeyboardInterrupt handling,
// a handler would run twice. So two kinds are not forwarded:
//   - what the kernel sent to a whole process group the program is in: the terminal's
//     signals (si_code SI_KERNEL). Whether the program is in our group is checked, not
//     assumed: a program that moved to a group of its own (setsid, setpgid) did not get them.
//   - what the program itself sent (to its group, with kill(0, ...), or to its parent).
// The sender of any other signal (kill(1), a supervisor, `docker stop`, a timer) addressed
// this process, and the program stands behind it: it is forwarded, with its sigqueue value.
// What cannot be told apart: a process that signals our whole group with killpg (a shell's
// `kill %1`, `kill -- -PGID`, timeout(1)) reaches the program directly and through us, and it
// may see the signal twice (once if it had not handled the first yet: standard signals do not
// queue). Treating those as group signals instead would lose every signal sent to this process
// alone, which is what supervisors do; the terminal, the common group sender, is recognised.
// SIGCHLD is this process's own business (the program's state), never forwarded.
void SignalRelay::relay(pid_t child, int signal, const siginfo_t& info) const
{
    if (signal == SIGCHLD) {
        return;
    }
    if (sentByProcess(info) && info.si_pid == child) {
        spdlog::debug("not forwarding signal {}: the program sent it", signal);
        return;
    }
    if (info.si_code == SI_KERNEL && isTerminalSignal(signal) && getpgid(child) == getpgrp()) {
        spdlog::debug("not forwarding signal {}: the terminal sent it to the program too", signal);
        return;
    }
    spdlog::debug("forwarding signal {} to pid {}", signal, child);
    if (info.si_code == SI_QUEUE) {
        sigqueue(child, signal, info.si_value);
    } else {
        kill(child, signal);
    }
}

// The shell waits for this process, not for the program: when the program stops (Ctrl-Z, a
// background read, SIGSTOP) this process must stop too, or the shell would go on waiting for a
// job that no longer runs and the terminal would hang. It stops with the program's signal, so
// the shell reports the stop the same way (a job-control signal is discarded by the kernel in
// an orphaned group, and then the program, in the same group, did not stop from it either).
void SignalRelay::stopLikeChild(pid_t child, int stopSignal) const
{
    const bool jobControl = stopSignal == SIGTSTP || stopSignal == SIGTTIN || stopSignal == SIGTTOU;
    const int own = jobControl ? stopSignal : SIGSTOP;
    spdlog::debug("pid {} stopped (signal {}): stopping with signal {}", child, stopSignal, own);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, own);
    if (own == SIGSTOP) {
        raise(SIGSTOP);
    } else {
        // One already pending (the terminal's, not yet collected) would stop us once on
        // unblocking and the raise() a second time after the continue.
        const struct timespec now = {0, 0};
        while (sigtimedwait(&only, nullptr, &now) > 0) {
        }
        struct sigaction defaults = {};
        struct sigaction previous = {};
        defaults.sa_handler = SIG_DFL;
        sigaction(own, &defaults, &previous);
        sigprocmask(SIG_UNBLOCK, &only, nullptr);
        raise(own);
        sigprocmask(SIG_BLOCK, &only, nullptr);
        sigaction(own, &previous, nullptr);
    }
    // Continued. A shell's `fg` or `bg` continues the whole group, the program with it;
    // `kill -CONT` on this process continues only this one. The SIGCONT is consumed here rather
    // than relayed: the program is sent one only if it is still stopped, so it does not get a
    // second one after the group's (unless that one is still on its way: then a program with a
    // SIGCONT handler may see two).
    sigset_t cont;
    sigemptyset(&cont);
    sigaddset(&cont, SIGCONT);
    const struct timespec now = {0, 0};
    if (sigtimedwait(&cont, nullptr, &now) == SIGCONT && processState(child) == 'T') {
        spdlog::debug("continuing pid {}", child);
        kill(child, SIGCONT);
    }
}

}  // namespace memray::cli
