// A path of the target process, named so that it can be reached from this one.
//
// `memray attach -o FILE` has the target write FILE itself, so FILE is resolved in the
// target's mount namespace and root: for a process in a container, under `unshare -m` with a
// private /tmp, or chrooted, that is not the file this process would find at FILE. The same
// file is reachable from here as /proc/PID/root/FILE (while the target lives), and that is the
// name to check before attaching and to print.
#pragma once

#include <string>

#include <sys/types.h>

namespace memray::cli {

// `path` (absolute, as the target resolves it) if its directory is the same directory here;
// otherwise /proc/PID/root followed by `path`.
std::string pathSeenFromHere(pid_t pid, const std::string& path);

// `text` (a message from the target) with each occurrence of `path` named as seen from here.
std::string withPathSeenFromHere(pid_t pid, std::string text, const std::string& path);

}  // namespace memray::cli
