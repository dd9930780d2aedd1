#include "target_path.h"

#include <sys/stat.h>
#include <unistd.h>

namespace memray::cli {

namespace {

// Does `directory` name the same directory for the target (through /proc/PID/root, which
// follows the target's root and mounts) as for this process?
bool sameDirectory(pid_t pid, const std::string& directory)
{
    struct stat ours, theirs;
    const std::string through = "/proc/" + std::to_string(pid) + "/root" + directory;
    if (stat(through.c_str(), &theirs) != 0) {
        return false;
    }
    return stat(directory.c_str(), &ours) == 0 && ours.st_dev == theirs.st_dev && ours.st_ino == theirs.st_ino;
}

}  // namespace

std::string pathSeenFromHere(pid_t pid, const std::string& path)
{
    if (path.empty() || path.front() != '/') {
        return path;
    }
    if (access(("/proc/" + std::to_string(pid) + "/root/").c_str(), F_OK) != 0) {
        return path;  // no such process, or not ours to look into: nothing better to say
    }
    const size_t slash = path.rfind('/');
    const std::string directory = slash == 0 ? "/" : path.substr(0, slash);
    if (sameDirectory(pid, directory)) {
        return path;
    }
    return "/proc/" + std::to_string(pid) + "/root" + path;
}

std::string withPathSeenFromHere(pid_t pid, std::string text, const std::string& path)
{
    const std::string seen = pathSeenFromHere(pid, path);
    if (seen == path || path.empty()) {
        return text;
    }
    for (size_t at = text.find(path); at != std::string::npos; at = text.find(path, at + seen.size())) {
        text.replace(at, path.size(), seen);
    }
    return text;
}

}  // namespace memray::cli
