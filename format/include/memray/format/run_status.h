// How the payload tells `memray run` that its capture failed, when the file cannot say it.
//
// A capture that could not be created leaves no file, and one cut short (a full disk) has no
// trailer, which only a full read of the file would reveal. So the payload sends one datagram
// on each failure to a Unix socket in the abstract namespace named after its parent's pid,
// which `memray run` (the parent of the program it runs) binds before it starts the program:
// nothing is added to the program's environment, command line or file descriptors, and when
// nobody listens (attach, a forked child's capture, a program started otherwise) the datagram
// is simply refused. The listener believes only datagrams whose kernel-checked sender is its
// child.
//
// Message: "<kind>\t<capture path>\t<reason>", kind "failed" (no capture was written) or
// "incomplete" (writing stopped; the file holds what was written before).
#pragma once

#include <string>
#include <sys/types.h>

namespace memray::format {

inline std::string runStatusSocketName(pid_t listener)
{
    // Abstract: the leading NUL is added where the address is built.
    return "memray-run-status." + std::to_string(listener);
}

inline constexpr const char* kRunStatusFailed = "failed";
inline constexpr const char* kRunStatusIncomplete = "incomplete";

}  // namespace memray::format
