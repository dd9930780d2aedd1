#include "tracking_stop.h"

#include "memray/injector/control_channel.h"

#include <chrono>
#include <string_view>

#include <spdlog/spdlog.h>

namespace memray::cli {

namespace {

// Stopping takes the GIL and writes the last chunks of the file; give a busy process time.
constexpr auto kStopTimeout = std::chrono::seconds(60);

}  // namespace

TrackingStop stopTracking(pid_t pid, uid_t target_uid)
{
    const std::string socket_path = injector::controlSocketPath(pid, target_uid);
    spdlog::info("asking process {} to stop through {}", pid, socket_path);
    const auto reply = injector::askControlChannel(pid, socket_path, "stop", kStopTimeout);
    if (!reply) {
        return {TrackingStop::Outcome::kNotRunning, ""};
    }
    static constexpr std::pair<std::string_view, TrackingStop::Outcome> kAnswers[] = {
            {"stopped ", TrackingStop::Outcome::kStopped},
            {"cancelled ", TrackingStop::Outcome::kCancelled},
            {"busy ", TrackingStop::Outcome::kBusy},
            {"error ", TrackingStop::Outcome::kError},
    };
    for (const auto& [prefix, outcome] : kAnswers) {
        if (reply->starts_with(prefix)) {
            return {outcome, reply->substr(prefix.size())};
        }
    }
    return {TrackingStop::Outcome::kUnexpected, *reply};
}

}  // namespace memray::cli
