// A process's state as /proc/PID/stat gives it.
#pragma once

#include <sys/types.h>

namespace memray::cli {

// /proc/PID/stat's state field: 'R', 'S', 'T' (stopped), 'Z' (zombie)...; '?' if unknown (no
// such process).
char processState(pid_t pid);

}  // namespace memray::cli
