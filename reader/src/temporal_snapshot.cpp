#include "memray/reader/temporal_snapshot.h"

#include "flat_counter_map.h"
#include "heap_event_stream.h"
#include "location_interner.h"
#include "memray/format/heap_tracker.h"

#include <algorithm>
#include <span>
#include <stdexcept>
#include <unordered_map>

namespace memray::reader {
using format::HeapTracker;
namespace {

// The stretch of the capture between two memory samples, as the first pass sees it.
struct FineSlice
{
    uint64_t end_ms = 0;
    uint64_t rss = 0;
    uint64_t peak_heap = 0;   // highest heap inside the slice...
    uint64_t peak_event = 0;  // ...and the heap event count when it was last reached
    uint64_t end_heap = 0;
    uint64_t end_event = 0;
};

struct SlicedTimeline
{
    std::vector<TemporalSlice> slices;
    std::vector<uint64_t> moments;  // per slice: heap events applied at its moment of interest
    uint64_t peak_bytes = 0;
    uint64_t total_allocations = 0;
    uint64_t total_bytes = 0;
};

std::vector<FineSlice> readFineSlices(CaptureReader& capture, SlicedTimeline* timeline)
{
    std::vector<FineSlice> fine;
    HeapTracker<> heap;
    FineSlice current;
    streamHeapEvents(capture, [&](const HeapEvent* events, size_t count) {
        for (const HeapEvent& event : std::span(events, count)) {
            if (event.kind == HeapEvent::Kind::Allocation) {
                heap.allocate(event.allocatorKind(), event.address, event.size);
                ++timeline->total_allocations;
                timeline->total_bytes += event.size;
            } else if (event.kind == HeapEvent::Kind::Deallocation) {
                heap.deallocate(event.deallocatorKind(), event.address, event.size);
            } else if (event.kind == HeapEvent::Kind::MemorySample) {
                current.end_ms = event.address;
                current.rss = event.size;
                current.end_heap = heap.currentBytes();
                current.end_event = heap.events();
                fine.push_back(current);
                // An empty slice's moment is its start: what was live then.
                current = FineSlice{0, event.size, heap.currentBytes(), heap.events(), 0, 0};
                continue;
            } else {
                continue;
            }
            if (heap.currentBytes() >= current.peak_heap) {
                current.peak_heap = heap.currentBytes();
                current.peak_event = heap.events();
            }
        }
        return true;
    });
    if (fine.empty() || heap.events() > fine.back().end_event) {
        // Heap events after the last sample (or a capture without samples) end in one more slice.
        const uint64_t last_ms = fine.empty() ? 0 : fine.back().end_ms;
        const auto duration_us = capture.durationUs();
        current.end_ms = std::max(last_ms, duration_us ? *duration_us / 1000 : last_ms);
        current.end_heap = heap.currentBytes();
        current.end_event = heap.events();
        fine.push_back(current);
    }
    timeline->peak_bytes = heap.peakBytes();
    return fine;
}

// Groups fine slices into at most `max_slices`, each with its moment of interest.
void groupSlices(const std::vector<FineSlice>& fine, ReportKind kind, size_t max_slices, SlicedTimeline* timeline)
{
    const size_t stride = (fine.size() + max_slices - 1) / std::max<size_t>(max_slices, 1);
    uint64_t start_ms = 0;
    for (size_t first = 0; first < fine.size(); first += stride) {
        const size_t last = std::min(first + stride, fine.size()) - 1;
        TemporalSlice slice{start_ms, fine[last].end_ms, 0, fine[last].rss};
        uint64_t moment = 0;
        if (kind == ReportKind::Peak) {
            for (size_t i = first; i <= last; ++i) {
                if (fine[i].peak_heap >= slice.heap_at_moment) {
                    slice.heap_at_moment = fine[i].peak_heap;
                    moment = fine[i].peak_event;
                }
            }
        } else {
            slice.heap_at_moment = fine[last].end_heap;
            moment = fine[last].end_event;
        }
        timeline->slices.push_back(slice);
        timeline->moments.push_back(moment);
        start_ms = slice.end_ms;
    }
}

struct IntervalKey
{
    PackedLocation location;
    uint32_t from;
    uint32_t to;
    bool operator==(const IntervalKey& other) const
    {
        return location.key() == other.location.key() && from == other.from && to == other.to;
    }
};

struct IntervalKeyHash
{
    size_t operator()(const IntervalKey& key) const
    {
        const PackedLocation& l = key.location;
        uint64_t h = mixBits(static_cast<uint64_t>(l.stack_id) << 32 | l.native_stack_id);
        h = mixBits(h ^ (static_cast<uint64_t>(l.thread_id) << 8 | static_cast<uint64_t>(l.allocator)));
        return static_cast<size_t>(mixBits(h ^ (static_cast<uint64_t>(key.from) << 32 | key.to)));
    }
};

// Second pass: every allocation's lifetime as a slice interval, aggregated.
class IntervalCollector
{
  public:
    IntervalCollector(const std::vector<uint64_t>& moments, bool split_threads)
    : moments_(moments)
    , split_threads_(split_threads)
    {
    }

    void replay(CaptureReader& replay)
    {
        streamHeapEvents(replay, [&](const HeapEvent* events, size_t count) {
            for (const HeapEvent& event : std::span(events, count)) {
                if (event.kind == HeapEvent::Kind::Allocation) {
                    const uint32_t from = sliceAt(heap_.events() + 1);
                    heap_.allocate(event.allocatorKind(), event.address, event.size,
                                   Lifetime{PackedLocation::of(event, split_threads_), from});
                } else if (event.kind == HeapEvent::Kind::Deallocation) {
                    const uint32_t to = sliceAt(heap_.events() + 1);
                    heap_.deallocate(event.deallocatorKind(), event.address, event.size,
                                     [&](uint64_t bytes, const Lifetime& lifetime, bool whole) {
                                         add(IntervalKey{lifetime.location, lifetime.from, to}, bytes, whole);
                                     });
                }
            }
            return true;
        });
        heap_.forEachLive([&](uint64_t, uint64_t size, const Lifetime& lifetime) {
            add(IntervalKey{lifetime.location, lifetime.from, UsageInterval::kNeverFreed}, size, true);
        });
    }

    void result(TemporalSnapshot* snapshot)
    {
        LocationInterner locations;
        snapshot->intervals.reserve(intervals_.size());
        intervals_.forEach([&](const IntervalKey& key, const ByteCountTotals& totals) {
            snapshot->intervals.push_back(
                UsageInterval{locations.intern(key.location.key()), key.from, key.to, totals.bytes, totals.count});
        });
        snapshot->locations = locations.keys();
        std::sort(snapshot->intervals.begin(), snapshot->intervals.end(), [](const UsageInterval& a, const UsageInterval& b) {
            return std::tie(a.location, a.from, a.to) < std::tie(b.location, b.from, b.to);
        });
    }

  private:
    struct Lifetime
    {
        PackedLocation location;
        uint32_t from = 0;
    };

    // The first slice whose moment comes at or after heap event `event` (events only grow).
    uint32_t sliceAt(uint64_t event)
    {
        while (cursor_ < moments_.size() && moments_[cursor_] < event) {
            ++cursor_;
        }
        return static_cast<uint32_t>(cursor_);
    }

    void add(const IntervalKey& key, uint64_t bytes, bool whole)
    {
        // Lifetimes that end before any moment sees them (from == to), or start after the last
        // moment, are in no slice at all.
        if (key.from >= moments_.size() || key.from >= key.to) {
            return;
        }
        ByteCountTotals& totals = intervals_[key];
        totals.bytes += bytes;
        totals.count += whole ? 1 : 0;
    }

    const std::vector<uint64_t>& moments_;
    bool split_threads_;
    size_t cursor_ = 0;
    HeapTracker<Lifetime> heap_;
    FlatCounterMap<IntervalKey, IntervalKeyHash> intervals_;
};

}  // namespace

AnalysedTemporalCapture analyseCaptureOverTime(const std::string& path, const SnapshotOptions& options, size_t max_slices)
{
    if (options.kind != ReportKind::Peak && options.kind != ReportKind::Leaks) {
        throw std::invalid_argument("a temporal analysis is of the peak or of the leaks");
    }
    AnalysedTemporalCapture result;
    result.capture = std::make_unique<CaptureReader>(path);
    result.capture->requireAllocationRecords("a --temporal flame graph");
    SlicedTimeline timeline;
    groupSlices(readFineSlices(*result.capture, &timeline), options.kind, max_slices, &timeline);

    CaptureReader replay(path);
    IntervalCollector intervals(timeline.moments, options.split_threads);
    intervals.replay(replay);

    TemporalSnapshot& snapshot = result.snapshot;
    snapshot.kind = options.kind;
    snapshot.slices = std::move(timeline.slices);
    snapshot.peak_bytes = timeline.peak_bytes;
    snapshot.total_allocations = timeline.total_allocations;
    snapshot.total_bytes = timeline.total_bytes;
    intervals.result(&snapshot);
    return result;
}

std::vector<LocationUsage> usageInRange(const TemporalSnapshot& snapshot, uint32_t first, uint32_t last)
{
    std::vector<LocationUsage> usage(snapshot.locations.size());
    for (size_t i = 0; i < usage.size(); ++i) {
        usage[i].key = snapshot.locations[i];
    }
    if (snapshot.slices.empty() || first > last) {
        return {};
    }
    last = std::min<uint32_t>(last, static_cast<uint32_t>(snapshot.slices.size() - 1));
    uint32_t chosen = first;  // Peak: the highest slice of the range, the latest on a tie
    for (uint32_t s = first; s <= last; ++s) {
        if (snapshot.slices[s].heap_at_moment >= snapshot.slices[chosen].heap_at_moment) {
            chosen = s;
        }
    }
    for (const UsageInterval& interval : snapshot.intervals) {
        const bool included = snapshot.kind == ReportKind::Peak
                                  ? interval.from <= chosen && chosen < interval.to
                                  : first <= interval.from && interval.from <= last && interval.to > last;
        if (included) {
            usage[interval.location].bytes += interval.bytes;
            usage[interval.location].count += interval.count;
        }
    }
    std::erase_if(usage, [](const LocationUsage& u) { return u.bytes == 0 && u.count == 0; });
    return usage;
}

}  // namespace memray::reader
