// Reading a process's state from /proc: everything memray attach looks at before it touches
// the process (and that needs no ptrace permission when the file is world-readable).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace memray::injector {

// The fields of /proc/PID/status (or /proc/PID/task/TID/status) the injector needs.
struct ProcessStatus
{
    std::string name;
    char state = '?';        // R S D T t Z X I ...
    pid_t tgid = 0;
    pid_t ppid = 0;
    pid_t tracer_pid = 0;
    uid_t uid[4] = {};       // real, effective, saved, filesystem
    gid_t gid[4] = {};
    std::vector<gid_t> groups;
    uint64_t cap_effective = 0;
    int seccomp_mode = 0;    // 0 none, 1 strict, 2 filter (the "Seccomp:" field)
};

// Parses the text of a status file. Missing fields keep their defaults.
ProcessStatus parseProcessStatus(std::string_view text);
// nullopt when the process (or thread) does not exist.
std::optional<ProcessStatus> readProcessStatus(pid_t pid, pid_t tid = 0);

// One line of /proc/PID/maps.
struct MapEntry
{
    uint64_t start = 0;
    uint64_t end = 0;
    std::string perms;       // "r-xp"
    uint64_t offset = 0;
    unsigned dev_major = 0;
    unsigned dev_minor = 0;
    uint64_t inode = 0;
    std::string path;        // without a " (deleted)" suffix
    bool deleted = false;

    bool executable() const { return perms.size() > 2 && perms[2] == 'x'; }
};

std::vector<MapEntry> parseMaps(std::string_view text);
// Throws Failure (NoSuchProcess / PermissionDenied) when the maps cannot be read.
std::vector<MapEntry> readMaps(pid_t pid);

// The thread ids of a process, the main thread first. Empty if the process is gone.
std::vector<pid_t> listThreads(pid_t pid);

// What a thread is doing, from /proc/PID/task/TID/syscall.
struct ThreadSyscall
{
    enum class State { Running, InUserMode, InSyscall, Unknown } state = State::Unknown;
    long number = -1;  // the system call, when state == InSyscall
};
ThreadSyscall parseThreadSyscall(std::string_view text);
ThreadSyscall readThreadSyscall(pid_t pid, pid_t tid);

// Whether a thread is exiting or gone (state Z/X, or PF_EXITING in /proc/PID/task/TID/stat):
// the kernel refuses to trace such a thread with EPERM.
bool threadExiting(pid_t pid, pid_t tid);
// Whether the whole process is going away: no thread left that is not exiting.
bool processExiting(pid_t pid);
// Waits (polling) up to `limit` for process `pid` to exit or be exiting; true if it did.
bool waitForExit(pid_t pid, std::chrono::milliseconds limit);

// kernel.yama.ptrace_scope, or nullopt when Yama is not part of this kernel.
std::optional<int> yamaPtraceScope();

// Whether `ancestor` is `pid` or one of its ancestors (walking PPid up to 1).
bool isAncestor(pid_t ancestor, pid_t pid);

// The whole text of a small /proc file; nullopt (with errno set) when it cannot be read.
std::optional<std::string> readProcFile(const std::string& path);

}  // namespace memray::injector
