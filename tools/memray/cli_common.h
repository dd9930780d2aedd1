// Small helpers every `memray` subcommand shares: how errors are reported, command-line
// parsing with uniform usage errors, and the rules for writing report files.
//
// Conventions: an error is one line on stderr, "memray <command>: error: <message>", and exit
// status 1; a usage error is one line too, ending in a hint ("(see 'memray <command> --help')"),
// and exit status 2 (as main.cpp reports errors before the subcommand).
#pragma once

#include <boost/program_options.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace memray::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Prints "memray <command>: error: <message>" and returns kExitFailure.
int fail(std::string_view command, std::string_view message);
// Prints "memray <command>: warning: <message>".
void warn(std::string_view command, std::string_view message);
// Prints the error with the --help hint and returns kExitUsage.
int usageError(std::string_view command, std::string_view message);

// Parses argv (argv[0] is the subcommand's name) against `options` (which must define "help")
// and `positional`. Returns an exit status when the command should stop here: 0 after
// printing help (`usage` first, then the options), 2 after a usage error. nullopt: go on.
std::optional<int> parseCommandLine(
        std::string_view command,
        int argc,
        char** argv,
        const boost::program_options::options_description& options,
        const boost::program_options::options_description& hidden,
        const boost::program_options::positional_options_description& positional,
        std::string_view usage,
        boost::program_options::variables_map* values);

// parseCommandLine for the commands that read one capture: adds the RESULTS positional argument
// (afterwards in values["results"]) and makes its absence a usage error ("missing <what>").
std::optional<int> parseResultsCommandLine(
        std::string_view command,
        int argc,
        char** argv,
        const boost::program_options::options_description& options,
        std::string_view usage,
        std::string_view missing_results_message,
        boost::program_options::variables_map* values);

// Why `path` must not be written, or nullopt if it may: an existing file without `force`
// ("File already exists, will not overwrite without --force: X"), a directory, or a missing
// parent directory.
std::optional<std::string> outputRefusal(const std::string& path, bool force);

// Writes `contents` to `path`, replacing it. Returns an error message on failure.
std::optional<std::string> writeFile(const std::string& path, std::string_view contents);

// `<capture's directory>/<prefix><capture's file name><suffix>`, e.g.
// reportPathBeside("out/run.bin", "memray-stats-", ".json") == "out/memray-stats-run.bin.json".
std::string reportPathBeside(const std::string& capture, std::string_view prefix, std::string_view suffix);

bool stdoutIsTerminal();

// `text` as an integer greater than 0, or nullopt.
std::optional<uint64_t> parsePositiveInteger(const std::string& text);

// The option `name` (declared as po::value<std::string>, so that "0", "x" and "-3" all get the
// same clear message) as an integer greater than 0. Otherwise reports the usage error
// "<flag> must be an integer greater than 0, not '<text>'" and returns nullopt: the caller
// then returns kExitUsage.
std::optional<uint64_t> positiveIntegerOption(std::string_view command, const boost::program_options::variables_map& values,
                                              const std::string& name, std::string_view flag);

// "fork_window_ms=N\n" for a capture's configuration when MEMRAY_TEST_FORK_WINDOW_MS=N is set
// (tests only: it widens the moments a fork must be safe in, payload/src/fork_window.h), else "".
std::string testForkWindowConfig();

}  // namespace memray::cli
