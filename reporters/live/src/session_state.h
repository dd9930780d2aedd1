// LiveSession's insides, shared by live_session.cpp (what the view calls, from its thread) and
// session_thread.cpp (the reading thread).
//
// Threads: the view's thread calls the public methods; the reading thread
// ("memray-live-read") owns the capture reader and the model and computes every frame; the
// feed's pump ("memray-live-recv") does the stream's blocking reads. They share only what is
// here: requests (under requests_mutex, plus the frame_wanted flag), the newest frame (under
// frame_mutex) and the notification eventfd.
#pragma once

#include "memray/live/live_session.h"
#include "session_feed.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace memray::live {

struct SessionState
{
    SessionState(std::unique_ptr<format::ByteStream> stream, LiveSessionOptions session_options);
    ~SessionState();

    // The reading thread's body (session_thread.cpp).
    void run();
    // Makes `frame` the newest one and signals notify_fd. Any thread.
    void publish(std::shared_ptr<const LiveFrame> frame);

    std::optional<uint64_t> selectedThread() const;
    std::chrono::milliseconds refreshInterval() const;

    LiveSessionOptions options;
    Feed feed;
    int notify_fd = -1;
    std::atomic<bool> stopping{false};

    mutable std::mutex requests_mutex;
    std::optional<uint64_t> thread;      // the view's thread selection
    std::chrono::milliseconds refresh;   // at least kMinRefresh
    std::atomic<bool> frame_wanted{false};  // selectThread / refreshNow: a frame now

    mutable std::mutex frame_mutex;
    std::shared_ptr<const LiveFrame> frame;

    std::thread reader;  // last: it starts once everything above is ready
};

}  // namespace memray::live
