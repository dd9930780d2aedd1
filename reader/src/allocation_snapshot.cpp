#include "memray/reader/allocation_snapshot.h"

#include "aggregated_snapshot.h"
#include "heap_event_stream.h"
#include "location_interner.h"
#include "memray/format/heap_tracker.h"
#include "memray/format/huge_page_allocator.h"

#include <algorithm>
#include <deque>
#include <memory>
#include <unordered_map>
#include <utility>

namespace memray::reader {
using format::HeapTracker;
using format::NoTag;
using format::RangeMap;
namespace {

using EventKind = HeapEvent::Kind;

constexpr size_t kPrefetchDistance = 16;  // heap events ahead whose table slots to load

// Whole-capture figures that every kind of report shows, gathered during its first pass.
struct CaptureTotals
{
    uint64_t total_allocations = 0;
    uint64_t total_bytes = 0;
    std::vector<MemoryPoint> memory;
    // Each point's heap is the highest since the previous sample, not the heap at the sample:
    // a block that lived between two samples still shows, and the plot reaches the peak.
    uint64_t high_water_since_sample = 0;

    template <typename Heap>
    void add(const HeapEvent& event, const Heap& heap)
    {
        if (event.kind == EventKind::Allocation) {
            ++total_allocations;
            total_bytes += event.size;
            high_water_since_sample = std::max(high_water_since_sample, heap.currentBytes());
        } else if (event.kind == EventKind::MemorySample) {
            memory.push_back(MemoryPoint{event.address, event.size, std::max(high_water_since_sample, heap.currentBytes())});
            // What was live at this sample is this point's; the next one shows what happens after.
            high_water_since_sample = 0;
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

// Sums live allocations by location (a piece of a split mapping counts as one).
class UsageByLocation
{
  public:
    void add(uint64_t size, const PackedLocation& location)
    {
        const uint32_t index = locations_.intern(location.key());
        if (index == usage_.size()) {
            usage_.push_back(LocationUsage{location.key(), 0, 0});
        }
        usage_[index].bytes += size;
        ++usage_[index].count;
    }
    std::vector<LocationUsage> take() { return std::move(usage_); }

  private:
    LocationInterner locations_;
    std::vector<LocationUsage> usage_;
};

// Live allocations of a heap grouped by location.
std::vector<LocationUsage> liveByLocation(const HeapTracker<PackedLocation>& heap)
{
    UsageByLocation usage;
    heap.forEachLive([&](uint64_t, uint64_t size, const PackedLocation& location) { usage.add(size, location); });
    return usage.take();
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

// Live allocations at the heap's high-water mark, found in the same pass as the mark itself
// (usageAtPeak decodes the whole file a second time).
//
// The heap is tracked with each block's location, and every change to the blocks since the
// latest peak is logged; a new peak empties the log. At the end, undoing the log (newest first)
// turns the blocks back into those live at the peak. Mappings, which munmap can trim and split,
// are few: their events are logged from the start (on the decoding thread) and replayed up to
// the peak. A capture that
// allocates a block already live (it missed a free), or whose logs outgrow their caps (the peak
// came early in a long capture), falls back on usageAtPeak.
class PeakFinder
{
  public:
    explicit PeakFinder(bool split_threads)
    : split_threads_(split_threads)
    {
    }

    // On the decoding thread, before add() sees them: applies the batch's mapping events to a
    // map of their own (its tree walks would otherwise slow the consuming thread, the busier
    // one) and logs them, leaving in each the change to the mapped bytes (in native_stack_id).
    void inspect(HeapEvent* events, size_t count)
    {
        for (size_t i = 0; i < count; ++i) {
            HeapEvent& event = events[i];
            // Allocations and deallocations come in no order a branch predictor could learn, so
            // the common case tests both conditions at once (`&`, not `&&`) and branches only on
            // the rare mapping events.
            const bool map = (event.kind == EventKind::Allocation) & (event.allocatorKind() == format::Allocator::Mmap);
            const bool unmap = (event.kind == EventKind::Deallocation)
                               & (event.deallocatorKind() == format::Deallocator::Munmap);
            if (map) [[unlikely]] {
                logMapping(event, PackedLocation::of(event, split_threads_));
                const uint64_t end = RangeMap<NoTag>::rangeEnd(event.address, event.size);
                const uint64_t replaced = mapped_.insert(event.address, end, NoTag{});
                event.native_stack_id = (end - event.address) - replaced;
            } else if (unmap) [[unlikely]] {
                logMapping(event, {});
                event.native_stack_id = 0 - mapped_.erase(event.address, RangeMap<NoTag>::rangeEnd(event.address, event.size));
            }
            inspected_events_ += (event.kind == EventKind::Allocation) | (event.kind == EventKind::Deallocation);
        }
    }

    // Applies `event`, after inspect() has seen it.
    void add(const HeapEvent& event)
    {
        if (event.kind == EventKind::Allocation) {
            if (event.allocatorKind() == format::Allocator::Mmap) {
                mapped_bytes_ += event.native_stack_id;
            } else {
                const size_t blocks = heap_.liveBlocks();
                heap_.allocate(event.allocatorKind(), event.address, event.size, PackedLocation::of(event, split_threads_));
                exact_ = exact_ && heap_.liveBlocks() != blocks;
                logUndo(Undo::allocated(event.address));
            }
        } else if (event.kind == EventKind::Deallocation) {
            if (event.deallocatorKind() == format::Deallocator::Munmap) {
                mapped_bytes_ += event.native_stack_id;
            } else {
                heap_.deallocate(event.deallocatorKind(), event.address, event.size,
                                 [&](uint64_t bytes, const PackedLocation& location, bool) {
                                     logUndo(Undo::free(event.address, bytes, location));
                                 });
            }
        } else {
            return;
        }
        // As HeapTracker does: the latest event at the maximum is the peak.
        ++events_;
        const uint64_t current = currentBytes();
        if (current >= peak_bytes_) {
            peak_bytes_ = current;
            peak_events_ = events_;
            undo_size_ = 0;
        }
    }

    // Hints that `event` comes soon: its heap slot starts loading.
    void prefetch(const HeapEvent& event) const
    {
        if (event.kind == EventKind::Allocation || event.kind == EventKind::Deallocation) {
            heap_.prefetch(event.address);
        }
    }

    // The heap as HeapTracker counts it: live blocks and mapped bytes.
    uint64_t currentBytes() const { return heap_.currentBytes() + mapped_bytes_; }
    uint64_t peakBytes() const { return peak_bytes_; }
    uint64_t peakEvents() const { return peak_events_; }
    // False: usage() cannot tell; replay the capture instead (usageAtPeak). Once the stream ends.
    bool exact() const { return exact_ && !mappings_overflowed_; }

    // The live allocations at the peak, grouped as liveByLocation does. Call once, at the end:
    // it takes the heap back to the peak.
    std::vector<LocationUsage> usage()
    {
        const uint64_t peak_events = peak_events_;
        for (size_t i = undo_size_; i-- > 0;) {
            const Undo& undo = undo_[i / kUndoBlock][i % kUndoBlock];
            if (undo.freed) {
                heap_.allocate(format::Allocator::Malloc, undo.address, undo.size, undo.location());
            } else {
                heap_.deallocate(format::Deallocator::Free, undo.address, 0);
            }
        }
        HeapTracker<PackedLocation> mappings;
        for (const Mapping& mapping : mappings_) {
            if (mapping.event >= peak_events) {
                break;
            }
            if (mapping.allocate) {
                mappings.allocate(format::Allocator::Mmap, mapping.address, mapping.size, mapping.location);
            } else {
                mappings.deallocate(format::Deallocator::Munmap, mapping.address, mapping.size);
            }
        }
        UsageByLocation usage;
        // The heap's own mappings are those of the end: the replayed ones replace them.
        heap_.forEachLive([&](uint64_t, uint64_t size, const PackedLocation& location) {
            if (location.allocator != format::Allocator::Mmap) {
                usage.add(size, location);
            }
        });
        mappings.forEachLive(
                [&](uint64_t, uint64_t size, const PackedLocation& location) { usage.add(size, location); });
        return usage.take();
    }

  private:
    // Undoes a change to the blocks: an allocation at `address`, or (freed) the free of a block.
    // No member initialisers: a new block of the log is left uninitialised, not zeroed.
    struct Undo
    {
        uint64_t address;
        uint64_t size;
        uint32_t stack_id;
        uint32_t native_stack_id;
        uint32_t thread_id;
        format::Allocator allocator;
        bool freed;

        static Undo allocated(uint64_t address) { return Undo{address, 0, 0, 0, 0, {}, false}; }
        static Undo free(uint64_t address, uint64_t size, const PackedLocation& location)
        {
            return Undo{address, size, location.stack_id, location.native_stack_id, location.thread_id,
                        location.allocator, true};
        }
        PackedLocation location() const { return PackedLocation{stack_id, native_stack_id, thread_id, allocator}; }
    };

    struct Mapping
    {
        uint64_t event;  // heap events applied before this one
        uint64_t address;
        uint64_t size;
        PackedLocation location;
        bool allocate;
    };

    void logUndo(const Undo& undo)
    {
        if (undo_size_ == undo_.size() * kUndoBlock) [[unlikely]] {
            if (undo_size_ >= kMaxUndo || !exact_) {
                exact_ = false;
                undo_.clear();
                undo_size_ = 0;
                return;
            }
            undo_.push_back(UndoBlock(format::HugePageAllocator<Undo>().allocate(kUndoBlock)));
        }
        undo_[undo_size_ / kUndoBlock][undo_size_ % kUndoBlock] = undo;
        ++undo_size_;
    }

    void logMapping(const HeapEvent& event, const PackedLocation& location)
    {
        if (mappings_.size() >= kMaxMappingEvents) [[unlikely]] {
            mappings_overflowed_ = true;
            mappings_ = MappingLog();
        }
        if (!mappings_overflowed_) [[likely]] {
            mappings_.push_back(Mapping{inspected_events_, event.address, event.size, location,
                                        event.kind == EventKind::Allocation});
        }
    }

    // At most 256 MiB of undo log and 192 MiB of mapping log.
    static constexpr size_t kMaxUndo = size_t{1} << 23;
    // A block is one huge page: the log is written once, front to back, into fresh memory, and
    // on 4 KiB pages that took a page fault every 128 entries (11,000 faults, at several
    // microseconds each in a virtual machine, on a 10-million-allocation capture).
    static constexpr size_t kUndoBlock = format::HugePageAllocator<Undo>::kHugePage / sizeof(Undo);
    static constexpr size_t kMaxMappingEvents = size_t{1} << 22;

    bool split_threads_;
    // The consuming thread's: blocks (heap_, whose own peak goes unused), mapped bytes, the peak.
    bool exact_ = true;
    HeapTracker<PackedLocation> heap_;
    uint64_t mapped_bytes_ = 0;
    uint64_t events_ = 0;
    uint64_t peak_bytes_ = 0;
    uint64_t peak_events_ = 0;
    // Changes to the blocks since the latest peak, oldest first: undo_size_ entries in blocks of
    // kUndoBlock, which (unlike a vector's growth) never copy the log; a new peak keeps them.
    struct FreeUndoBlock
    {
        void operator()(Undo* block) const { format::HugePageAllocator<Undo>().deallocate(block, kUndoBlock); }
    };
    using UndoBlock = std::unique_ptr<Undo[], FreeUndoBlock>;  // uninitialised until written
    std::vector<UndoBlock> undo_;
    size_t undo_size_ = 0;
    // The decoding thread's (until the stream ends): live mappings and the log of their events.
    RangeMap<NoTag> mapped_;
    uint64_t inspected_events_ = 0;
    bool mappings_overflowed_ = false;
    using MappingLog = std::vector<Mapping, format::HugePageAllocator<Mapping>>;  // (faults, as above)
    MappingLog mappings_;  // every mapping event, oldest first
};

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
    } else if (options.kind == ReportKind::Peak) {
        PeakFinder peak(options.split_threads);
        streamHeapEvents(capture, [&](const HeapEvent* events, size_t count) {
            for (size_t i = 0; i < std::min(count, kPrefetchDistance); ++i) {
                peak.prefetch(events[i]);
            }
            for (size_t i = 0; i < count; ++i) {
                prefetchEventAhead(events, i, count);
                if (i + kPrefetchDistance < count) {
                    peak.prefetch(events[i + kPrefetchDistance]);
                }
                peak.add(events[i]);
                totals.add(events[i], peak);
            }
            return true;
        }, [&](HeapEvent* events, size_t count) { peak.inspect(events, count); });
        snapshot->peak_bytes = peak.peakBytes();
        usage = peak.exact() ? peak.usage() : usageAtPeak(capture.path(), peak.peakEvents(), options.split_threads);
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
