// What a live session knows of its capture once the header is in: the reader and its tables,
// the live heap by location, the heap's history and the newest samples. Single-threaded: the
// session's reading thread owns it (live_session.cpp), and tests drive it directly.
#pragma once

#include "memray/live/live_frame.h"
#include "memray/reader/call_tree.h"
#include "memray/reader/capture_reader.h"
#include "memray/reader/live_heap.h"

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

namespace memray::live {

class SessionModel
{
  public:
    explicit SessionModel(std::unique_ptr<reader::CaptureReader> capture);
    ~SessionModel();
    SessionModel(const SessionModel&) = delete;
    SessionModel& operator=(const SessionModel&) = delete;

    // Reads the next records (at most one chunk's worth; blocks while the stream waits) into
    // the reader's tables; apply() then applies them to the heap. 0 once the capture has ended:
    // capture().endState() says how.
    size_t read();
    // The capture time (ms) of the last memory sample among the records read and not yet
    // applied, if any: when a replay may show them.
    std::optional<uint64_t> pendingSampleTime() const;
    void apply();

    const reader::CaptureReader& capture() const { return *capture_; }
    // Whether an allocation (or, aggregated, a complete checkpoint) has been applied.
    bool hasData() const { return heap_.hasData(); }

    // Fills everything of `frame` the capture says (metadata, figures, history, threads, rows
    // for `thread` or all threads merged); sequence, state, status and backlog are the caller's.
    void describe(LiveFrame& frame, std::optional<uint64_t> thread);

  private:
    void sample(const reader::Record& memory);

    std::unique_ptr<reader::CaptureReader> capture_;
    reader::LiveHeap heap_;
    reader::CallTreeBuilder trees_;
    std::vector<reader::Record> batch_;
    size_t batch_size_ = 0;

    std::deque<uint64_t> history_;  // at most LiveFrame::kMaxHistoryPoints
    uint64_t history_peak_ = 0;     // the highest point ever (aggregated captures' peak too)
    uint64_t rss_ = 0;
};

}  // namespace memray::live
