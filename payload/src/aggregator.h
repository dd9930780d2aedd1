// The per-location figures of an aggregated capture (--aggregate), kept in the tracked process.
//
// Heap events go through the same HeapTracker the reader replays; its observer keeps, per
// location (thread, Python stack, native stack, allocator), the live bytes and count, the heap
// event that last changed them, and their figures at the peak, saved lazily: the first time a
// location changes after the current peak event, its figures from before the change are the
// ones it had at the peak (docs/capture-format.md, "Aggregated captures").
//
// Not thread-safe: the tracker calls it with record_mutex held.
#pragma once

#include "memray/format/capture_format.h"
#include "memray/format/heap_tracker.h"
#include "memray/format/record_codec.h"

#include <algorithm>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace memray::payload {

struct LocationKey
{
    uint64_t tid = 0;  // capture thread id
    uint64_t stack_id = 0;
    uint64_t native_stack_id = 0;
    format::Allocator allocator{};

    bool operator==(const LocationKey&) const = default;
};

class Aggregator
{
  public:
    Aggregator() = default;
    Aggregator(const Aggregator&) = delete;
    Aggregator& operator=(const Aggregator&) = delete;

    // Forgets everything (a new capture, or a forked child's own one).
    void reset();

    void allocate(const LocationKey& location, uint64_t address, uint64_t size);
    // `size` is used by Munmap only. A free of an unknown address is still a heap event.
    void deallocate(format::Deallocator deallocator, uint64_t address, uint64_t size);

    uint64_t heapBytes() const { return heap_.currentBytes(); }
    // The highest heap reached since the previous call, or the heap now if higher (the memory
    // samples' heap: a block that lived between two samples still shows on a plot).
    uint64_t takeSampleHighWater()
    {
        const uint64_t highest = std::max(sample_high_water_, heap_.currentBytes());
        sample_high_water_ = 0;
        return highest;
    }
    format::AggregateTotals totals() const;
    size_t locationCount() const { return locations_.size(); }
    size_t changedCount() const { return changed_.size(); }

    // Calls f(const format::AggregateLocation&) for every location changed since the previous
    // call (a checkpoint's location records), then forgets that they changed.
    template <typename F>
    void takeChanged(F&& f)
    {
        for (uint32_t index : changed_) {
            Location& location = locations_[index];
            location.changed = false;
            f(static_cast<const format::AggregateLocation&>(location));
        }
        changed_.clear();
    }

    // Calls f(const format::AggregateLocation&) for every location, changed or not.
    template <typename F>
    void forEachLocation(F&& f) const
    {
        for (const Location& location : locations_) {
            f(static_cast<const format::AggregateLocation&>(location));
        }
    }

  private:
    struct Location : format::AggregateLocation
    {
        bool changed = false;  // listed in changed_
    };

    // HeapTracker's observer: applies each piece added or removed to its location.
    struct Observer
    {
        Aggregator* self = nullptr;
        void added(uint32_t index, uint64_t bytes) { self->change(index, bytes, 1); }
        void removed(uint32_t index, uint64_t bytes, int pieces)
        {
            self->change(index, uint64_t{0} - bytes, static_cast<uint64_t>(static_cast<int64_t>(pieces)));
        }
    };

    struct KeyHash
    {
        size_t operator()(const LocationKey& key) const;
    };

    // Adds (modulo 2^64) to a location's live figures during the heap event under way.
    void change(uint32_t index, uint64_t bytes, uint64_t count);

    format::HeapTracker<uint32_t, Observer> heap_{Observer{this}};
    std::vector<Location> locations_;
    std::unordered_map<LocationKey, uint32_t, KeyHash> index_;
    std::vector<uint32_t> changed_;
    uint64_t allocations_ = 0;
    uint64_t sample_high_water_ = 0;
    uint64_t allocated_bytes_ = 0;
};

}  // namespace memray::payload
