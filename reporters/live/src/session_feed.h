// The bytes of a capture stream, moved into memory by a thread of their own.
//
// A ByteStream's read() blocks for as long as the writer is idle. The session's reading thread
// must not: it has frames to compute at each refresh and requests from the view to serve. So a
// pump thread ("memray-live-recv") does the blocking reads, and the reading thread takes the
// bytes from here with a deadline, and can be woken early.
#pragma once

#include "memray/format/byte_stream.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace memray::live {

class Feed
{
  public:
    using Clock = std::chrono::steady_clock;

    // Starts pumping `source` at once.
    explicit Feed(std::unique_ptr<format::ByteStream> source);
    // Cancels the source and joins the pump.
    ~Feed();
    Feed(const Feed&) = delete;
    Feed& operator=(const Feed&) = delete;

    // Up to `size` bytes once some are there; 0 once the stream has ended (or stop()). Empty
    // when `until` passes first or wake() is called meanwhile.
    std::optional<size_t> read(void* buffer, size_t size, Clock::time_point until);
    // Waits until `until` or a wake() (data arriving does not end it).
    void sleepUntil(Clock::time_point until);
    // Makes the read() or sleepUntil() under way (or the next one) return at once. Thread-safe.
    void wake();
    // Cancels the source: reads return 0 from now on. Thread-safe.
    void stop();

    const format::ByteStream& source() const { return *source_; }
    // Bytes received but not yet read: those held here plus those the source holds.
    uint64_t backlog() const;
    // What the source's read() threw, if it did ("" if not).
    std::string error() const;

  private:
    void pump();

    std::unique_ptr<format::ByteStream> source_;
    mutable std::mutex mutex_;
    std::condition_variable readable_;  // bytes, the end, a wake() or a stop()
    std::condition_variable writable_;  // room in the queue, or a stop()
    std::deque<std::vector<uint8_t>> queue_;
    size_t head_offset_ = 0;  // bytes of queue_.front() already read
    uint64_t queued_ = 0;
    bool ended_ = false;
    bool stopped_ = false;
    bool woken_ = false;
    std::string error_;
    std::thread pump_;
};

}  // namespace memray::live
