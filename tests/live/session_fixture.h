// Helpers for LiveSession tests: waiting for a frame that satisfies a condition (with a bound
// generous enough for a loaded machine, printing the last frame when it runs out), and finding
// rows.
#pragma once

#include "memray/live/live_session.h"

#include <gtest/gtest.h>

#include <poll.h>

#include <chrono>
#include <functional>
#include <sstream>
#include <string>

namespace memray::live::testing {

inline constexpr std::chrono::seconds kPatience{60};

inline const char* stateName(StreamState state)
{
    switch (state) {
        case StreamState::Waiting: return "Waiting";
        case StreamState::Following: return "Following";
        case StreamState::Ended: return "Ended";
        case StreamState::EndedAbruptly: return "EndedAbruptly";
        case StreamState::Error: return "Error";
    }
    return "?";
}

inline std::string describe(const LiveFrame& frame)
{
    std::ostringstream out;
    out << "frame " << frame.sequence << " " << stateName(frame.state) << " status='" << frame.status << "' heap "
        << frame.heap_bytes << " peak " << frame.peak_heap_bytes << " snapshots " << frame.snapshots << " threads "
        << frame.threads.size() << " rows:";
    for (const LiveRow& row : frame.rows) {
        out << "\n  " << row.function << " (" << row.file << ") total " << row.total_bytes << "/" << row.total_count
            << " own " << row.own_bytes << "/" << row.own_count;
    }
    return out.str();
}

// The first frame satisfying `done`, waiting on the session's notification descriptor as the
// view does; on timeout a test failure that shows the last frame, and that frame.
inline std::shared_ptr<const LiveFrame> waitForFrame(LiveSession& session,
                                                     const std::function<bool(const LiveFrame&)>& done)
{
    const auto deadline = std::chrono::steady_clock::now() + kPatience;
    for (;;) {
        std::shared_ptr<const LiveFrame> frame = session.frame();
        if (done(*frame)) {
            return frame;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            ADD_FAILURE() << "no such frame within " << kPatience.count() << " s; the last one: " << describe(*frame);
            return frame;
        }
        pollfd ready{session.notifyFd(), POLLIN, 0};
        ::poll(&ready, 1, 100);
        session.acknowledge();
    }
}

inline bool hasEnded(const LiveFrame& frame)
{
    return frame.state != StreamState::Waiting && frame.state != StreamState::Following;
}

inline const LiveRow* findRow(const LiveFrame& frame, const std::string& function)
{
    for (const LiveRow& row : frame.rows) {
        if (row.function == function) {
            return &row;
        }
    }
    return nullptr;
}

}  // namespace memray::live::testing
