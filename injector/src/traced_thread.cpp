#include "traced_thread.h"

#include "memray/injector/failure.h"
#include "memray/injector/proc.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <elf.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

namespace memray::injector {

namespace {

// A ptrace request on a thread that we thought stopped failed: with ESRCH it is gone (killed
// meanwhile), which is the target exiting rather than our failure.
[[noreturn]] void fail(const std::string& what, pid_t tid)
{
    int error = errno;
    if (error == ESRCH) {
        throw Failure(FailureKind::TargetExiting, "thread " + std::to_string(tid) + " vanished");
    }
    throw Failure(FailureKind::Internal, what + ": " + std::strerror(error));
}

// Larger than any XSAVE area (AVX-512 with AMX tiles is ~11 KiB): the kernel copies what it
// has and tells us how much that was.
constexpr size_t kXstateBufferBytes = 64 * 1024;
constexpr auto kWaitSlice = std::chrono::milliseconds(2);

bool isGroupStopSignal(int signal)
{
    return signal == SIGSTOP || signal == SIGTSTP || signal == SIGTTIN || signal == SIGTTOU;
}

bool isFaultSignal(int signal)
{
    return signal == SIGSEGV || signal == SIGBUS || signal == SIGILL || signal == SIGFPE;
}

std::string describeTracer(pid_t tracer)
{
    auto status = readProcessStatus(tracer);
    return std::to_string(tracer) + (status ? " (" + status->name + ")" : "");
}

}  // namespace

TracedThread::TracedThread(pid_t pid, pid_t tid, Interruption& interruption)
: pid_(pid)
, tid_(tid)
, interruption_(interruption)
{
    // PTRACE_O_TRACEEXIT: if the process exits while we hold the thread we get a stop instead
    // of losing it mid-call. (Never PTRACE_O_EXITKILL: if memray dies the target lives on.)
    if (ptrace(PTRACE_SEIZE, tid, nullptr, reinterpret_cast<void*>(PTRACE_O_TRACEEXIT)) != 0) {
        int error = errno;
        if (error == ESRCH) {
            throw Failure(FailureKind::TargetExiting, "thread " + std::to_string(tid) + " of process "
                                                          + std::to_string(pid) + " exited");
        }
        if (error == EPERM) {
            // The kernel also says EPERM for a thread that is exiting (and one of ours that
            // exited while we held it may still show us as its tracer until it is reaped).
            auto status = readProcessStatus(pid, tid);
            if (!status || threadExiting(pid, tid) || status->tracer_pid == getpid() || processExiting(pid)) {
                throw Failure(FailureKind::TargetExiting, "process " + std::to_string(pid) + " exited during the attach");
            }
            if (status->tracer_pid != 0) {
                throw Failure(FailureKind::AlreadyTraced,
                              "process " + std::to_string(pid) + " is already being traced by process "
                                      + describeTracer(status->tracer_pid) + "; only one tracer may attach at a time");
            }
            throw Failure(FailureKind::PermissionDenied,
                          "permission denied: the kernel refused to let memray trace process " + std::to_string(pid)
                                  + " (PTRACE_SEIZE: " + std::strerror(error)
                                  + "); a security module (SELinux, AppArmor), a seccomp filter or a container"
                                    " without CAP_SYS_PTRACE may forbid ptrace");
        }
        throw Failure(FailureKind::Internal, "PTRACE_SEIZE of thread " + std::to_string(tid) + " failed: " + std::strerror(error));
    }
    attached_ = true;
}

TracedThread::~TracedThread()
{
    release();
}

bool TracedThread::waitStatus(Clock::time_point deadline, int* status)
{
    while (true) {
        pid_t result = waitpid(tid_, status, __WALL | WNOHANG);
        if (result == tid_) {
            return true;
        }
        if (result < 0 && errno == EINTR) {
            continue;
        }
        if (result < 0) {
            attached_ = false;  // ECHILD: not our tracee any more (it is gone)
            throw Failure(FailureKind::TargetExiting, "thread " + std::to_string(tid_) + " of process "
                                                          + std::to_string(pid_) + " is gone");
        }
        auto left = deadline - Clock::now();
        if (left <= Clock::duration::zero()) {
            return false;
        }
        interruption_.waitForChild(std::chrono::duration_cast<std::chrono::microseconds>(std::min<Clock::duration>(left, kWaitSlice)));
    }
}

bool TracedThread::interrupt(Clock::time_point deadline)
{
    if (ptrace(PTRACE_INTERRUPT, tid_, nullptr, nullptr) != 0) {
        throw Failure(FailureKind::TargetExiting, "thread " + std::to_string(tid_) + " vanished: " + std::strerror(errno));
    }
    while (true) {
        int status = 0;
        if (!waitStatus(deadline, &status)) {
            return false;
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            attached_ = false;
            throw Failure(FailureKind::TargetExiting, "process " + std::to_string(pid_) + " exited during the attach");
        }
        const int signal = WSTOPSIG(status);
        const int event = status >> 16;
        stopped_ = true;
        stopped_since_ = Clock::now();
        in_signal_stop_ = false;
        if (event == PTRACE_EVENT_EXIT) {
            throw Failure(FailureKind::TargetExiting, "process " + std::to_string(pid_) + " is exiting");
        }
        if (event == PTRACE_EVENT_STOP) {
            if (isGroupStopSignal(signal)) {
                throw Failure(FailureKind::Stopped, "process " + std::to_string(pid_)
                                                        + " was stopped by job control (" + strsignal(signal)
                                                        + ") during the attach");
            }
            return true;  // our interrupt
        }
        // A signal-delivery stop came first: keep the signal for later, let our interrupt land.
        siginfo_t info{};
        if (ptrace(PTRACE_GETSIGINFO, tid_, nullptr, &info) == 0) {
            deferred_.push_back(info);
        }
        stopped_ = false;
        if (ptrace(PTRACE_CONT, tid_, nullptr, nullptr) != 0) {
            throw Failure(FailureKind::TargetExiting, "thread " + std::to_string(tid_) + " vanished: " + std::strerror(errno));
        }
    }
}

RegisterState TracedThread::saveRegisters() const
{
    RegisterState state;
    iovec general{&state.gpr, sizeof(state.gpr)};
    if (ptrace(PTRACE_GETREGSET, tid_, reinterpret_cast<void*>(NT_PRSTATUS), &general) != 0) {
        fail("cannot read the registers", tid_);
    }
    state.xstate.resize(kXstateBufferBytes);
    iovec extended{state.xstate.data(), state.xstate.size()};
    if (ptrace(PTRACE_GETREGSET, tid_, reinterpret_cast<void*>(NT_X86_XSTATE), &extended) != 0) {
        fail("cannot read the FPU/vector registers", tid_);
    }
    state.xstate.resize(extended.iov_len);
    return state;
}

void TracedThread::setRegisters(const user_regs_struct& gpr) const
{
    iovec general{const_cast<user_regs_struct*>(&gpr), sizeof(gpr)};
    if (ptrace(PTRACE_SETREGSET, tid_, reinterpret_cast<void*>(NT_PRSTATUS), &general) != 0) {
        fail("cannot set the registers", tid_);
    }
}

void TracedThread::restoreRegisters(const RegisterState& state) const
{
    if (!state.xstate.empty()) {
        iovec extended{const_cast<uint8_t*>(state.xstate.data()), state.xstate.size()};
        if (ptrace(PTRACE_SETREGSET, tid_, reinterpret_cast<void*>(NT_X86_XSTATE), &extended) != 0) {
            fail("cannot restore the FPU/vector registers", tid_);
        }
    }
    setRegisters(state.gpr);
}

bool TracedThread::classify(int status, Stop* stop)
{
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
        attached_ = false;
        stopped_ = false;
        stop->kind = StopKind::Exiting;
        return true;
    }
    const int signal = WSTOPSIG(status);
    const int event = status >> 16;
    stopped_ = true;
    in_signal_stop_ = false;
    if (event == PTRACE_EVENT_EXIT) {
        stop->kind = StopKind::Exiting;
        return true;
    }
    if (event != 0) {
        // The rest of an interrupt, or a group stop of the process: our call goes on (the
        // thread rejoins a group stop when released).
        return false;
    }
    siginfo_t info{};
    ptrace(PTRACE_GETSIGINFO, tid_, nullptr, &info);
    in_signal_stop_ = true;
    // si_code > 0: raised by the kernel for what this thread executed, not sent by anybody.
    if (signal == SIGTRAP && info.si_code > 0) {
        stop->kind = StopKind::Trap;
        stop->info = info;
        return true;
    }
    if (isFaultSignal(signal) && info.si_code > 0) {
        stop->kind = StopKind::Fault;
        stop->info = info;
        return true;
    }
    deferred_.push_back(info);
    return false;
}

Stop TracedThread::resume(Clock::time_point deadline)
{
    Stop stop;
    while (true) {
        stopped_ = false;
        in_signal_stop_ = false;
        if (ptrace(PTRACE_CONT, tid_, nullptr, nullptr) != 0) {
            stop.kind = StopKind::Exiting;
            return stop;
        }
        int status = 0;
        if (!waitStatus(deadline, &status)) {
            stop.kind = StopKind::Timeout;
            return stop;
        }
        if (classify(status, &stop)) {
            return stop;
        }
    }
}

void TracedThread::release()
{
    if (!attached_) {
        return;
    }
    if (!stopped_) {
        // Still running (a timeout): it must stop before it can be detached. If it never does,
        // the kernel detaches it when memray exits, pending interrupt and all.
        try {
            if (!interrupt(Clock::now() + std::chrono::seconds(1))) {
                return;
            }
        } catch (const Failure&) {
            if (!stopped_) {
                attached_ = false;
                return;
            }
        }
    }
    attached_ = false;
    size_t first_to_resend = 0;
    int deliver_now = 0;
    if (in_signal_stop_ && !deferred_.empty()
        && ptrace(PTRACE_SETSIGINFO, tid_, nullptr, &deferred_.front()) == 0)
    {
        // Delivered by the detach itself, with its original siginfo.
        deliver_now = deferred_.front().si_signo;
        first_to_resend = 1;
    }
    if (ptrace(PTRACE_DETACH, tid_, nullptr, reinterpret_cast<void*>(static_cast<long>(deliver_now))) != 0
        && errno == ESRCH)
    {
        detachOnTheWayOut();
    }
    // Any others: sent again to the same thread (their siginfo becomes ours; standard signals
    // do not queue anyway, so none is lost or doubled).
    for (size_t i = first_to_resend; i < deferred_.size(); ++i) {
        syscall(SYS_tgkill, pid_, tid_, deferred_[i].si_signo);
    }
    deferred_.clear();
    stopped_ = false;
}

void TracedThread::detachOnTheWayOut()
{
    // PTRACE_DETACH says ESRCH when the thread is not in a stop: it was killed while we held it
    // (SIGKILL ends any ptrace stop) and is running towards its exit. It will stop once more,
    // at PTRACE_EVENT_EXIT, and stay there, still ours, until we let it go: without this its
    // parent could not reap it (a supervisor restarting it would wait) until memray exited.
    const Clock::time_point deadline = Clock::now() + std::chrono::seconds(1);
    while (true) {
        int status = 0;
        try {
            if (!waitStatus(deadline, &status)) {
                return;  // never stopped: the kernel lets it go when memray exits
            }
        } catch (const Failure&) {
            return;  // reaped: not ours any more
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            return;
        }
        if (ptrace(PTRACE_DETACH, tid_, nullptr, nullptr) == 0 || errno != ESRCH) {
            return;
        }
    }
}

}  // namespace memray::injector
