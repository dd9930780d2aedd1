// What `ps` and /proc/PID/cmdline show for a `memray run` program.
//
// `memray run` starts `PYTHON -c BOOTSTRAP PAYLOAD CONFIG MODE TARGET ARGS...`, and the kernel
// shows a process's command line from the memory its arguments were copied to at exec: ~5 kB
// of bootstrap source and memray's configuration, with the script name at the end. Once the
// bootstrap has read its arguments, it has that memory rewritten to read like the program's
// own command line (`PYTHON script.py ARGS`, `PYTHON -m module ARGS`, `PYTHON -c code ARGS`):
//   - in place, as setproctitle does: the new line is always shorter than the old one, and
//     Python keeps its own copies of the arguments (sys.argv, sys.orig_argv), so nothing reads
//     the old ones afterwards;
//   - then the end of the argument area is moved to the end of the new line with
//     prctl(PR_SET_MM_MAP), which needs no privilege as long as the executable is left alone
//     (kernels built with CONFIG_CHECKPOINT_RESTORE, as distributions' are), so that the line
//     has no trailing empty arguments. Where that is refused the rest of the area stays
//     zeroed: `ps` shows the same, /proc/PID/cmdline ends in empty strings.
// Why not hide the bootstrap by other means: a shorter `-c` loader would still show, and
// sitecustomize or PYTHONSTARTUP would change the program's environment or sys.path and start
// the capture before Python has set up the script.
#pragma once

#include <cstddef>

namespace memray::payload {

// Replaces every argument after argv[0] by `arguments` (`size` bytes, NUL-separated, without
// the final NUL). argv[0] (the interpreter as it was started) is kept. False if the command
// line could not be rewritten at all; call it while the process has one thread.
bool setCommandLineArguments(const char* arguments, size_t size);

}  // namespace memray::payload
