// memray run: runs a Python program with the payload loaded into its interpreter.
//
// The program runs in a child process: `PYTHON -c BOOTSTRAP ...` (bootstrap.cpp) loads the
// payload, starts the capture and then runs the script, module or code exactly as the
// interpreter would have. This process only prepares the command line, waits, and reports;
// its exit status (or the signal it dies of) is the program's, unless no capture was written
// (then it is non-zero, 1 if the program's was 0).
#include <cstring>
#include <iostream>
#include <string>

#include <unistd.h>

#include <spdlog/spdlog.h>

#include "cli_common.h"
#include "child_process.h"
#include "commands.h"
#include "payload_locator.h"
#include "run_options.h"
#include "run_output.h"
#include "run_program.h"
#include "run_live.h"
#include "run_status_listener.h"

#include "memray/format/run_status.h"

namespace memray::cli {

namespace fs = std::filesystem;

namespace {

// A path as it can be pasted into a POSIX shell.
std::string shellQuoted(const std::string& text)
{
    const bool plain = !text.empty() && text.find_first_not_of(
                                            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                            "0123456789_-+=.,/:@%")
                                            == std::string::npos;
    if (plain) {
        return text;
    }
    std::string quoted = "'";
    for (char c : text) {
        quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return quoted + "'";
}

void writeToStderr(const std::string& text)
{
    // Called in the forked child too, where iostreams' buffers are best left alone.
    const char* data = text.data();
    size_t left = text.size();
    while (left > 0) {
        ssize_t written = write(STDERR_FILENO, data, left);
        if (written <= 0) {
            if (written < 0 && errno == EINTR) {
                continue;
            }
            return;
        }
        data += written;
        left -= static_cast<size_t>(written);
    }
}

// What became of the capture, said in one line (plus how to look at it). False if no capture
// was written at all.
bool reportResult(const CaptureOutput& output, const ChildExit& exit, bool aggregated, bool quiet,
                 const std::vector<RunStatusReport>& reports)
{
    const std::string path = output.displayPath(exit.pid);
    const std::string written = output.absolutePath(exit.pid).string();
    const RunStatusReport* failure = nullptr;
    for (const RunStatusReport& report : reports) {
        if (report.path == written) {
            failure = &report;
        }
    }
    if (failure && failure->kind == format::kRunStatusFailed) {
        // The bootstrap said why (memray: error: ...) and did not run the program.
        return false;
    }
    std::error_code error;
    if (!fs::exists(written, error)) {
        if (!quiet) {
            writeToStderr("[memray] No profile results were written to " + path + ".\n");
        }
        return false;
    }
    if (quiet) {
        return true;
    }
    const std::string quoted = shellQuoted(path);
    if (failure) {
        writeToStderr("[memray] The profile results in " + path + " are incomplete: "
                      + failure->reason + ".\n");
    } else if (exit.signal != 0) {
        // The payload had no chance to finish the file: say so before anyone trusts it.
        writeToStderr("[memray] The program was killed by signal " + std::to_string(exit.signal)
                      + " (" + strsignal(exit.signal) + "); the profile results in " + path
                      + " may be incomplete.\n");
    } else {
        writeToStderr("[memray] Successfully generated profile results.\n");
    }
    // An aggregated capture has what the peak and leaks reports need, not every allocation.
    writeToStderr("[memray] To look at them, run for example:\n"
                  "    memray flamegraph " + quoted + "\n"
                  + (aggregated ? "    memray flamegraph --leaks " : "    memray stats ") + quoted + "\n");
    return true;
}

int run(const RunOptions& options)
{
    checkProgramExists(options);
    if (options.live) {
        return runLive(options);
    }
    if (options.liveRemote) {
        return runLiveRemote(options);
    }
    const fs::path payload = findPayload();
    const CaptureOutput output(options);

    spdlog::debug("interpreter {}, payload {}", options.python, payload.string());
    const RunStatusListener status;
    const ChildExit exit = runChild(options.python, [&](pid_t self) {
        if (!options.quiet) {
            writeToStderr("[memray] Writing profile results into " + output.displayPath(self)
                          + "\n");
        }
        return trackedProgramArguments(options, payload, output.absolutePath(self));
    });
    spdlog::debug("pid {} ended: exit code {}, signal {}", exit.pid, exit.exitCode, exit.signal);

    const bool written = reportResult(output, exit, options.aggregate, options.quiet,
                                      status.collect(exit.pid));
    if (exit.signal != 0) {
        dieOfSignal(exit.signal);
    }
    return written || exit.exitCode != 0 ? exit.exitCode : 1;
}

}  // namespace

int runCommand(int argc, char** argv)
{
    std::optional<RunOptions> options;
    try {
        options = parseRunOptions(argc, argv);
    } catch (const UsageError& error) {
        std::cerr << "memray run: error: " << error.what() << " (see 'memray run --help')\n";
        return 2;
    }
    if (!options) {
        return 0;  // --help
    }
    try {
        return run(*options);
    } catch (const std::exception& error) {
        std::cerr << "memray run: error: " << error.what() << "\n";
        return 1;
    }
}

}  // namespace memray::cli
