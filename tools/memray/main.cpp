// memray: the command-line entry point. Handles the options that come before the subcommand
// (-v, -V, --help) and hands the rest of the command line to the subcommand.
#include <algorithm>
#include <array>
#include <optional>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <boost/program_options/errors.hpp>
#include <spdlog/spdlog.h>

#include "commands.h"
#include "logging.h"
#include "read_progress_bar.h"

#ifndef MEMRAY_VERSION
#error "MEMRAY_VERSION must be defined by the build"
#endif

namespace {

using memray::cli::parseCommand;
using memray::cli::runCommand;
using memray::cli::statsCommand;
using memray::cli::attachCommand;
using memray::cli::detachCommand;
using memray::cli::flamegraphCommand;
using memray::cli::tableCommand;
using memray::cli::treeCommand;
using memray::cli::summaryCommand;
using memray::cli::liveCommand;
using memray::cli::transformCommand;

struct Subcommand
{
    std::string_view name;
    std::string_view summary;
    int (*entry)(int argc, char** argv);
    bool reads_captures = false;  // shows a progress bar when reading takes long
};

// One line per subcommand, in the order `memray --help` lists them.
constexpr std::array kSubcommands = {
    Subcommand{"run", "run a Python program and capture its memory allocations", &runCommand},
    Subcommand{"parse", "print the records of a capture file, one per line", &parseCommand, true},
    Subcommand{"stats", "summarise the allocations of a capture file", &statsCommand, true},
    Subcommand{"flamegraph", "write an HTML flame graph of where a capture's memory was allocated", &flamegraphCommand, true},
    Subcommand{"table", "write an HTML table of a capture's allocation sites", &tableCommand, true},
    Subcommand{"tree", "print the call tree of the biggest allocations of a capture file", &treeCommand, true},
    Subcommand{"summary", "print a table of the functions that allocated the most", &summaryCommand, true},
    Subcommand{"transform", "write a capture's allocations as csv, gprof2dot or speedscope input", &transformCommand, true},
    Subcommand{"attach", "start capturing the allocations of a running Python process", &attachCommand},
    Subcommand{"detach", "stop a capture started by 'memray attach'", &detachCommand},
    Subcommand{"live", "watch a running program's heap in the terminal (see also run --live)", &liveCommand},
};

// Started by the Python package only, so not listed: memray.Tracker's SocketDestination helper.
constexpr std::array kHiddenSubcommands = {
    Subcommand{"_serve-tracker", "", &memray::cli::serveTrackerCommand},
};

constexpr std::string_view kUsage = "usage: memray [-v] [-V] [-h] COMMAND [ARGS...]";

void printHelp()
{
    std::cout << kUsage << "\n\n"
              << "Memory profiler for CPython.\n\n"
              << "Commands:\n";
    for (const Subcommand& command : kSubcommands) {
        std::cout << "  " << command.name << std::string(12 - command.name.size(), ' ')
                  << command.summary << "\n";
    }
    std::cout << "\nOptions:\n"
                 "  -h, --help     show this help and exit\n"
                 "  -V, --version  print memray's version and exit\n"
                 "  -v, --verbose  log more of what memray does to stderr; repeat for more\n"
                 "                 (-v: info, -vv: debug)\n\n"
                 "Run 'memray COMMAND --help' for the options of a command.\n";
}

// Edits (insertions, deletions, substitutions, swaps of neighbours) from `a` to `b`: the
// optimal-string-alignment distance, so that the common "rnu" for "run" counts as one.
size_t editDistance(std::string_view a, std::string_view b)
{
    std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
    for (size_t i = 0; i <= a.size(); ++i) {
        d[i][0] = i;
    }
    for (size_t j = 0; j <= b.size(); ++j) {
        d[0][j] = j;
    }
    for (size_t i = 1; i <= a.size(); ++i) {
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
            }
        }
    }
    return d[a.size()][b.size()];
}

// The subcommand a mistyped name most likely meant, if any is close enough to suggest.
const Subcommand* closestSubcommand(std::string_view typed)
{
    const Subcommand* best = nullptr;
    size_t bestDistance = 0;
    for (const Subcommand& command : kSubcommands) {
        const size_t distance = editDistance(typed, command.name);
        // Close: at most two edits, and fewer than half the name (so "ls" is not "run").
        if (distance <= 2 && distance * 2 < command.name.size()
            && (best == nullptr || distance < bestDistance)) {
            best = &command;
            bestDistance = distance;
        }
    }
    return best;
}

int usageError(const std::string& message)
{
    std::cerr << "memray: error: " << message << " (see 'memray --help')\n";
    return 2;
}

int dispatch(int argc, char** argv)
{
    int verbosity = 0;
    int index = 1;
    for (; index < argc; ++index) {
        const std::string_view arg = argv[index];
        if (arg == "-h" || arg == "--help") {
            printHelp();
            return 0;
        }
        if (arg == "-V" || arg == "--version") {
            std::cout << "memray " << MEMRAY_VERSION << "\n";
            return 0;
        }
        if (arg == "--verbose") {
            ++verbosity;
        } else if (arg.size() >= 2 && arg[0] == '-'
                   && arg.find_first_not_of('v', 1) == std::string_view::npos) {
            verbosity += static_cast<int>(arg.size() - 1);  // -v, -vv, -vvv
        } else if (arg.starts_with('-')) {
            return usageError("unknown option '" + std::string(arg) + "'");
        } else {
            break;
        }
    }
    memray::cli::setupLogging(verbosity);

    if (index == argc) {
        return usageError("no command given");
    }
    const std::string_view name = argv[index];
    auto command = std::find_if(kSubcommands.begin(), kSubcommands.end(),
                                [&](const Subcommand& c) { return c.name == name; });
    if (command == kSubcommands.end()) {
        const auto hidden = std::find_if(kHiddenSubcommands.begin(), kHiddenSubcommands.end(),
                                         [&](const Subcommand& c) { return c.name == name; });
        if (hidden != kHiddenSubcommands.end()) {
            return hidden->entry(argc - index, argv + index);
        }
        const int status = usageError("unknown command '" + std::string(name) + "'");
        if (const Subcommand* guess = closestSubcommand(name)) {
            std::cerr << "memray: did you mean '" << guess->name << "'?\n";
        }
        return status;
    }
    std::optional<memray::cli::ReadProgressBar> progress;
    if (command->reads_captures) {
        progress.emplace();
    }
    try {
        return command->entry(argc - index, argv + index);
    } catch (const boost::program_options::error& error) {
        // A subcommand that lets its option parser's complaint escape: still a usage error.
        std::cerr << "memray " << name << ": error: " << error.what() << " (see 'memray " << name
                  << " --help')\n";
        return 2;
    }
}

}  // namespace

int main(int argc, char** argv)
{
    try {
        return dispatch(argc, argv);
    } catch (const std::exception& error) {
        std::cerr << "memray: error: " << error.what() << "\n";
    } catch (...) {
        std::cerr << "memray: error: unexpected failure\n";
    }
    return 1;
}
