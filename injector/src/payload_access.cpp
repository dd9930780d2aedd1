// Can the target's user read the payload? dlopen() runs with the target's credentials and in
// its mount namespace, so a payload that root can read but the service user cannot (a root-only
// install directory, a 0600 file) would only fail inside the target. Checked here instead: in
// a forked child that takes on the target's uid, gid and groups, resolving the path from the
// target's root directory.
#include "memray/injector/permissions.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

namespace memray::injector {

namespace {

class Descriptor
{
  public:
    explicit Descriptor(int fd)
    : fd_(fd)
    {
    }
    ~Descriptor()
    {
        if (fd_ >= 0) {
            close(fd_);
        }
    }
    Descriptor(const Descriptor&) = delete;
    Descriptor& operator=(const Descriptor&) = delete;
    int get() const { return fd_; }

  private:
    int fd_;
};

// 0: readable, 1: not readable, 2: could not check.
int checkAsTarget(int root, const char* relative, const ProcessStatus& target)
{
    const uid_t uid = target.uid[1];
    const gid_t gid = target.gid[1];
    if (geteuid() == uid && getegid() == gid) {
        return faccessat(root, relative, R_OK, AT_EACCESS) == 0 ? 0 : (errno == EACCES ? 1 : 2);
    }
    if (geteuid() != 0) {
        return 2;  // we cannot take on another user's identity to find out
    }
    std::vector<gid_t> groups = target.groups;
    pid_t child = fork();
    if (child < 0) {
        return 2;
    }
    if (child == 0) {
        // Only system calls from here: this is a copy of a process that may have other threads.
        if (setgroups(groups.size(), groups.data()) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
            _exit(2);
        }
        _exit(faccessat(root, relative, R_OK, 0) == 0 ? 0 : (errno == EACCES ? 1 : 2));
    }
    int status = 0;
    while (waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) {
            return 2;
        }
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}

}  // namespace

std::optional<std::string> payloadUnreadableReason(pid_t pid, const ProcessStatus& target, const std::string& path)
{
    Descriptor root(open(("/proc/" + std::to_string(pid) + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (root.get() < 0 || path.empty() || path.front() != '/') {
        return std::nullopt;
    }
    const char* relative = path.c_str() + 1;
    if (faccessat(root.get(), relative, F_OK, 0) != 0 && errno == ENOENT) {
        return "the payload " + path + " does not exist in the filesystem of process " + std::to_string(pid)
               + " (it runs in another mount namespace or container); install memray where the process can see it";
    }
    if (checkAsTarget(root.get(), relative, target) == 1) {
        return "the payload " + path + " is not readable by " + describeUser(target.uid[1]) + ", the user process "
               + std::to_string(pid)
               + " runs as; make the file and its directories readable by that user (or install memray where"
                 " it can read it)";
    }
    return std::nullopt;
}

}  // namespace memray::injector
