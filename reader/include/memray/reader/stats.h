// The numbers behind `memray stats`, gathered in one pass over a capture.
//
//  * total allocations and bytes: every allocation record (deallocations are not counted; a
//    realloc counts as one allocation of its new size);
//  * peak: the high-water mark of the tracked heap (see heap_tracker.h);
//  * a histogram of allocation sizes and a count per allocator;
//  * the top locations by bytes and by count, a location being the innermost Python frame as
//    "function:file:line" (or "<unknown>" when the allocation had no Python stack), and the top
//    modules likewise (module_name.h says how a file maps to a module).
//    In a --native capture a location is the innermost frame of the hybrid stack (hybrid_stack.h)
//    instead, so an allocation made in C is charged to the C function that made it, named
//    "[native] function:file:line" (file and line from DWARF; "[native] symbol" or
//    "[native] libfoo.so+0x12" without debug info). Modules stay Python modules: the innermost Python frame's.
//
// Totals are kept per stack id while reading (one array slot per distinct stack) and merged
// into locations and modules at the end, so the per-record work is a few array and hash-table
// updates.
#pragma once

#include "memray/format/capture_format.h"
#include "memray/reader/capture_reader.h"
#include "memray/format/heap_tracker.h"
#include "memray/format/prefetch.h"
#include "memray/reader/size_histogram.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace memray::reader {

struct AllocatorCount
{
    format::Allocator allocator{};
    uint64_t count = 0;
};

// A location ("function:file:line") or a module, with what was allocated there.
struct AllocationTotal
{
    std::string name;
    uint64_t bytes = 0;
    uint64_t count = 0;
};

struct CaptureStats
{
    uint64_t total_allocations = 0;
    uint64_t total_bytes = 0;
    uint64_t peak_bytes = 0;
    uint64_t min_size = 0;  // of any allocation (0 when there were none)
    uint64_t max_size = 0;
    std::vector<SizeBin> histogram;
    std::vector<AllocatorCount> allocators;  // most used first
    std::vector<AllocationTotal> top_locations_by_size;
    std::vector<AllocationTotal> top_locations_by_count;
    std::vector<AllocationTotal> top_modules_by_size;
    std::vector<AllocationTotal> top_modules_by_count;
};

class StatsAggregator
{
  public:
    // `reader` resolves stack ids; feed it every record it returns, in order.
    explicit StatsAggregator(const CaptureReader& reader);

    void add(const Record& record)
    {
        if (record.kind == RecordKind::Allocation) {
            addAllocation(record.allocator, record.address, record.size, record.stack_id, record.native_stack_id);
        } else if (record.kind == RecordKind::Deallocation) {
            addDeallocation(record.deallocator, record.address, record.size);
        }
    }

    // The same from the fields alone: these touch no reader state, so they can run on another
    // thread than the one reading (computeStats does that).
    void addAllocation(format::Allocator allocator, uint64_t address, uint64_t size, uint64_t stack_id,
                       uint64_t native_stack_id = 0)
    {
        countAllocation(allocator, size, stack_id, native_stack_id);
        trackAllocation(allocator, address, size);
    }

    // The two halves of addAllocation: the totals, and the live heap with the size histogram.
    // The totals of an allocation with a native stack also go by hybrid stack (countHybrid).
    // They touch disjoint state, so threads may run them apart: computeStats's consuming
    // thread counts and tracks, its decoding thread counts by hybrid stack (which keeps the
    // native stack id out of the events it hands over).
    void countAllocation(format::Allocator allocator, uint64_t size, uint64_t stack_id, uint64_t native_stack_id)
    {
        countIfAllocation(true, allocator, size, stack_id);
        countHybrid(size, stack_id, native_stack_id);
    }
    // countAllocation, except its countHybrid, if `allocation`; else nothing, without
    // branching on it: computeStats sees allocations and deallocations interleaved in no order
    // a branch predictor could learn, and adding zeros costs less than a mispredicted branch.
    void countIfAllocation(bool allocation, format::Allocator allocator, uint64_t size, uint64_t stack_id)
    {
        const uint64_t one = allocation;
        const uint64_t all_bits = 0 - one;
        size &= all_bits;
        stack_id &= all_bits;  // what is not an allocation adds its zeros to stack 0's totals
        total_allocations_ += one;
        total_bytes_ += size;
        allocator_counts_[static_cast<uint8_t>(allocator) & 0x0f] += one;
        if (stack_id >= by_stack_.size()) [[unlikely]] {
            // Stack ids are dense (the decoder only accepts defined ones), so this stays small.
            by_stack_.resize(std::max<size_t>(static_cast<size_t>(stack_id) + 1, by_stack_.size() * 2));
        }
        by_stack_[stack_id].bytes += size;
        by_stack_[stack_id].count += one;
    }
    void countHybrid(uint64_t size, uint64_t stack_id, uint64_t native_stack_id)
    {
        if (native_stack_id != 0) [[unlikely]] {
            // Only --native captures have these; their locations come from hybrid stacks.
            Totals& hybrid = by_hybrid_stack_[HybridStack{stack_id, native_stack_id}];
            hybrid.bytes += size;
            ++hybrid.count;
        }
    }

    void trackAllocation(format::Allocator allocator, uint64_t address, uint64_t size)
    {
        sizes_.add(size);
        heap_.allocate(allocator, address, size);
    }

    void addDeallocation(format::Deallocator deallocator, uint64_t address, uint64_t size)
    {
        heap_.deallocate(deallocator, address, size);
    }

    // Hints that each half of addAllocation will run soon: its table slots start loading now,
    // so a caller that looks a few records ahead hides the memory latency. prefetchTrack also
    // serves a deallocation (its heap slot is where the allocation went).
    void prefetchCount(uint64_t stack_id) const
    {
        if (stack_id < by_stack_.size()) {
            format::prefetch(&by_stack_[stack_id]);
        }
    }
    void prefetchTrack(uint64_t address, uint64_t size) const
    {
        heap_.prefetch(address);
        sizes_.prefetch(size);
    }

    // The statistics so far, with at most `top_n` entries in each top list.
    CaptureStats result(size_t top_n) const;

    const format::HeapTracker<>& heap() const { return heap_; }

  private:
    struct Totals
    {
        uint64_t bytes = 0;
        uint64_t count = 0;
    };

    struct HybridStack
    {
        uint64_t stack_id;
        uint64_t native_stack_id;
        bool operator==(const HybridStack& other) const
        {
            return stack_id == other.stack_id && native_stack_id == other.native_stack_id;
        }
    };
    struct HybridStackHash
    {
        size_t operator()(const HybridStack& key) const
        {
            return static_cast<size_t>(key.stack_id * 0x9e3779b97f4a7c15ull ^ key.native_stack_id);
        }
    };

    class NamedTotals;  // totals by location or module name (stats.cpp)

    // Adds the allocations with a native stack to `locations`, by their innermost hybrid frame,
    // and takes them out of `python_by_stack` (what is left is located by Python frames).
    void addHybridLocations(NamedTotals& locations, std::vector<Totals>& python_by_stack) const;

    const CaptureReader& reader_;
    format::HeapTracker<> heap_;
    SizeHistogram sizes_;
    std::array<uint64_t, 16> allocator_counts_{};
    std::vector<Totals> by_stack_;  // index: stack id; 0 = no Python stack (every allocation)
    uint64_t total_allocations_ = 0;
    uint64_t total_bytes_ = 0;
    // (Python stack, native stack) of the allocations with a native stack (--native captures).
    // countHybrid updates it on computeStats's decoding thread while the other thread updates
    // the members above, so it starts a cache line of its own (the alignment also rounds the
    // object up to whole lines): sharing one would move the line between cores on every
    // allocation.
    alignas(64) std::unordered_map<HybridStack, Totals, HybridStackHash> by_hybrid_stack_;
};

// Reads the rest of `reader` and returns its statistics. Throws CaptureError if the capture
// turns out to be corrupted; a capture that ended abruptly is fine (check reader.endState()).
// Throws AggregatedCaptureError for an aggregated capture without allocation records.
// Decoding runs on a second thread, feeding this one batches of heap events: the two halves
// of the work take similar time, so this nearly halves the wall time on a multi-core machine.
CaptureStats computeStats(CaptureReader& reader, size_t top_n);

}  // namespace memray::reader
