// The interpreter command line that runs `memray run`'s program with the payload capturing: the
// one place that knows how the bootstrap (bootstrap.cpp) takes its arguments.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "run_options.h"

namespace memray::cli {

// Throws std::runtime_error("no such file: ...") for a SCRIPT that does not exist.
void checkProgramExists(const RunOptions& options);

// argv[1..] for the interpreter: `-c BOOTSTRAP PAYLOAD CONFIG MODE TARGET ARGS...`, capturing
// into `capture` (absolute).
std::vector<std::string> trackedProgramArguments(const RunOptions& options, const std::filesystem::path& payload,
                                                 const std::filesystem::path& capture);

}  // namespace memray::cli
