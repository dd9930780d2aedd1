#include "cli_common.h"

#include <cstdlib>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <iostream>

namespace memray::cli {

namespace po = boost::program_options;

int fail(std::string_view command, std::string_view message)
{
    std::fprintf(stderr, "memray %.*s: error: %.*s\n", static_cast<int>(command.size()), command.data(),
                 static_cast<int>(message.size()), message.data());
    return kExitFailure;
}

void warn(std::string_view command, std::string_view message)
{
    std::fprintf(stderr, "memray %.*s: warning: %.*s\n", static_cast<int>(command.size()), command.data(),
                 static_cast<int>(message.size()), message.data());
}

int usageError(std::string_view command, std::string_view message)
{
    std::fprintf(stderr, "memray %.*s: error: %.*s (see 'memray %.*s --help')\n", static_cast<int>(command.size()),
                 command.data(), static_cast<int>(message.size()), message.data(),
                 static_cast<int>(command.size()), command.data());
    return kExitUsage;
}

std::optional<int> parseCommandLine(
        std::string_view command,
        int argc,
        char** argv,
        const po::options_description& options,
        const po::options_description& hidden,
        const po::positional_options_description& positional,
        std::string_view usage,
        po::variables_map* values)
{
    po::options_description all;
    all.add(options).add(hidden);
    try {
        po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), *values);
        po::notify(*values);
    } catch (const po::error& error) {
        return usageError(command, error.what());
    }
    if (values->count("help")) {
        std::cout << usage << "\n\n" << options;
        std::cout.flush();
        return kExitOk;
    }
    return std::nullopt;
}

std::optional<int> parseResultsCommandLine(
        std::string_view command,
        int argc,
        char** argv,
        const po::options_description& options,
        std::string_view usage,
        std::string_view missing_results_message,
        po::variables_map* values)
{
    po::options_description hidden;
    hidden.add_options()("results", po::value<std::string>(), "capture file");
    po::positional_options_description positional;
    positional.add("results", 1);
    if (auto status = parseCommandLine(command, argc, argv, options, hidden, positional, usage, values)) {
        return status;
    }
    if (!values->count("results")) {
        return usageError(command, missing_results_message);
    }
    return std::nullopt;
}

std::optional<std::string> outputRefusal(const std::string& path, bool force)
{
    struct stat info;
    if (::stat(path.c_str(), &info) == 0) {
        if (S_ISDIR(info.st_mode)) {
            return "cannot write " + path + ": it is a directory";
        }
        if (!force) {
            return "File already exists, will not overwrite without --force: " + path;
        }
        return std::nullopt;
    }
    if (errno != ENOENT) {
        return "cannot write " + path + ": " + std::strerror(errno);
    }
    const size_t slash = path.rfind('/');
    const std::string parent = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    if (::stat(parent.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
        return "cannot write " + path + ": no such directory: " + parent;
    }
    return std::nullopt;
}

std::optional<std::string> writeFile(const std::string& path, std::string_view contents)
{
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (!file) {
        return "cannot write " + path + ": " + std::strerror(errno);
    }
    const bool written = std::fwrite(contents.data(), 1, contents.size(), file) == contents.size();
    const int saved_errno = errno;
    if (std::fclose(file) != 0 || !written) {
        return "cannot write " + path + ": " + std::strerror(written ? errno : saved_errno);
    }
    return std::nullopt;
}

std::string reportPathBeside(const std::string& capture, std::string_view prefix, std::string_view suffix)
{
    const size_t slash = capture.rfind('/');
    const std::string directory = slash == std::string::npos ? "" : capture.substr(0, slash + 1);
    const std::string name = slash == std::string::npos ? capture : capture.substr(slash + 1);
    return directory + std::string(prefix) + name + std::string(suffix);
}

bool stdoutIsTerminal()
{
    return ::isatty(STDOUT_FILENO) == 1;
}

std::optional<uint64_t> parsePositiveInteger(const std::string& text)
{
    uint64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || value == 0) {
        return std::nullopt;
    }
    return value;
}

std::optional<uint64_t> positiveIntegerOption(std::string_view command, const po::variables_map& values,
                                              const std::string& name, std::string_view flag)
{
    const std::string text = values[name].as<std::string>();
    auto value = parsePositiveInteger(text);
    if (!value) {
        usageError(command, std::string(flag) + " must be an integer greater than 0, not '" + text + "'");
    }
    return value;
}

std::string testForkWindowConfig()
{
    const char* value = std::getenv("MEMRAY_TEST_FORK_WINDOW_MS");
    if (!value || !parsePositiveInteger(value)) {
        return "";
    }
    return "fork_window_ms=" + std::string(value) + "\n";
}

}  // namespace memray::cli
