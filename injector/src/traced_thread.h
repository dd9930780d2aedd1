// One thread of the target under ptrace: seized, interrupted, inspected, resumed, released.
//
// Only this thread is ever stopped: the others keep running, so any lock they hold is
// released as usual while we work (stopping the world and then calling into the one stopped
// thread is how injectors deadlock). PTRACE_SEIZE sends no SIGSTOP and has no job-control side
// effects; PTRACE_INTERRUPT stops the thread wherever it is, also inside a blocking system call,
// from which it later resumes transparently (see RegisterState).
//
// Signals: a signal that reaches the thread while we hold it (it shows up as a signal-delivery
// stop) is not delivered then -- no handler may run on top of a half-done remote call -- but
// remembered with its siginfo and delivered when the thread is released.
#pragma once

#include "memray/injector/interruption.h"

#include <sys/types.h>
#include <sys/user.h>
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <vector>

namespace memray::injector {

using Clock = std::chrono::steady_clock;

// Everything a thread's user-space state consists of, as the kernel reports it:
// general-purpose registers (with orig_rax, fs_base, gs_base) and the whole XSAVE area
// (x87, MXCSR, SSE, AVX, AVX-512, ...). Restored bit for bit.
//
// A thread stopped inside a system call shows orig_rax = the call and rax = -ERESTART*; the
// kernel restarts the call when the thread resumes *with these registers*. So the registers
// we run our call with have orig_rax = -1 (nothing to restart), and putting the saved ones back
// re-arms the restart: a sleep, read or wait carries on as if nothing happened.
struct RegisterState
{
    user_regs_struct gpr{};
    std::vector<uint8_t> xstate;
};

// How a wait for the thread ended.
enum class StopKind {
    Trap,      // a SIGTRAP from an int3 (our call returning), siginfo in Stop::info
    Fault,     // a synchronous fault (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT...) in the thread
    Exiting,   // the thread (or the process) is exiting
    Timeout,   // the deadline passed with the thread still running
};

struct Stop
{
    StopKind kind = StopKind::Timeout;
    siginfo_t info{};
};

class TracedThread
{
  public:
    // PTRACE_SEIZE. Throws Failure (PermissionDenied, AlreadyTraced, TargetExiting, Internal).
    TracedThread(pid_t pid, pid_t tid, Interruption& interruption);
    // Releases the thread if it still is ours (best effort; see release()).
    ~TracedThread();
    TracedThread(const TracedThread&) = delete;
    TracedThread& operator=(const TracedThread&) = delete;

    pid_t tid() const { return tid_; }

    // PTRACE_INTERRUPT and wait until the thread is stopped where we may change it. False if
    // it did not stop by `deadline` (it stays seized; the destructor lets it go).
    // Throws Failure(TargetExiting) if it exits meanwhile.
    bool interrupt(Clock::time_point deadline);
    // When the current stop began (the hold time is measured from here).
    Clock::time_point stoppedSince() const { return stopped_since_; }

    RegisterState saveRegisters() const;
    void setRegisters(const user_regs_struct& gpr) const;
    void restoreRegisters(const RegisterState& state) const;

    // Resumes the stopped thread and waits for the next stop that matters (see StopKind).
    // Signal-delivery stops of other signals are deferred and the thread resumed again.
    Stop resume(Clock::time_point deadline);

    // Detaches, delivering the deferred signals. Idempotent.
    void release();

  private:
    // One waitpid status, or nullopt on timeout.
    bool waitStatus(Clock::time_point deadline, int* status);
    void detachOnTheWayOut();
    // Classifies a stop. Returns true if the caller should return it, false if it was
    // handled (deferred, ignored) and the thread must be resumed.
    bool classify(int status, Stop* stop);

    pid_t pid_;
    pid_t tid_;
    Interruption& interruption_;
    bool attached_ = false;
    bool stopped_ = false;
    bool in_signal_stop_ = false;  // the current stop is a signal-delivery stop (a siginfo exists)
    Clock::time_point stopped_since_{};
    std::vector<siginfo_t> deferred_;
};

}  // namespace memray::injector
