// Whether a process's seccomp sandbox lets memray work in it.
//
// The payload makes system calls a program may never make itself (a Unix socket for the control
// channel, a file for the capture, threads of its own). A filter that kills on one of them (a
// sandboxed service, a browser-like renderer) would kill the very process memray was asked to
// look at, and a filter that makes one fail would leave the attach half done. So before touching
// the process, memray reads each thread's filters (PTRACE_SECCOMP_GET_FILTER, which needs
// CAP_SYS_ADMIN) and runs them, as the kernel would, on every system call it is going to make.
// Filters that allow all of them (container runtimes' default profiles do) are no obstacle.
#pragma once

#include "memray/injector/interruption.h"

#include <sys/types.h>

#include <optional>
#include <string>

namespace memray::injector {

// Why memray must not attach to process `pid` because of seccomp (strict mode, a filter that
// kills, traps or fails a system call memray makes, or a filter memray cannot read), or nullopt.
// Each thread under a filter is stopped for the few microseconds its filters take to read.
std::optional<std::string> seccompRefusal(pid_t pid, Interruption& interruption);

}  // namespace memray::injector
