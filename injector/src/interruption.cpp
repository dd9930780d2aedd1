#include "memray/injector/interruption.h"

#include <cerrno>
#include <ctime>

namespace memray::injector {

namespace {

bool isTerminating(int signal)
{
    return signal == SIGINT || signal == SIGTERM || signal == SIGHUP || signal == SIGQUIT;
}

}  // namespace

Interruption::Interruption()
{
    sigemptyset(&blocked_);
    for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD}) {
        sigaddset(&blocked_, signal);
    }
    pthread_sigmask(SIG_BLOCK, &blocked_, &previous_);
}

Interruption::~Interruption()
{
    // A terminating signal that arrived was consumed by requested(); one that arrives from here
    // on gets its normal effect once unblocked.
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
}

bool Interruption::requested()
{
    if (signal_ != 0) {
        return true;
    }
    sigset_t pending;
    if (sigpending(&pending) != 0) {
        return false;
    }
    for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) {
        if (sigismember(&pending, signal)) {
            sigset_t just_this;
            sigemptyset(&just_this);
            sigaddset(&just_this, signal);
            timespec now{0, 0};
            sigtimedwait(&just_this, nullptr, &now);
            signal_ = signal;
            return true;
        }
    }
    return false;
}

void Interruption::waitForChild(std::chrono::microseconds timeout)
{
    if (timeout.count() <= 0) {
        return;
    }
    timespec wait{static_cast<time_t>(timeout.count() / 1000000), static_cast<long>((timeout.count() % 1000000) * 1000)};
    int signal = sigtimedwait(&blocked_, nullptr, &wait);
    if (signal > 0 && isTerminating(signal) && signal_ == 0) {
        signal_ = signal;
    }
}

}  // namespace memray::injector
