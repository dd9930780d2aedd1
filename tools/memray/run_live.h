// `memray run --live` and `memray run --live-remote` (see `memray run --help`, docs/live.md).
#pragma once

#include "run_options.h"

namespace memray::cli {

// Runs the program in the background, writing its capture to a private file that the live view
// follows in this terminal. Quitting the view ends the program (SIGTERM); the program's output
// is kept in a file named on quit.
int runLive(const RunOptions& options);

// Runs the program here (its output and the terminal stay its own) and serves its capture on
// 127.0.0.1:PORT for `memray live PORT`. Ends with the program, as `memray run` does.
int runLiveRemote(const RunOptions& options);

}  // namespace memray::cli
