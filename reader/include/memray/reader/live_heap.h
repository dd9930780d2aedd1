// The live heap by location while a capture is being read: what the live view shows.
//
// Fed the records as CaptureReader hands them out, it keeps each location's live bytes and
// live allocations up to date in O(1) per record (the heap model of format/heap_tracker.h, with
// an observer per location, as the payload keeps an aggregated capture's figures), so that a
// snapshot costs one pass over the locations, however many allocations are live.
//
// An aggregated capture (--aggregate) has no allocation records: its figures are those of its
// latest complete checkpoint (docs/capture-format.md), and its memory records carry the heap.
// One that also has the records (MEMRAY_AGGREGATE_VERIFY=1) is followed by its records.
#pragma once

#include "memray/reader/allocation_snapshot.h"
#include "memray/reader/capture_reader.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace memray::reader {

class LiveHeap
{
  public:
    // Follows `capture`'s records (or its checkpoints when it has no records).
    explicit LiveHeap(const CaptureReader& capture);
    ~LiveHeap();
    LiveHeap(const LiveHeap&) = delete;
    LiveHeap& operator=(const LiveHeap&) = delete;

    // Applies records as CaptureReader::nextBatch returned them (it has applied them to its
    // tables). Records other than heap events and checkpoints are ignored.
    void apply(const Record* records, size_t count);

    // True when the figures come from checkpoints.
    bool fromCheckpoints() const;
    // Whether any allocation (or a complete checkpoint) has been applied.
    bool hasData() const;

    uint64_t currentBytes() const;
    uint64_t peakBytes() const;
    // The highest heap reached since the previous call (or the heap now, if higher): one point
    // of a plot per memory record, so that a block that lived between two samples still shows.
    // Aggregated captures: 0 (their memory records carry the heap).
    uint64_t takeSampleHighWater();

    // Every location with live memory: thread_id is the allocating capture thread, the
    // allocator is kept. In no particular order.
    std::vector<LocationUsage> usage() const;

  private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace memray::reader
