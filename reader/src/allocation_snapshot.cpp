#include "memray/reader/allocation_snapshot.h"

#include "aggregated_snapshot.h"
#include "heap_event_stream.h"
#include "location_interner.h"
#include "memray/format/heap_tracker.h"

#include <algorithm>
#include <deque>
#include <unordered_map>

namespace memray::reader {
using format::HeapTracker;
using format::NoTag;
namespace {

using EventKind = HeapEvent::Kind;

// Whole-capture figures that every kind of report shows, gathered during its first pass.
struct CaptureTotals
{
    uint64_t total_allocations = 0;
    uint64_t total_bytes = 0;
    std::vector<MemoryPoint> memory;

    template <typename Tag>
    void add(const HeapEvent& event, const HeapTracker<Tag>& heap)
    {
        if (event.kind == EventKind::Allocation) {
            ++total_allocations;
            total_bytes += event.size;
        } else if (event.kind == EventKind::MemorySample) {
            memory.push_back(MemoryPoint{event.address, event.size, heap.currentBytes()});
        }
    }
};

// Applies a heap event, tagging a new allocation with `tag`.
template <typename Tag>
void apply(HeapTracker<Tag>& heap, const HeapEvent& event, const Tag& tag)
{
    if (event.kind == EventKind::Allocation) {
        heap.allocate(event.allocatorKind(), event.address, event.size, tag);
    } else if (event.kind == EventKind::Deallocation) {
        heap.deallocate(event.deallocatorKind(), event.address, event.size);
    }
}

// Live allocations of a heap grouped by location (a piece of a split mapping counts as one).
std::vector<LocationUsage> liveByLocation(const HeapTracker<PackedLocation>& heap)
{
    LocationInterner locations;
    std::vector<LocationUsage> usage;
    heap.forEachLive([&](uint64_t, uint64_t size, const PackedLocation& location) {
        const uint32_t index = locations.intern(location.key());
        if (index == usage.size()) {
            usage.push_back(LocationUsage{location.key(), 0, 0});
        }
        usage[index].bytes += size;
        ++usage[index].count;
    });
    return usage;
}

// Live allocations at the heap's high-water mark: replays a second reader over the same file
// until it has applied as many heap events as the first pass counted at the peak.
std::vector<LocationUsage> usageAtPeak(const std::string& path, uint64_t peak_events, bool split_threads)
{
    CaptureReader capture(path);
    HeapTracker<PackedLocation> heap;
    if (peak_events > 0) {
        streamHeapEvents(capture, [&](const HeapEvent* events, size_t count) {
            for (size_t i = 0; i < count && heap.events() < peak_events; ++i) {
                apply(heap, events[i], PackedLocation::of(events[i], split_threads));
            }
            return heap.events() < peak_events;
        });
    }
    return liveByLocation(heap);
}

// Finds temporary allocations: each thread remembers its last threshold + 1 allocations; a
// deallocation by that thread of one of them makes it temporary.
class TemporaryFinder
{
  public:
    TemporaryFinder(uint64_t threshold, bool split_threads)
    : window_(static_cast<size_t>(std::max<uint64_t>(threshold, 1)) + 1)
    , split_threads_(split_threads)
    {
    }

    void add(const HeapEvent& event)
    {
        if (event.kind == EventKind::Allocation) {
            std::deque<Recent>& recent = recent_[event.tid];
            recent.push_front(Recent{event.address, event.size, PackedLocation::of(event, split_threads_),
                                     event.allocatorKind() == format::Allocator::Mmap});
            if (recent.size() > window_) {
                recent.pop_back();
            }
        } else if (event.kind == EventKind::Deallocation) {
            auto found = recent_.find(event.tid);
            if (found == recent_.end()) {
                return;
            }
            std::deque<Recent>& recent = found->second;
            const bool munmap = event.deallocatorKind() == format::Deallocator::Munmap;
            for (auto it = recent.begin(); it != recent.end(); ++it) {
                // A munmap must release exactly the mapping; a free, the block at its address.
                if (it->address == event.address && it->mmap == munmap && (!munmap || it->size == event.size)) {
                    const uint32_t location = locations_.intern(it->location.key());
                    if (location == temporary_.size()) {
                        temporary_.push_back(LocationUsage{it->location.key(), 0, 0});
                    }
                    temporary_[location].bytes += it->size;
                    ++temporary_[location].count;
                    recent.erase(it);
                    break;
                }
            }
        } else if (event.kind == EventKind::ThreadExit) {
            recent_.erase(event.tid);
        }
    }

    std::vector<LocationUsage> result() const { return temporary_; }

  private:
    struct Recent
    {
        uint64_t address;
        uint64_t size;
        PackedLocation location;
        bool mmap;
    };

    size_t window_;
    bool split_threads_;
    LocationInterner locations_;
    std::unordered_map<uint64_t, std::deque<Recent>> recent_;  // by capture thread id
    std::vector<LocationUsage> temporary_;                    // by index in locations_
};

// Drops empty locations, orders the rest largest first and fills in the sums.
void finish(std::vector<LocationUsage> usage, AllocationSnapshot* snapshot)
{
    std::erase_if(usage, [](const LocationUsage& u) { return u.count == 0 && u.bytes == 0; });
    std::sort(usage.begin(), usage.end(), [](const LocationUsage& a, const LocationUsage& b) {
        if (a.bytes != b.bytes) {
            return a.bytes > b.bytes;
        }
        return std::tie(a.key.stack_id, a.key.thread_id, a.key.allocator, a.key.native_stack_id)
             < std::tie(b.key.stack_id, b.key.thread_id, b.key.allocator, b.key.native_stack_id);
    });
    for (const LocationUsage& u : usage) {
        snapshot->bytes += u.bytes;
        snapshot->count += u.count;
    }
    snapshot->locations = std::move(usage);
}

// The snapshot from the allocation records; fills `snapshot`'s whole-capture figures.
std::vector<LocationUsage> usageFromRecords(CaptureReader& capture, const SnapshotOptions& options,
                                            AllocationSnapshot* snapshot)
{
    CaptureTotals totals;
    std::vector<LocationUsage> usage;
    if (options.kind == ReportKind::Leaks) {
        HeapTracker<PackedLocation> heap;
        streamHeapEvents(capture, [&](const HeapEvent* events, size_t count) {
            for (size_t i = 0; i < count; ++i) {
                apply(heap, events[i], PackedLocation::of(events[i], options.split_threads));
                totals.add(events[i], heap);
            }
            return true;
        });
        snapshot->peak_bytes = heap.peakBytes();
        usage = liveByLocation(heap);
    } else {
        HeapTracker<> heap;
        TemporaryFinder temporary(options.temporary_threshold, options.split_threads);
        const bool find_temporary = options.kind == ReportKind::Temporary;
        streamHeapEvents(capture, [&](const HeapEvent* events, size_t count) {
            for (size_t i = 0; i < count; ++i) {
                apply(heap, events[i], NoTag{});
                totals.add(events[i], heap);
                if (find_temporary) {
                    temporary.add(events[i]);
                }
            }
            return true;
        });
        snapshot->peak_bytes = heap.peakBytes();
        usage = find_temporary ? temporary.result()
                               : usageAtPeak(capture.path(), heap.peakEvents(), options.split_threads);
    }
    snapshot->total_allocations = totals.total_allocations;
    snapshot->total_bytes = totals.total_bytes;
    snapshot->memory = std::move(totals.memory);
    return usage;
}

}  // namespace

AnalysedCapture analyseCapture(const std::string& path, const SnapshotOptions& options, size_t max_memory_points)
{
    AnalysedCapture result;
    result.capture = std::make_unique<CaptureReader>(path);
    result.snapshot.kind = options.kind;
    CaptureReader& capture = *result.capture;
    std::vector<LocationUsage> usage = usesCheckpoints(capture, options)
                                               ? usageFromCheckpoints(capture, options, &result.snapshot)
                                               : usageFromRecords(capture, options, &result.snapshot);
    result.snapshot.memory = strideMemoryPoints(result.snapshot.memory, max_memory_points);
    finish(std::move(usage), &result.snapshot);
    return result;
}

std::vector<MemoryPoint> strideMemoryPoints(const std::vector<MemoryPoint>& points, size_t limit)
{
    limit = std::max<size_t>(limit, 3);  // room for the first, the last and the highest
    if (points.size() <= limit) {
        return points;
    }
    const auto highest = std::max_element(points.begin(), points.end(),
                                          [](const MemoryPoint& a, const MemoryPoint& b) { return a.heap < b.heap; });
    // limit - 1 evenly spaced points from the first to the last, plus the highest one.
    std::vector<size_t> indices;
    indices.reserve(limit);
    for (size_t i = 0; i + 1 < limit; ++i) {
        indices.push_back(i * (points.size() - 1) / (limit - 2));
    }
    indices.push_back(static_cast<size_t>(highest - points.begin()));
    std::sort(indices.begin(), indices.end());
    indices.erase(std::unique(indices.begin(), indices.end()), indices.end());
    std::vector<MemoryPoint> kept;
    kept.reserve(indices.size());
    for (size_t index : indices) {
        kept.push_back(points[index]);
    }
    return kept;
}

}  // namespace memray::reader
