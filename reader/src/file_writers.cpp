#include "file_writers.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace memray::reader {

namespace {

// The access mode of descriptor `fd` of `pid`, from the "flags:" line of its fdinfo (octal).
bool openForWriting(const std::string& process, const char* fd)
{
    std::FILE* info = std::fopen((process + "/fdinfo/" + fd).c_str(), "re");
    if (!info) {
        return false;  // closed meanwhile
    }
    char line[256];
    bool writing = false;
    while (std::fgets(line, sizeof(line), info)) {
        if (std::strncmp(line, "flags:", 6) == 0) {
            const unsigned long flags = std::strtoul(line + 6, nullptr, 8);
            writing = (flags & O_ACCMODE) != O_RDONLY;
            break;
        }
    }
    std::fclose(info);
    return writing;
}

enum class Holds { Yes, No, Unknown };

Holds scanDescriptors(const std::string& process, dev_t dev, ino_t ino)
{
    DIR* fds = ::opendir((process + "/fd").c_str());
    if (!fds) {
        return errno == ENOENT ? Holds::No : Holds::Unknown;
    }
    Holds holds = Holds::No;
    while (dirent* entry = ::readdir(fds)) {
        if (entry->d_name[0] == '.') {
            continue;
        }
        struct stat target;
        // stat follows the descriptor's link to the open file itself, even a deleted one.
        if (::stat((process + "/fd/" + entry->d_name).c_str(), &target) == 0 && target.st_dev == dev
            && target.st_ino == ino && openForWriting(process, entry->d_name))
        {
            holds = Holds::Yes;
            break;
        }
    }
    ::closedir(fds);
    return holds;
}

}  // namespace

bool processWritesFile(pid_t pid, dev_t dev, ino_t ino)
{
    if (pid <= 0) {
        return false;
    }
    const std::string process = "/proc/" + std::to_string(pid);
    switch (scanDescriptors(process, dev, ino)) {
        case Holds::Yes: return true;
        case Holds::No: return false;
        case Holds::Unknown: break;
    }
    struct stat info;
    return ::stat(process.c_str(), &info) == 0;  // another user's process: alive is all we can tell
}

bool anyProcessWritesFile(dev_t dev, ino_t ino)
{
    DIR* processes = ::opendir("/proc");
    if (!processes) {
        return false;
    }
    bool found = false;
    while (dirent* entry = ::readdir(processes)) {
        char* end = nullptr;
        const long pid = std::strtol(entry->d_name, &end, 10);
        if (pid > 0 && *end == '\0' && scanDescriptors("/proc/" + std::string(entry->d_name), dev, ino) == Holds::Yes) {
            found = true;
            break;
        }
    }
    ::closedir(processes);
    return found;
}

}  // namespace memray::reader
