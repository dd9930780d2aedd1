// memray live (PORT | FILE): the live view of a capture being made.
//
//  * PORT: the stream `memray run --live-remote` serves on 127.0.0.1:PORT. While nobody listens
//    there the view says so and keeps retrying (every 500 ms) until it connects or is quit.
//  * FILE: a capture file that `memray run -o FILE` or `memray attach -o FILE` is still writing,
//    followed as it grows (like `tail -f`). A finished capture is replayed at the pace it was
//    recorded (--replay-speed changes that).
#include "cli_common.h"
#include "commands.h"
#include "live_watch.h"

#include "memray/reader/capture_reader.h"
#include "memray/reader/capture_streams.h"

#include <cstdio>
#include <string>

namespace memray::cli {

namespace {

constexpr const char* kCommand = "live";

bool isPortNumber(const std::string& text)
{
    return !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
}

int watchPort(const std::string& text, const WatchOptions& options)
{
    const auto port = parseLivePort(text);
    if (!port) {
        return fail(kCommand, "Invalid port: " + text);  // memray's words
    }
    if (auto refusal = refuseWithoutTerminal(kCommand)) {
        return *refusal;
    }
    WatchResult result = watchLive(reader::connectCaptureStream(*port), options);
    if (result.last->state == live::StreamState::Error) {
        return fail(kCommand, result.last->status);
    }
    return kExitOk;
}

int watchFile(const std::string& path, WatchOptions options)
{
    try {
        reader::CaptureReader check(path);  // a clear one-line error for what is not a capture
    } catch (const reader::CaptureError& error) {
        return fail(kCommand, error.what());
    }
    if (auto refusal = refuseWithoutTerminal(kCommand)) {
        return *refusal;
    }
    options.session.replay = !reader::captureIsBeingWritten(path);
    std::unique_ptr<format::ByteStream> stream;
    try {
        stream = reader::openFollowedFile(path);
    } catch (const std::exception& error) {
        return fail(kCommand, error.what());
    }
    WatchResult result = watchLive(std::move(stream), options);
    if (result.last->state == live::StreamState::Error) {
        return fail(kCommand, result.last->status);
    }
    return kExitOk;
}

}  // namespace

int liveCommand(int argc, char** argv)
{
    namespace po = boost::program_options;
    po::options_description options("Options");
    options.add_options()
        ("help,h", "show this help and exit")
        ("refresh-ms", po::value<std::string>(), "time between updates of the view, in milliseconds (default 1000,\n"
                                                 "at least 100; '+' and '-' change it while it runs)")
        ("replay-speed", po::value<double>(), "for a finished capture FILE: how many times faster than it was\n"
                                             "recorded to replay it (default 1)");
    po::options_description hidden;
    hidden.add_options()("source", po::value<std::string>(), "port or capture file");
    po::positional_options_description positional;
    positional.add("source", 1);
    po::variables_map values;
    if (auto status = parseCommandLine(
                kCommand, argc, argv, options, hidden, positional,
                "usage: memray live [-h] [--refresh-ms N] [--replay-speed FACTOR] (PORT | FILE)\n\n"
                "Watch the heap of a program while it runs: the live view of the capture that\n"
                "'memray run --live-remote' serves on 127.0.0.1:PORT, or of a capture FILE that\n"
                "'memray run -o FILE' or 'memray attach -o FILE' is still writing (a finished\n"
                "one is replayed). Keys: q quit, ? help.",
                &values))
    {
        return *status;
    }
    if (!values.count("source")) {
        return usageError(kCommand, "missing the port or capture file to watch");
    }
    WatchOptions watch;
    if (values.count("refresh-ms")) {
        auto refresh = positiveIntegerOption(kCommand, values, "refresh-ms", "--refresh-ms");
        if (!refresh) {
            return kExitUsage;
        }
        if (*refresh < static_cast<uint64_t>(live::kMinRefresh.count())) {
            return usageError(kCommand, "--refresh-ms must be at least " + std::to_string(live::kMinRefresh.count()));
        }
        watch.session.refresh = std::chrono::milliseconds(*refresh);
    }
    if (values.count("replay-speed")) {
        watch.session.replay_speed = values["replay-speed"].as<double>();
        if (!(watch.session.replay_speed > 0)) {
            return usageError(kCommand, "--replay-speed must be greater than 0");
        }
    }
    const std::string source = values["source"].as<std::string>();
    watch.title = "memray live " + source;
    return isPortNumber(source) ? watchPort(source, watch) : watchFile(source, watch);
}

}  // namespace memray::cli
