// /proc/PID/maps: which files the target has mapped, and where. The path column is what the
// target sees in its own mount namespace; it is opened through /proc/PID/root.
#include "memray/injector/failure.h"
#include "memray/injector/proc.h"

#include <cerrno>
#include <charconv>
#include <cstring>

namespace memray::injector {

namespace {

constexpr std::string_view kDeletedSuffix = " (deleted)";

// Reads one field (up to a space, or `stop`) and advances.
std::string_view takeField(std::string_view* text, char stop = ' ')
{
    size_t end = text->find(stop);
    std::string_view field = text->substr(0, end);
    *text = end == std::string_view::npos ? std::string_view() : text->substr(end + 1);
    return field;
}

template<typename T>
bool parseNumber(std::string_view text, T* value, int base)
{
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *value, base);
    return error == std::errc() && end == text.data() + text.size();
}

bool parseLine(std::string_view line, MapEntry* entry)
{
    std::string_view rest = line;
    std::string_view start = takeField(&rest, '-');
    std::string_view end = takeField(&rest);
    entry->perms = takeField(&rest);
    std::string_view offset = takeField(&rest);
    std::string_view device = takeField(&rest);
    std::string_view inode = takeField(&rest);
    std::string_view major = takeField(&device, ':');
    if (!parseNumber(start, &entry->start, 16) || !parseNumber(end, &entry->end, 16)
        || !parseNumber(offset, &entry->offset, 16) || !parseNumber(major, &entry->dev_major, 16)
        || !parseNumber(device, &entry->dev_minor, 16) || !parseNumber(inode, &entry->inode, 10))
    {
        return false;
    }
    // The path is padded with spaces to a column; it may itself contain spaces.
    while (!rest.empty() && rest.front() == ' ') {
        rest.remove_prefix(1);
    }
    if (rest.size() > kDeletedSuffix.size() && rest.ends_with(kDeletedSuffix)) {
        rest.remove_suffix(kDeletedSuffix.size());
        entry->deleted = true;
    }
    entry->path = rest;
    return true;
}

}  // namespace

std::vector<MapEntry> parseMaps(std::string_view text)
{
    std::vector<MapEntry> entries;
    while (!text.empty()) {
        std::string_view line = takeField(&text, '\n');
        MapEntry entry;
        if (!line.empty() && parseLine(line, &entry)) {
            entries.push_back(std::move(entry));
        }
    }
    return entries;
}

std::vector<MapEntry> readMaps(pid_t pid)
{
    auto text = readProcFile("/proc/" + std::to_string(pid) + "/maps");
    if (!text) {
        if (errno == ENOENT || errno == ESRCH) {
            throw Failure(FailureKind::NoSuchProcess, "no process with pid " + std::to_string(pid));
        }
        throw Failure(FailureKind::PermissionDenied,
                      "cannot read /proc/" + std::to_string(pid) + "/maps: " + std::strerror(errno));
    }
    return parseMaps(*text);
}

}  // namespace memray::injector
