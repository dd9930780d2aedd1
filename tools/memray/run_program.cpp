#include "run_program.h"

#include <stdexcept>
#include <string_view>

#include "bootstrap.h"
#include "cli_common.h"

namespace memray::cli {

namespace fs = std::filesystem;

namespace {

const char* modeName(TargetKind kind)
{
    switch (kind) {
        case TargetKind::Script:
            return "script";
        case TargetKind::Module:
            return "module";
        case TargetKind::Code:
            return "code";
    }
    return "script";
}

// memray_start()'s configuration (payload_api.h): one key=value per line.
std::string captureConfig(const RunOptions& options, const fs::path& output)
{
    auto flag = [](bool value) { return value ? "1" : "0"; };
    std::string config;
    config += "output=" + output.string() + "\n";
    config += std::string("force=") + flag(options.force) + "\n";
    config += std::string("trace_python_allocators=") + flag(options.tracePythonAllocators) + "\n";
    config += std::string("follow_fork=") + flag(options.followFork) + "\n";
    config += std::string("native=") + flag(options.native) + "\n";
    if (options.aggregate) {
        config += "aggregate=1\n";
    }
    config += "rss_interval_ms=" + std::to_string(options.rssIntervalMs) + "\n";
    // The bootstrap calls memray_start from the function that then runs the program: its
    // frame and those above it are memray's, not the user's.
    config += "skip_caller_frames=1\n";
    config += "stop_at_exit=1\n";
    config += testForkWindowConfig();
    return config;
}

}  // namespace

void checkProgramExists(const RunOptions& options)
{
    if (options.kind == TargetKind::Script) {
        std::error_code error;
        if (!fs::exists(options.target, error)) {
            throw std::runtime_error("no such file: " + options.target);
        }
    }
}

std::vector<std::string> trackedProgramArguments(const RunOptions& options, const fs::path& payload,
                                                 const fs::path& capture)
{
    std::vector<std::string> arguments = {
        "-c",
        std::string(bootstrapSource()),
        payload.string(),
        captureConfig(options, capture),
        modeName(options.kind),
        options.target,
    };
    arguments.insert(arguments.end(), options.programArguments.begin(), options.programArguments.end());
    return arguments;
}

}  // namespace memray::cli
