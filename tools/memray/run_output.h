// Where `memray run` writes its capture file.
//
// With -o FILE the name is fixed. The default, memray-NAME.PID.bin, embeds the pid of the
// tracked process, known only once it has been forked; so the name is built from a pid,
// and everything that can be checked without it (the directory, an existing -o file) is
// checked up front, before anything is launched, for a clear message instead of a failed
// start inside the program.
#pragma once

#include <filesystem>
#include <string>

#include <sys/types.h>

#include "run_options.h"

namespace memray::cli {

class CaptureOutput
{
  public:
    // Throws std::runtime_error when the file cannot be written: an existing -o file without
    // --force, a missing or unwritable directory.
    explicit CaptureOutput(const RunOptions& options);

    // The path as the user would type it (relative to the current directory if the script
    // or -o was given that way): for messages.
    std::string displayPath(pid_t pid) const;

    // The absolute path the payload opens, so that a program that changes its working
    // directory (or a forked child writing FILE.CHILDPID) still writes to the same place.
    std::filesystem::path absolutePath(pid_t pid) const;

  private:
    std::filesystem::path d_fixed;      // -o FILE, when given
    std::filesystem::path d_directory;  // for the default name; empty: the current directory
    std::string d_stem;                 // memray-<stem>.<pid>.bin
};

}  // namespace memray::cli
