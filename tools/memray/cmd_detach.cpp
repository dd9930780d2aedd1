// memray detach PID: stops the capture `memray attach` started, and has the process finish
// the file. No ptrace: it only asks the payload's session over its control channel (see
// payload/src/control_channel.h), so it is quick and never stops the process.
#include "cli_common.h"
#include "commands.h"
#include "target_path.h"
#include "tracking_stop.h"

#include "memray/injector/failure.h"
#include "memray/injector/proc.h"

#include <charconv>
#include <cstdio>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace memray::cli {

namespace {

namespace inj = memray::injector;

constexpr const char* kCommand = "detach";

// The payload's summary, "wrote ... (N bytes) to PATH", with PATH named as seen from here.
std::string summarySeenFromHere(pid_t pid, const std::string& summary)
{
    static constexpr std::string_view kBefore = " bytes) to ";
    const size_t at = summary.find(kBefore);
    if (at == std::string::npos) {
        return summary;
    }
    const size_t path = at + kBefore.size();
    return summary.substr(0, path) + pathSeenFromHere(pid, summary.substr(path));
}

int detach(pid_t pid)
{
    auto status = inj::readProcessStatus(pid);
    if (!status) {
        return fail(kCommand, "no process with pid " + std::to_string(pid));
    }
    const TrackingStop stop = stopTracking(pid, status->uid[1]);
    const std::string process = "process " + std::to_string(pid);
    switch (stop.outcome) {
    case TrackingStop::Outcome::kStopped:
        std::fprintf(stderr, "[memray] Stopped tracking process %d: %s\n", pid,
                     summarySeenFromHere(pid, stop.detail).c_str());
        return kExitOk;
    case TrackingStop::Outcome::kCancelled:
        std::fprintf(stderr, "[memray] Cancelled tracking process %d: %s\n", pid, stop.detail.c_str());
        return kExitOk;
    case TrackingStop::Outcome::kNotRunning:
        return fail(kCommand, "no capture started by `memray attach` is running in " + process);
    case TrackingStop::Outcome::kError:
        return fail(kCommand, process + ": " + stop.detail);
    case TrackingStop::Outcome::kBusy:
        return fail(kCommand, process + " is tracked by a capture that `memray attach` did not start: " + stop.detail);
    case TrackingStop::Outcome::kUnexpected:
        break;
    }
    return fail(kCommand, "unexpected answer from " + process + ": " + stop.detail);
}

}  // namespace

int detachCommand(int argc, char** argv)
{
    namespace po = boost::program_options;
    po::options_description options("Options");
    options.add_options()
        ("help,h", "show this help and exit")
        ("verbose,v", "say what happens");
    po::options_description hidden;
    hidden.add_options()("pid", po::value<std::string>(), "process id");
    po::positional_options_description positional;
    positional.add("pid", 1);
    po::variables_map values;
    if (auto status = parseCommandLine(
                kCommand, argc, argv, options, hidden, positional,
                "usage: memray detach [-h] [-v] PID\n\n"
                "Stop the capture that 'memray attach PID' started: the process finishes the capture file\n"
                "and keeps running.",
                &values))
    {
        return *status;
    }
    if (values.count("verbose")) {
        spdlog::set_level(spdlog::level::info);
    }
    if (!values.count("pid")) {
        return usageError(kCommand, "missing the process id to detach from");
    }
    const std::string text = values["pid"].as<std::string>();
    pid_t pid = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), pid);
    if (error != std::errc() || end != text.data() + text.size() || pid <= 0) {
        return usageError(kCommand, "'" + text + "' is not a process id");
    }
    try {
        return detach(pid);
    } catch (const std::exception& failure) {
        return fail(kCommand, failure.what());
    }
}

}  // namespace memray::cli
