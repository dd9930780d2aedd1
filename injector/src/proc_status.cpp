// /proc/PID/status, the one file about a process that anybody may read: state, tracer,
// credentials and capabilities, all the pre-attach refusals are decided from it.
#include "memray/injector/proc.h"

#include <cerrno>
#include <charconv>
#include <fcntl.h>
#include <unistd.h>

namespace memray::injector {

namespace {

std::string_view trim(std::string_view text)
{
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\n')) {
        text.remove_suffix(1);
    }
    return text;
}

// Whitespace-separated unsigned numbers in `base`.
template<typename T>
std::vector<T> numbers(std::string_view text, int base = 10)
{
    std::vector<T> values;
    while (true) {
        text = trim(text);
        if (text.empty()) {
            return values;
        }
        T value{};
        auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, base);
        if (error != std::errc()) {
            return values;
        }
        values.push_back(value);
        text.remove_prefix(static_cast<size_t>(end - text.data()));
    }
}

}  // namespace

ProcessStatus parseProcessStatus(std::string_view text)
{
    ProcessStatus status;
    while (!text.empty()) {
        size_t newline = text.find('\n');
        std::string_view line = text.substr(0, newline);
        text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
        size_t colon = line.find(':');
        if (colon == std::string_view::npos) {
            continue;
        }
        std::string_view key = line.substr(0, colon);
        std::string_view value = trim(line.substr(colon + 1));
        if (key == "Name") {
            status.name = value;
        } else if (key == "State") {
            status.state = value.empty() ? '?' : value.front();
        } else if (key == "Tgid") {
            auto values = numbers<pid_t>(value);
            status.tgid = values.empty() ? 0 : values[0];
        } else if (key == "PPid") {
            auto values = numbers<pid_t>(value);
            status.ppid = values.empty() ? 0 : values[0];
        } else if (key == "TracerPid") {
            auto values = numbers<pid_t>(value);
            status.tracer_pid = values.empty() ? 0 : values[0];
        } else if (key == "Uid" || key == "Gid") {
            auto values = numbers<uint32_t>(value);
            for (size_t i = 0; i < 4 && i < values.size(); ++i) {
                if (key == "Uid") {
                    status.uid[i] = values[i];
                } else {
                    status.gid[i] = values[i];
                }
            }
        } else if (key == "Groups") {
            for (uint32_t group : numbers<uint32_t>(value)) {
                status.groups.push_back(group);
            }
        } else if (key == "Seccomp") {
            auto values = numbers<int>(value);
            status.seccomp_mode = values.empty() ? 0 : values[0];
        } else if (key == "CapEff") {
            auto values = numbers<uint64_t>(value, 16);
            status.cap_effective = values.empty() ? 0 : values[0];
        }
    }
    return status;
}

std::optional<std::string> readProcFile(const std::string& path)
{
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return std::nullopt;
    }
    std::string text;
    char buffer[8192];
    while (true) {
        ssize_t count = ::read(fd, buffer, sizeof(buffer));
        if (count < 0 && errno == EINTR) {
            continue;
        }
        if (count < 0) {
            int saved = errno;
            ::close(fd);
            errno = saved;
            return std::nullopt;
        }
        if (count == 0) {
            break;
        }
        text.append(buffer, static_cast<size_t>(count));
    }
    ::close(fd);
    return text;
}

std::optional<ProcessStatus> readProcessStatus(pid_t pid, pid_t tid)
{
    std::string path = "/proc/" + std::to_string(pid);
    if (tid != 0) {
        path += "/task/" + std::to_string(tid);
    }
    auto text = readProcFile(path + "/status");
    if (!text) {
        return std::nullopt;
    }
    ProcessStatus status = parseProcessStatus(*text);
    // /proc/PID exists for any thread id too (hidden from listings): a thread id is not a
    // process, and attaching to "the process" of a thread id would surprise.
    if (tid == 0 && status.tgid != 0 && status.tgid != pid) {
        return std::nullopt;
    }
    return status;
}

std::optional<int> yamaPtraceScope()
{
    auto text = readProcFile("/proc/sys/kernel/yama/ptrace_scope");
    if (!text) {
        return std::nullopt;
    }
    auto values = numbers<int>(*text);
    if (values.empty()) {
        return std::nullopt;
    }
    return values[0];
}

bool isAncestor(pid_t ancestor, pid_t pid)
{
    for (int depth = 0; pid > 1 && depth < 4096; ++depth) {
        if (pid == ancestor) {
            return true;
        }
        auto status = readProcessStatus(pid);
        if (!status) {
            return false;
        }
        pid = status->ppid;
    }
    return pid == ancestor;
}

}  // namespace memray::injector
