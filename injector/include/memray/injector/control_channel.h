// The client side of the attach control channel (the server is the payload's session thread,
// payload/src/control_channel.h, which documents the protocol).
//
// The socket lives in the target's mount namespace, at a path derived from its user and pid,
// and is reached through /proc/PID/root: it works for a target in a container or with a
// private /tmp, and `memray detach PID` finds it again from the pid alone.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

namespace memray::injector {

// "/tmp/memray-<uid>/attach-<pid>.sock": where the session of process `pid` (running as
// `target_uid`) listens, as seen inside the target.
std::string controlSocketPath(pid_t pid, uid_t target_uid);

// Why the session of process `pid` could not open its socket at `socket_path` (the payload
// refuses a directory that is not a 0700 directory of `target_uid`, so that nobody else can
// put a socket of theirs in its place), or nullopt if the directory is fine or absent.
std::optional<std::string> controlDirectoryProblem(pid_t pid, const std::string& socket_path, uid_t target_uid);

// Sends one request line and returns the reply line. nullopt when no session listens there (no
// socket, or a stale one). Throws Failure: PermissionDenied if the socket may not be reached,
// Internal on a timeout or if the socket is served by another process than `pid`.
std::optional<std::string> askControlChannel(pid_t pid,
                                             const std::string& socket_path,
                                             const std::string& request,
                                             std::chrono::milliseconds timeout);

}  // namespace memray::injector
