// The command line of `memray run`.
//
// `memray run [OPTIONS] (SCRIPT | -m MODULE | -c CODE) [ARGS...]`: like the interpreter's own
// command line, option parsing stops at the program, and everything after SCRIPT, MODULE or
// CODE belongs to the program untouched (`memray run app.py -o x` passes `-o x` to app.py).
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace memray::cli {

enum class TargetKind { Script, Module, Code };

struct RunOptions
{
    std::string python = "python3";
    std::optional<std::string> output;  // as given; the default name needs the child's pid
    bool force = false;
    bool quiet = false;
    bool tracePythonAllocators = false;
    bool followFork = false;
    bool native = false;
    bool aggregate = false;
    unsigned rssIntervalMs = 10;
    // Live mode: --live shows the live view here; --live-remote serves the capture stream on
    // 127.0.0.1:livePort (0: any free port) for `memray live PORT`. livePort is checked (1 to
    // 65535) when the command runs, with memray's wording and status.
    bool live = false;
    bool liveRemote = false;
    std::optional<std::string> livePort;

    TargetKind kind = TargetKind::Script;
    std::string target;  // the script path, module name or program text
    std::vector<std::string> programArguments;
};

// A malformed command line: reported as "memray run: error: ..." with exit status 2.
struct UsageError : std::runtime_error
{
    using std::runtime_error::runtime_error;
};

// The parsed command line, or nothing when it asked for --help (already printed to stdout).
// argv[0] is the subcommand's name. Throws UsageError.
std::optional<RunOptions> parseRunOptions(int argc, char** argv);

// The "usage: ..." line, for error messages.
const char* runUsageLine();

}  // namespace memray::cli
