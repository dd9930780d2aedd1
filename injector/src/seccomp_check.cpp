#include "memray/injector/seccomp.h"

#include "memray/injector/failure.h"
#include "memray/injector/proc.h"
#include "seccomp_filter.h"
#include "traced_thread.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/audit.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#ifndef PTRACE_SECCOMP_GET_FILTER
#define PTRACE_SECCOMP_GET_FILTER 0x420c
#endif

namespace memray::injector {

namespace {

// One system call memray makes in the target, with the arguments a filter might look at.
struct Call
{
    const char* name;
    int number;
    uint64_t args[6];
    // glibc copes when it fails (clone3 falls back to clone; rseq and robust lists are
    // optional): only a kill or a trap on it matters.
    bool may_fail;
};

constexpr uint64_t kThreadCloneFlags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD
                                       | CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID
                                       | CLONE_CHILD_CLEARTID;

// What the borrowed thread's dlopen and entry call, the session, start and writer threads, and
// the allocation hooks call (payload/src, glibc's dlopen and pthread_create). Pointer arguments
// are 0: a filter cannot look behind a pointer anyway.
const Call kCalls[] = {
    // dlopen of the payload (and of libunwind for --native)
    {"openat", SYS_openat, {0, 0, O_RDONLY | O_CLOEXEC, 0, 0, 0}, false},
    {"read", SYS_read, {}, false},
    {"pread64", SYS_pread64, {}, false},
    {"newfstatat", SYS_newfstatat, {}, false},
    {"fstat", SYS_fstat, {}, false},
    {"mmap", SYS_mmap, {0, 0, PROT_READ, MAP_PRIVATE | MAP_DENYWRITE, 0, 0}, false},
    {"mmap", SYS_mmap, {0, 0, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED | MAP_DENYWRITE, 0, 0}, false},
    {"mmap", SYS_mmap, {0, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, static_cast<uint64_t>(-1), 0}, false},
    {"mprotect", SYS_mprotect, {0, 0, PROT_READ, 0, 0, 0}, false},
    {"mprotect", SYS_mprotect, {0, 0, PROT_READ | PROT_WRITE, 0, 0, 0}, false},  // GOT patching
    {"munmap", SYS_munmap, {}, false},
    {"close", SYS_close, {}, false},
    // threads of memray's own
    {"rt_sigprocmask", SYS_rt_sigprocmask, {}, false},
    {"prctl", SYS_prctl, {PR_GET_NAME, 0, 0, 0, 0, 0}, false},
    {"prctl", SYS_prctl, {PR_SET_NAME, 0, 0, 0, 0, 0}, false},
    {"clone3", SYS_clone3, {}, true},
    {"clone", SYS_clone, {kThreadCloneFlags, 0, 0, 0, 0, 0}, false},
    {"set_robust_list", SYS_set_robust_list, {}, true},
    {"rseq", SYS_rseq, {}, true},
    {"madvise", SYS_madvise, {}, true},
    {"futex", SYS_futex, {}, false},
    {"exit", SYS_exit, {}, false},
    {"gettid", SYS_gettid, {}, false},
    {"getpid", SYS_getpid, {}, false},
    // the control channel
    {"mkdir", SYS_mkdir, {0, 0700, 0, 0, 0, 0}, false},
    {"lstat", SYS_lstat, {}, false},
    {"socket", SYS_socket, {AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, 0, 0, 0}, false},
    {"fchmod", SYS_fchmod, {}, false},
    {"bind", SYS_bind, {}, false},
    {"listen", SYS_listen, {}, false},
    {"poll", SYS_poll, {}, false},
    {"accept4", SYS_accept4, {}, false},
    {"getsockopt", SYS_getsockopt, {0, SOL_SOCKET, SO_PEERCRED, 0, 0, 0}, false},
    {"write", SYS_write, {}, false},
    {"unlink", SYS_unlink, {}, false},
    // the capture
    {"openat", SYS_openat, {0, 0, O_WRONLY | O_CREAT | O_CLOEXEC | O_EXCL, 0644, 0, 0}, false},
    {"openat", SYS_openat, {0, 0, O_WRONLY | O_CREAT | O_CLOEXEC | O_TRUNC, 0644, 0, 0}, false},
    {"readlink", SYS_readlink, {}, false},
    {"clock_gettime", SYS_clock_gettime, {}, false},
    {"clock_nanosleep", SYS_clock_nanosleep, {}, false},
    {"sched_getaffinity", SYS_sched_getaffinity, {}, true},
};

std::string describeVerdict(uint32_t verdict)
{
    switch (verdict & SECCOMP_RET_ACTION_FULL) {
        case SECCOMP_RET_KILL_PROCESS:
        case SECCOMP_RET_KILL_THREAD:
            return "kills the process";
        case SECCOMP_RET_TRAP:
            return "sends SIGSYS";
        case SECCOMP_RET_ERRNO:
            return std::string("fails it with ") + strerrorname_np(static_cast<int>(verdict & SECCOMP_RET_DATA));
        case SECCOMP_RET_USER_NOTIF:
            return "hands it to a supervisor";
        case SECCOMP_RET_TRACE:
            return "hands it to a tracer";
        default:
            return "does not allow it";
    }
}

bool harmless(uint32_t verdict, const Call& call)
{
    const uint32_t action = verdict & SECCOMP_RET_ACTION_FULL;
    if (action == SECCOMP_RET_ALLOW || action == SECCOMP_RET_LOG) {
        return true;
    }
    return call.may_fail && action == SECCOMP_RET_ERRNO;
}

// Every filter of one stopped thread, newest first. nullopt with `why` if they cannot be read.
std::optional<std::vector<SeccompProgram>> readFilters(pid_t tid, std::string* why)
{
    std::vector<SeccompProgram> filters;
    for (unsigned long index = 0;; ++index) {
        long count = ptrace(static_cast<__ptrace_request>(PTRACE_SECCOMP_GET_FILTER), tid, index, nullptr);
        if (count < 0 && errno == ENOENT && index > 0) {
            return filters;  // past the oldest
        }
        if (count <= 0) {
            *why = errno == EACCES || errno == EPERM ? "reading it needs CAP_SYS_ADMIN (run as root)"
                                                    : std::string("the kernel does not let memray read it (")
                                                              + std::strerror(errno) + ")";
            return std::nullopt;
        }
        SeccompProgram program(static_cast<size_t>(count));
        if (ptrace(static_cast<__ptrace_request>(PTRACE_SECCOMP_GET_FILTER), tid, index, program.data()) != count) {
            *why = std::string("reading it failed (") + std::strerror(errno) + ")";
            return std::nullopt;
        }
        filters.push_back(std::move(program));
    }
}

// The first system call memray makes that the filters forbid, described, or nullopt.
std::optional<std::string> firstForbidden(const std::vector<SeccompProgram>& filters)
{
    for (const Call& call : kCalls) {
        seccomp_data data{};
        data.nr = call.number;
        data.arch = AUDIT_ARCH_X86_64;
        std::memcpy(data.args, call.args, sizeof(data.args));
        uint32_t verdict = SECCOMP_RET_ALLOW;
        for (const SeccompProgram& filter : filters) {
            verdict = strictestVerdict(verdict, runSeccompFilter(filter, data));
        }
        if (!harmless(verdict, call)) {
            return std::string(call.name) + "(), which the filter " + describeVerdict(verdict);
        }
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::string> seccompRefusal(pid_t pid, Interruption& interruption)
{
    const std::string process = "process " + std::to_string(pid);
    const std::string nothing_changed = "; nothing was changed";
    for (pid_t tid : listThreads(pid)) {
        auto status = readProcessStatus(pid, tid);
        if (!status || status->seccomp_mode == 0) {
            continue;
        }
        if (status->seccomp_mode == 1) {
            return process + " runs in seccomp strict mode (it may only read, write and exit): memray cannot run in it"
                   + nothing_changed;
        }
        std::string why;
        std::optional<std::vector<SeccompProgram>> filters;
        try {
            TracedThread thread(pid, tid, interruption);
            if (!thread.interrupt(Clock::now() + std::chrono::seconds(10))) {
                continue;  // a thread that will not stop is not one the attach can borrow either
            }
            filters = readFilters(tid, &why);
        } catch (const Failure& failure) {  // the thread is released by now, after microseconds
            if (failure.kind() == FailureKind::TargetExiting && !processExiting(pid)) {
                continue;  // this thread ended meanwhile
            }
            throw;
        }
        if (!filters) {
            return process + " runs under a seccomp filter that memray cannot check: " + why
                   + "; a filter may kill the process on a system call memray makes, so memray does not attach"
                   + nothing_changed;
        }
        if (auto forbidden = firstForbidden(*filters)) {
            return process + " runs under a seccomp filter that forbids what memray needs: it makes " + *forbidden
                   + nothing_changed;
        }
    }
    return std::nullopt;
}

}  // namespace memray::injector
