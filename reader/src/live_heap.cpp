#include "memray/reader/live_heap.h"

#include "aggregated_snapshot.h"
#include "location_interner.h"
#include "memray/format/heap_tracker.h"

#include <algorithm>

namespace memray::reader {

namespace {

constexpr size_t kPrefetchDistance = 16;  // records ahead whose heap slots to load

// Live figures per location index (a LocationInterner's).
struct LocationFigures
{
    std::vector<uint64_t> bytes;
    std::vector<uint64_t> count;
};

// The heap model's observer: every live piece added or removed goes to its location. Figures
// are changed modulo 2^64, as the payload's aggregator does: a piece's removal always follows
// its addition, so they never go below zero once an event is complete.
struct FiguresObserver
{
    LocationFigures* figures = nullptr;
    void added(uint32_t index, uint64_t bytes)
    {
        figures->bytes[index] += bytes;
        figures->count[index] += 1;
    }
    void removed(uint32_t index, uint64_t bytes, int pieces)
    {
        figures->bytes[index] -= bytes;
        figures->count[index] += static_cast<uint64_t>(static_cast<int64_t>(pieces));
    }
};

}  // namespace

struct LiveHeap::State
{
    explicit State(bool checkpoints)
    : from_checkpoints(checkpoints)
    {
    }

    static LocationKey keyOf(const Record& allocation)
    {
        return LocationKey{allocation.stack_id, allocation.native_stack_id, allocation.tid, allocation.allocator};
    }

    void allocate(const Record& record)
    {
        const uint32_t index = locations.intern(keyOf(record));
        if (index == figures.bytes.size()) {
            figures.bytes.push_back(0);
            figures.count.push_back(0);
        }
        heap.allocate(record.allocator, record.address, record.size, index);
        high_water = std::max(high_water, heap.currentBytes());
        has_data = true;
    }

    bool from_checkpoints;
    bool has_data = false;
    // Records:
    LocationInterner locations;
    LocationFigures figures;
    format::HeapTracker<uint32_t, FiguresObserver> heap{FiguresObserver{&figures}};
    uint64_t high_water = 0;
    // Checkpoints:
    CheckpointState checkpoints;
};

LiveHeap::LiveHeap(const CaptureReader& capture)
: state_(std::make_unique<State>(!capture.hasAllocationRecords()))
{
}

LiveHeap::~LiveHeap() = default;

void LiveHeap::apply(const Record* records, size_t count)
{
    State& state = *state_;
    if (state.from_checkpoints) {
        for (size_t i = 0; i < count; ++i) {
            state.checkpoints.add(records[i]);
            state.has_data = state.has_data || records[i].kind == RecordKind::AggregateEnd;
        }
        return;
    }
    for (size_t i = 0; i < count; ++i) {
        // The heap's tables are mostly cache misses: start loading the slots of the records a
        // little ahead (what the report analyses do too).
        if (i + kPrefetchDistance < count && records[i + kPrefetchDistance].kind >= RecordKind::Allocation) {
            const Record& ahead = records[i + kPrefetchDistance];
            state.heap.prefetch(ahead.address);
            if (ahead.kind == RecordKind::Allocation) {
                state.locations.prefetch(State::keyOf(ahead));
            }
        }
        const Record& record = records[i];
        if (record.kind == RecordKind::Allocation) {
            state.allocate(record);
        } else if (record.kind == RecordKind::Deallocation) {
            state.heap.deallocate(record.deallocator, record.address, record.size);
        }
    }
}

bool LiveHeap::fromCheckpoints() const
{
    return state_->from_checkpoints;
}

bool LiveHeap::hasData() const
{
    return state_->has_data;
}

uint64_t LiveHeap::currentBytes() const
{
    return state_->from_checkpoints ? state_->checkpoints.totals().current_bytes : state_->heap.currentBytes();
}

uint64_t LiveHeap::peakBytes() const
{
    return state_->from_checkpoints ? state_->checkpoints.totals().peak_bytes : state_->heap.peakBytes();
}

uint64_t LiveHeap::takeSampleHighWater()
{
    const uint64_t highest = std::max(state_->high_water, state_->heap.currentBytes());
    state_->high_water = 0;
    return state_->from_checkpoints ? 0 : highest;
}

std::vector<LocationUsage> LiveHeap::usage() const
{
    const State& state = *state_;
    std::vector<LocationUsage> usage;
    if (state.from_checkpoints) {
        usage = state.checkpoints.usage(ReportKind::Leaks, true);
        std::erase_if(usage, [](const LocationUsage& location) { return location.bytes == 0 && location.count == 0; });
        return usage;
    }
    for (size_t i = 0; i < state.figures.bytes.size(); ++i) {
        if (state.figures.bytes[i] != 0 || state.figures.count[i] != 0) {
            usage.push_back(LocationUsage{state.locations.key(static_cast<uint32_t>(i)), state.figures.bytes[i],
                                          state.figures.count[i]});
        }
    }
    return usage;
}

}  // namespace memray::reader
