// The model behind the live view: reads a capture stream on a thread of its own, keeps the live
// heap by location as the records arrive, and at each refresh turns it into a LiveFrame.
//
//     LiveSession session(openFollowedFile("app.bin"), {});
//     poll({session.notifyFd(), POLLIN}, ...);  // readable when a new frame is ready
//     session.acknowledge();
//     std::shared_ptr<const LiveFrame> frame = session.frame();
//
// Threads: "memray-live-read" reads and applies the records and computes the frames;
// "memray-live-recv" does the stream's blocking reads (src/session_feed.h), so that frames
// keep coming while the writer is idle or nobody listens yet.
//
// The reading never waits for the view: records are applied as fast as they come, and a frame
// is computed only at each refresh (or at once when the view asks for one), from the state
// reached so far. Nothing the view does can slow the tracked program: the stream is a file or a
// socket served from a file (docs/live.md).
#pragma once

#include "memray/format/byte_stream.h"
#include "memray/live/live_frame.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

namespace memray::live {

struct LiveSessionOptions
{
    std::chrono::milliseconds refresh{1000};  // time between frames; at least kMinRefresh
    // Replay a finished capture at the pace it was recorded (memory samples' times), times
    // `replay_speed`; false: read it as fast as possible (a stream being written is always
    // read as it comes).
    bool replay = false;
    double replay_speed = 1.0;
};

constexpr std::chrono::milliseconds kMinRefresh{100};

struct SessionState;  // the reading thread's and the view's shared state (src/session_state.h)

class LiveSession
{
  public:
    // Starts reading `stream` at once. The first frame (state Waiting) is ready immediately;
    // the first one with data within a refresh of the first records arriving, and sooner:
    // a frame is also made as soon as the capture's first allocations have been read.
    LiveSession(std::unique_ptr<format::ByteStream> stream, LiveSessionOptions options);
    // Cancels the stream and joins the reading thread.
    ~LiveSession();
    LiveSession(const LiveSession&) = delete;
    LiveSession& operator=(const LiveSession&) = delete;

    // The newest frame (never null). Thread-safe.
    std::shared_ptr<const LiveFrame> frame() const;

    // A file descriptor that is readable while a frame newer than the last acknowledge() is
    // ready, for the view's poll() loop; acknowledge() drains it.
    int notifyFd() const;
    void acknowledge();

    // Which threads the rows cover (nullopt: all merged). A new frame follows at once, also
    // after the capture has ended (frames then come only on such requests).
    void selectThread(std::optional<uint64_t> tid);
    // Changes the refresh interval (clamped to kMinRefresh); applies from the next frame.
    void setRefresh(std::chrono::milliseconds refresh);
    std::chrono::milliseconds refresh() const;
    // Computes a frame now instead of at the next tick.
    void refreshNow();

  private:
    std::unique_ptr<SessionState> state_;
};

}  // namespace memray::live
