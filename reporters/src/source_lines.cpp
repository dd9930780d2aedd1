#include "source_lines.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace memray::reporters {

namespace {

// Source files are small; anything larger is not worth holding in memory for a tooltip.
constexpr off_t kMaxSourceBytes = 16 << 20;
// A tooltip shows one line; a minified line of megabytes would only bloat the report.
constexpr size_t kMaxLineBytes = 300;

// The whole of a source file, or "" when it cannot be had. Plain POSIX reads on purpose: the
// path comes from the capture, and a path that stats as a regular file can still fail to read
// (/proc/self/mem gives EIO), which an ifstream's buffer reports by throwing out of the report.
// The type and size are checked on the opened descriptor, so the file cannot be swapped for a
// FIFO or a device between the check and the read; O_NONBLOCK keeps the open itself from
// waiting on a FIFO.
std::string readSource(const std::string& path)
{
    if (path.empty() || path.front() == '<') return {};
    struct stat info;
    // Not even opened unless it is a regular file: opening a device can have effects of its own.
    if (::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return {};
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return {};
    std::string text;
    if (::fstat(fd, &info) == 0 && S_ISREG(info.st_mode) && info.st_size <= kMaxSourceBytes) {
        // Read to the end, not to st_size: files in /proc and /sys claim a size of 0 or 4096.
        char buffer[64 << 10];
        for (;;) {
            const ssize_t got = ::read(fd, buffer, sizeof(buffer));
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) {
                text.clear();  // half a file would give wrong lines
                break;
            }
            if (got == 0) break;
            text.append(buffer, static_cast<size_t>(got));
            if (text.size() > static_cast<size_t>(kMaxSourceBytes)) {
                text.clear();
                break;
            }
        }
    }
    ::close(fd);
    return text;
}

std::string_view strip(std::string_view text)
{
    const auto first = text.find_first_not_of(" \t\r\n\f\v");
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(" \t\r\n\f\v");
    return text.substr(first, last - first + 1);
}

}  // namespace

const SourceLines::File& SourceLines::load(const std::string& path)
{
    auto [entry, inserted] = files_.try_emplace(path);
    File& file = entry->second;
    if (!inserted) return file;
    file.text = readSource(path);
    if (file.text.empty()) return file;
    file.line_starts.push_back(0);
    for (size_t i = 0; i < file.text.size(); ++i) {
        if (file.text[i] == '\n') file.line_starts.push_back(i + 1);
    }
    return file;
}

std::string_view SourceLines::line(const std::string& path, uint64_t line)
{
    const File& file = load(path);
    if (line == 0 || line > file.line_starts.size()) return {};
    const size_t start = file.line_starts[line - 1];
    const size_t end = line < file.line_starts.size() ? file.line_starts[line] : file.text.size();
    const std::string_view text = strip(std::string_view(file.text).substr(start, end - start));
    return text.size() <= kMaxLineBytes ? text : std::string_view();
}

}  // namespace memray::reporters
