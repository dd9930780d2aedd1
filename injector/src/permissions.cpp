#include "memray/injector/permissions.h"

#include <cerrno>
#include <cstring>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

namespace memray::injector {

std::string describeUser(uid_t uid)
{
    passwd entry{};
    passwd* found = nullptr;
    char buffer[4096];
    if (getpwuid_r(uid, &entry, buffer, sizeof(buffer), &found) == 0 && found) {
        return std::string(found->pw_name) + " (uid " + std::to_string(uid) + ")";
    }
    return "uid " + std::to_string(uid);
}

std::optional<std::string> ptraceRefusal(pid_t pid, const ProcessStatus& target)
{
    auto self = readProcessStatus(getpid());
    if (!self) {
        return std::nullopt;  // cannot tell; PTRACE_SEIZE will
    }
    const bool privileged = (self->cap_effective >> kCapSysPtrace) & 1;
    const std::string process = "process " + std::to_string(pid);

    // PTRACE_MODE_ATTACH_REALCREDS: our real ids against all of the target's.
    const uid_t uid = self->uid[0];
    const gid_t gid = self->gid[0];
    const bool same_user = target.uid[0] == uid && target.uid[1] == uid && target.uid[2] == uid && target.gid[0] == gid
                           && target.gid[1] == gid && target.gid[2] == gid;
    if (!same_user && !privileged) {
        return "permission denied: " + process + " runs as " + describeUser(target.uid[1]) + " and memray runs as "
               + describeUser(uid) + "; attach as the same user, or as root (CAP_SYS_PTRACE)";
    }
    // A process that is not dumpable (it changed credentials, or asked not to be) has its
    // /proc files owned by root; only CAP_SYS_PTRACE may trace it.
    struct stat info;
    const std::string proc = "/proc/" + std::to_string(pid);
    if (!privileged && stat(proc.c_str(), &info) == 0 && info.st_uid == 0 && target.uid[1] != 0) {
        return "permission denied: " + process
               + " is not dumpable (it changed its user or group ids, or called prctl(PR_SET_DUMPABLE, 0)); only root"
                 " (CAP_SYS_PTRACE) may attach to it";
    }
    if (auto scope = yamaPtraceScope()) {
        if (*scope >= 3) {
            return "permission denied: kernel.yama.ptrace_scope is " + std::to_string(*scope)
                   + ", which disables ptrace attach on this system until it reboots";
        }
        if (*scope == 2 && !privileged) {
            return "permission denied: kernel.yama.ptrace_scope is 2, so attaching needs CAP_SYS_PTRACE; run memray"
                   " attach as root";
        }
        if (*scope == 1 && !privileged && !isAncestor(getpid(), pid)) {
            return "permission denied: kernel.yama.ptrace_scope is 1, so only an ancestor of " + process
                   + " may attach to it; run memray attach as root (CAP_SYS_PTRACE), or set"
                     " kernel.yama.ptrace_scope to 0";
        }
    }
    return std::nullopt;
}

}  // namespace memray::injector
