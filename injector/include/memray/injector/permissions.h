// Would the kernel let us ptrace the target, and can the target's user read the payload?
// Both are answered before anything is stopped, so a refusal says exactly what is missing
// instead of surfacing as a bare EPERM (or as a dlopen failure inside the target).
#pragma once

#include "memray/injector/proc.h"

#include <optional>
#include <string>

namespace memray::injector {

inline constexpr int kCapSysPtrace = 19;

// The kernel's ptrace access rules (same user, dumpable, CAP_SYS_PTRACE, Yama's ptrace_scope)
// applied to us and `target`. nullopt if attaching should be allowed; otherwise a one-line
// "permission denied: ..." that names what is missing.
std::optional<std::string> ptraceRefusal(pid_t pid, const ProcessStatus& target);

// Whether the target's user (uid, gid, groups of `target`) can open `path` for reading,
// resolved in the target's mount namespace (through /proc/PID/root). nullopt if it can, or if
// it cannot be checked (then dlopen's own error will tell); otherwise a one-line reason.
std::optional<std::string> payloadUnreadableReason(pid_t pid, const ProcessStatus& target, const std::string& path);

// "alice (uid 1000)", or "uid 1000" for a user without a name.
std::string describeUser(uid_t uid);

}  // namespace memray::injector
