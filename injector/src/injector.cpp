#include "memray/injector/injector.h"

#include "memray/injector/failure.h"
#include "memray/injector/proc.h"
#include "remote_call.h"
#include "remote_memory.h"
#include "safe_point.h"
#include "traced_thread.h"

#include <algorithm>
#include <dlfcn.h>
#include <optional>
#include <sched.h>
#include <sys/syscall.h>
#include <thread>

namespace memray::injector {

namespace {

constexpr size_t kMaxRefusalsKept = 8;
constexpr auto kRetryPause = std::chrono::milliseconds(3);

// Blocking calls an interruption makes fail with EINTR instead of restarting them (signal(7),
// ptrace(2) BUGS). A thread waiting in one is borrowed only if no other thread will do.
bool interruptionMakesFail(long number)
{
    switch (number) {
        case SYS_epoll_wait:
        case SYS_epoll_pwait:
#ifdef SYS_epoll_pwait2
        case SYS_epoll_pwait2:
#endif
        case SYS_rt_sigtimedwait:
        case SYS_io_getevents:
        case SYS_semtimedop:
            return true;
        default:
            return false;
    }
}

// The scheduler state of a thread (R, S, D...) from /proc/PID/task/TID/stat.
char threadState(pid_t pid, pid_t tid)
{
    auto stat = readProcFile("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/stat");
    if (!stat) {
        return '?';
    }
    size_t close = stat->rfind(')');  // the name may contain anything, even ") "
    return close != std::string::npos && close + 2 < stat->size() ? (*stat)[close + 2] : '?';
}

bool isMemrayThread(pid_t pid, pid_t tid)
{
    auto comm = readProcFile("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/comm");
    return comm && comm->starts_with("memray-");
}

uint64_t requireAddress(const Module* primary, const Module* fallback, const char* name)
{
    for (const Module* module : {primary, fallback}) {
        if (module) {
            if (auto address = module->address(name)) {
                return *address;
            }
        }
    }
    throw Failure(FailureKind::Internal, std::string("cannot find ") + name + " in the target's C library");
}

std::chrono::microseconds since(Clock::time_point start)
{
    return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
}

bool processExists(pid_t pid)
{
    return !processExiting(pid);
}

// While it looks for a safe point and holds a thread, memray runs at the lowest real-time
// priority if it may (root, CAP_SYS_NICE): the hold lasts as long as memray's own steps take,
// and on a busy machine a memray preempted between two steps keeps the target's thread stopped
// for a whole time slice. Measured on the 2-core VM at a load average of 9-15, busy 3.12
// target, attaches interleaved: holds over 10 ms 5-7 of 30 at normal priority or nice -10,
// 0 of 30 under chrt -f 1; with this boost, 2 of 90 (longest 31 ms). memray sleeps while it waits
// (for a stop, between attempts), so this takes a CPU only for its own few ms of work; the
// borrowed thread's priority is not ours to change. Not inherited by children.
class PriorityBoost
{
  public:
    PriorityBoost()
    {
        if (sched_getparam(0, &previous_param_) != 0) {
            return;
        }
        previous_policy_ = sched_getscheduler(0);
        sched_param realtime{};
        realtime.sched_priority = sched_get_priority_min(SCHED_FIFO);
        if (previous_policy_ == SCHED_OTHER
            && sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &realtime) == 0) {
            boosted_ = true;
        }
    }
    ~PriorityBoost()
    {
        if (boosted_) {
            sched_setscheduler(0, previous_policy_, &previous_param_);
        }
    }
    PriorityBoost(const PriorityBoost&) = delete;
    PriorityBoost& operator=(const PriorityBoost&) = delete;

  private:
    int previous_policy_ = -1;
    sched_param previous_param_{};
    bool boosted_ = false;
};

}  // namespace

Injector::Injector(pid_t pid, TargetModules& modules, const std::string& payload_path)
: pid_(pid)
{
    const Module* libc = modules.libc();
    if (!libc) {
        throw Failure(FailureKind::Internal, "process " + std::to_string(pid) + " has no C library mapped");
    }
    // glibc >= 2.34 has dlopen in libc itself; older ones in libdl.
    const Module* libdl = modules.libdl();
    dlopen_ = requireAddress(libc, libdl, "dlopen");
    dlerror_ = requireAddress(libc, libdl, "dlerror");
    dlsym_ = requireAddress(libc, libdl, "dlsym");
    errno_location_ = requireAddress(libc, nullptr, "__errno_location");
    gadget_ = libc->bias + libc->elf->entry();
    bool executable = false;
    for (const MapEntry& mapping : modules.maps()) {
        if (mapping.path == libc->path && mapping.executable() && gadget_ >= mapping.start && gadget_ + 8 <= mapping.end) {
            executable = true;
        }
    }
    if (libc->elf->entry() == 0 || !executable) {
        throw Failure(FailureKind::Internal, "no place for the call gadget: the entry point of " + libc->path
                                                 + " is not in executable memory");
    }
    safe_point_ = std::make_unique<SafePointChecker>(pid, modules, payload_path);
}

Injector::~Injector() = default;

std::vector<pid_t> Injector::candidateThreads() const
{
    // Best first: a thread asleep in a call that restarts transparently. It is doing nothing
    // the program could notice, and once resumed for our calls the scheduler runs it at once
    // (a thread that has been sleeping is owed CPU time), where a busy thread would queue behind
    // the program's other busy threads for every step. Then running threads; then threads in
    // uninterruptible sleep (they only stop once their I/O is done); and last, threads whose
    // wait would fail with EINTR. The main thread first within each group.
    std::vector<pid_t> asleep, running, uninterruptible, eintr;
    for (pid_t tid : listThreads(pid_)) {
        if (isMemrayThread(pid_, tid)) {
            continue;
        }
        ThreadSyscall syscall = readThreadSyscall(pid_, tid);
        char state = threadState(pid_, tid);
        if (syscall.state == ThreadSyscall::State::InSyscall && interruptionMakesFail(syscall.number)) {
            eintr.push_back(tid);
        } else if (state == 'S') {
            asleep.push_back(tid);
        } else if (state == 'D') {
            uninterruptible.push_back(tid);
        } else {
            running.push_back(tid);
        }
    }
    std::vector<pid_t> ordered;
    for (const auto* group : {&asleep, &running, &uninterruptible, &eintr}) {
        ordered.insert(ordered.end(), group->begin(), group->end());
    }
    return ordered;
}

InjectionReport Injector::inject(const InjectionRequest& request, Interruption& interruption)
{
    const PriorityBoost boost;
    InjectionReport report;
    const Clock::time_point deadline = Clock::now() + request.safe_point_timeout;
    auto refuse = [&report](std::string reason) {
        report.refusals.push_back(std::move(reason));
        if (report.refusals.size() > kMaxRefusalsKept) {
            report.refusals.erase(report.refusals.begin());
        }
    };

    while (true) {
        std::vector<pid_t> threads = candidateThreads();
        if (threads.empty() && !processExists(pid_)) {
            throw Failure(FailureKind::TargetExiting, "process " + std::to_string(pid_) + " exited during the attach");
        }
        for (pid_t tid : threads) {
            if (interruption.requested()) {
                throw Failure(FailureKind::Interrupted, "interrupted; process " + std::to_string(pid_) + " was left as it was");
            }
            std::unique_ptr<TracedThread> thread;
            try {
                thread = std::make_unique<TracedThread>(pid_, tid, interruption);
                ++report.attempts;
                if (!thread->interrupt(Clock::now() + request.stop_timeout)) {
                    refuse("thread " + std::to_string(tid) + " did not stop within "
                           + std::to_string(request.stop_timeout.count()) + " ms");
                    continue;
                }
            } catch (const Failure& failure) {
                // A thread that ends while we look at it is no reason to give up on the others.
                if (failure.kind() == FailureKind::TargetExiting) {
                    if (processExists(pid_)) {
                        continue;
                    }
                    throw Failure(FailureKind::TargetExiting, "process " + std::to_string(pid_) + " exited during the attach");
                }
                throw;
            }
            const Clock::time_point held_since = thread->stoppedSince();
            RegisterState original;
            std::optional<std::string> verdict;
            try {
                original = thread->saveRegisters();
                verdict = safe_point_->check(tid, original.gpr);
            } catch (const Failure& failure) {
                if (failure.kind() != FailureKind::TargetExiting) {
                    throw;
                }
                if (processExists(pid_)) {
                    continue;  // this thread ended; others remain
                }
                throw Failure(FailureKind::TargetExiting, "process " + std::to_string(pid_) + " exited during the attach");
            }
            report.check_time = since(held_since);
            report.stack_depth = safe_point_->lastDepth();
            if (auto reason = verdict) {
                thread->release();
                report.longest_hold = std::max(report.longest_hold, since(held_since));
                refuse(*reason);
                continue;
            }

            // A safe point: borrow the thread.
            std::optional<Failure> failure;
            {
                RemoteCaller caller(*thread, original, gadget_);
                auto call_deadline = [&request] { return Clock::now() + request.call_timeout; };
                // Every call, timed for -v.
                auto timed = [&](uint64_t function, std::initializer_list<uint64_t> args, const char* what) {
                    const Clock::time_point start = Clock::now();
                    uint64_t result = caller.call(function, args, what, call_deadline());
                    report.calls.emplace_back(what, since(start));
                    return result;
                };
                std::optional<uint64_t> errno_address;
                std::optional<int> saved_errno;
                try {
                    caller.installGadget();
                    errno_address = timed(errno_location_, {}, "__errno_location");
                    saved_errno = readRemoteValue<int>(tid, *errno_address);
                    const uint64_t path = caller.pushString(request.payload_path);
                    const uint64_t symbol = caller.pushString(request.entry_symbol);
                    const uint64_t argument = caller.pushString(request.argument);
                    if (request.on_dlopen) {
                        request.on_dlopen(tid);
                    }
                    const uint64_t handle = timed(dlopen_, {path, RTLD_NOW}, "dlopen");
                    report.dlopen_time = report.calls.back().second;
                    if (handle == 0) {
                        uint64_t message = timed(dlerror_, {}, "dlerror");
                        auto text = message ? readRemoteString(tid, message) : std::nullopt;
                        throw Failure(FailureKind::TargetFailure, "process " + std::to_string(pid_)
                                                                      + " could not load the payload: "
                                                                      + (text ? *text : "dlopen failed"));
                    }
                    const uint64_t entry = timed(dlsym_, {handle, symbol}, "dlsym");
                    if (entry == 0) {
                        throw Failure(FailureKind::TargetFailure, request.payload_path + " does not export "
                                                                      + request.entry_symbol);
                    }
                    report.entry_result = static_cast<int>(timed(entry, {argument}, request.entry_symbol.c_str()));
                } catch (const Failure& error) {
                    failure = error;
                }
                // Put everything back, also after a failure (unless the thread is gone).
                if (!failure || failure->kind() != FailureKind::TargetExiting) {
                    try {
                        if (errno_address && saved_errno) {
                            writeRemote(tid, *errno_address, &*saved_errno, sizeof(int));
                        }
                        caller.removeGadget();
                        thread->restoreRegisters(original);
                    } catch (const Failure& error) {
                        if (!failure) {
                            failure = error;
                        }
                    }
                }
            }
            thread->release();
            report.call_hold = since(held_since);
            report.longest_hold = std::max(report.longest_hold, report.call_hold);
            report.thread = tid;
            if (failure) {
                if (failure->kind() == FailureKind::TargetExiting && !processExists(pid_)) {
                    throw Failure(FailureKind::TargetExiting, "process " + std::to_string(pid_) + " exited during the attach");
                }
                throw *failure;
            }
            return report;
        }
        if (Clock::now() >= deadline) {
            std::string last = report.refusals.empty() ? "no thread could be stopped" : report.refusals.back();
            throw Failure(FailureKind::NoSafePoint,
                          "no thread of process " + std::to_string(pid_) + " reached a safe point within "
                                  + std::to_string(request.safe_point_timeout.count()) + " ms (last: " + last
                                  + "); nothing was changed, try again");
        }
        std::this_thread::sleep_for(kRetryPause);
        safe_point_->refresh();
    }
}

}  // namespace memray::injector
