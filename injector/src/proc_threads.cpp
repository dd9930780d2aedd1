// The threads of a process and what each one is doing right now.
#include "memray/injector/proc.h"

#include <algorithm>
#include <charconv>
#include <dirent.h>
#include <thread>

namespace memray::injector {

std::vector<pid_t> listThreads(pid_t pid)
{
    std::vector<pid_t> threads;
    std::string path = "/proc/" + std::to_string(pid) + "/task";
    DIR* directory = ::opendir(path.c_str());
    if (!directory) {
        return threads;
    }
    while (dirent* entry = ::readdir(directory)) {
        std::string_view name = entry->d_name;
        pid_t tid = 0;
        auto [end, error] = std::from_chars(name.data(), name.data() + name.size(), tid);
        if (error == std::errc() && end == name.data() + name.size() && tid > 0) {
            threads.push_back(tid);
        }
    }
    ::closedir(directory);
    std::sort(threads.begin(), threads.end());
    auto main = std::find(threads.begin(), threads.end(), pid);
    if (main != threads.end()) {
        std::rotate(threads.begin(), main, main + 1);
    }
    return threads;
}

bool threadExiting(pid_t pid, pid_t tid)
{
    constexpr unsigned long kPfExiting = 0x4;
    auto stat = readProcFile("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/stat");
    if (!stat) {
        return true;
    }
    // "TID (comm) STATE PPID PGRP SESSION TTY TPGID FLAGS ...": comm may contain anything.
    size_t close = stat->rfind(')');
    if (close == std::string::npos || close + 2 >= stat->size()) {
        return false;
    }
    std::string_view rest(stat->data() + close + 2, stat->size() - close - 2);
    char state = rest.front();
    if (state == 'Z' || state == 'X') {
        return true;
    }
    for (int field = 0; field < 6; ++field) {  // skip STATE .. TPGID
        size_t space = rest.find(' ');
        if (space == std::string_view::npos) {
            return false;
        }
        rest.remove_prefix(space + 1);
    }
    unsigned long flags = 0;
    std::from_chars(rest.data(), rest.data() + rest.size(), flags);
    return (flags & kPfExiting) != 0;
}

bool processExiting(pid_t pid)
{
    for (pid_t tid : listThreads(pid)) {
        if (!threadExiting(pid, tid)) {
            return false;
        }
    }
    return true;
}

bool waitForExit(pid_t pid, std::chrono::milliseconds limit)
{
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (true) {
        auto status = readProcessStatus(pid);
        if (!status || status->state == 'Z' || status->state == 'X' || processExiting(pid)) {
            return true;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

ThreadSyscall parseThreadSyscall(std::string_view text)
{
    // "running", or "-1 SP PC" (blocked, not in a system call), or "NR ARG1..ARG6 SP PC".
    ThreadSyscall result;
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
        text.remove_suffix(1);
    }
    if (text == "running") {
        result.state = ThreadSyscall::State::Running;
        return result;
    }
    std::string_view first = text.substr(0, text.find(' '));
    long number = 0;
    auto [end, error] = std::from_chars(first.data(), first.data() + first.size(), number);
    if (error != std::errc() || first.empty()) {
        return result;
    }
    if (number < 0) {
        result.state = ThreadSyscall::State::InUserMode;
    } else {
        result.state = ThreadSyscall::State::InSyscall;
        result.number = number;
    }
    return result;
}

ThreadSyscall readThreadSyscall(pid_t pid, pid_t tid)
{
    auto text = readProcFile("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/syscall");
    if (!text) {
        return {};
    }
    return parseThreadSyscall(*text);
}

}  // namespace memray::injector
