#include "session_model.h"

#include "session_rows.h"

#include <algorithm>

namespace memray::live {

namespace {

// Records per batch: small enough that a frame or a request waits little behind one.
constexpr size_t kBatchRecords = 1024;

}  // namespace

SessionModel::SessionModel(std::unique_ptr<reader::CaptureReader> capture)
: capture_(std::move(capture))
, heap_(*capture_)
, trees_(*capture_)
, batch_(kBatchRecords)
{
}

SessionModel::~SessionModel() = default;

size_t SessionModel::read()
{
    batch_size_ = capture_->nextBatch(batch_.data(), batch_.size());
    return batch_size_;
}

std::optional<uint64_t> SessionModel::pendingSampleTime() const
{
    for (size_t i = batch_size_; i-- > 0;) {
        if (batch_[i].kind == reader::RecordKind::Memory) {
            return batch_[i].time;
        }
    }
    return std::nullopt;
}

void SessionModel::apply()
{
    // The heap takes the whole batch at once (it prefetches ahead), unless memory samples cut
    // it: each sample's plot point is the heap's highest up to it.
    size_t applied = 0;
    for (size_t i = 0; i < batch_size_; ++i) {
        if (batch_[i].kind == reader::RecordKind::Memory) {
            heap_.apply(batch_.data() + applied, i - applied);
            sample(batch_[i]);
            applied = i + 1;
        }
    }
    heap_.apply(batch_.data() + applied, batch_size_ - applied);
    batch_size_ = 0;
}

void SessionModel::sample(const reader::Record& memory)
{
    // Aggregated captures' memory records carry the heap the payload counted; otherwise the
    // records tell it.
    const uint64_t point = heap_.fromCheckpoints() ? memory.heap : heap_.takeSampleHighWater();
    history_.push_back(point);
    if (history_.size() > LiveFrame::kMaxHistoryPoints) {
        history_.pop_front();
    }
    history_peak_ = std::max(history_peak_, point);
    rss_ = memory.rss;
}

void SessionModel::describe(LiveFrame& frame, std::optional<uint64_t> thread)
{
    const format::Metadata& metadata = capture_->metadata();
    frame.pid = metadata.pid;
    frame.command_line = metadata.command_line;
    frame.python_version = metadata.python_version;
    frame.native_traces = capture_->nativeTraces();
    frame.aggregated = heap_.fromCheckpoints();

    frame.capture_ms = capture_->durationUs().value_or(0) / 1000;
    frame.heap_bytes = heap_.currentBytes();
    frame.peak_heap_bytes = std::max({heap_.peakBytes(), history_peak_, frame.heap_bytes});
    frame.rss_bytes = rss_;
    frame.heap_history.assign(history_.begin(), history_.end());
    frame.history_interval_ms = metadata.rss_interval_ms;

    frame.threads.clear();
    for (const auto& [tid, info] : capture_->threads()) {
        frame.threads.push_back(LiveThread{tid, info.os_tid, std::string(info.name())});
    }
    frame.thread = thread;
    frame.rows = functionRows(trees_, heap_.usage(), thread, &frame.thread_heap_bytes);
    if (!thread) {
        frame.thread_heap_bytes = frame.heap_bytes;
    }
}

}  // namespace memray::live
