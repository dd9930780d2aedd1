// Diagnostics of the `memray` command itself (not of the profiled program).
//
// Everything goes to stderr through one spdlog logger, so a program's stdout that is piped
// through `memray run` stays byte-for-byte its own. Quiet by default: only warnings and errors
// are shown until the user asks for more with -v.
#pragma once

namespace memray::cli {

// Installs the stderr logger as spdlog's default. `verbosity` is the number of -v flags:
// 0 shows warnings and errors, 1 adds info, 2 or more adds debug.
void setupLogging(int verbosity);

}  // namespace memray::cli
