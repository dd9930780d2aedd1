#include "memray/reader/stats.h"

#include "memray/reader/call_tree.h"
#include "memray/reader/hybrid_stack.h"
#include "memray/reader/module_name.h"
#include "memray/reader/native_symbolizer.h"

#include "heap_event_stream.h"

#include <algorithm>
#include <exception>
#include <thread>
#include <unordered_map>

namespace memray::reader {

namespace {

// "function:file:line", into `name` (a buffer reused across calls).
void setLocationName(std::string& name, const PythonFrame& frame)
{
    name.assign(frame.function).append(":").append(frame.file).append(":").append(std::to_string(frame.line));
}

}  // namespace

// Totals by name (a location or a module). Tens of thousands of names come through here, so a
// lookup takes a view (callers reuse one buffer) and only a new name is copied; entries are
// ranked in place and only the top ones become AllocationTotals.
class StatsAggregator::NamedTotals
{
  public:
    void add(std::string_view name, uint64_t bytes, uint64_t count)
    {
        auto it = index_.find(name);
        if (it == index_.end()) {
            it = index_.emplace(std::string(name), entries_.size()).first;
            entries_.push_back(Entry{&it->first, 0, 0});
        }
        entries_[it->second].bytes += bytes;
        entries_[it->second].count += count;
    }

    // The `top_n` largest by bytes (by_bytes) or by count, then by the other measure, then by
    // name, so equal totals come out in a stable order.
    std::vector<AllocationTotal> top(size_t top_n, bool by_bytes) const
    {
        std::vector<const Entry*> ranked;
        ranked.reserve(entries_.size());
        for (const Entry& entry : entries_) {
            ranked.push_back(&entry);
        }
        auto better = [&](const Entry* a, const Entry* b) {
            const uint64_t key_a = by_bytes ? a->bytes : a->count;
            const uint64_t key_b = by_bytes ? b->bytes : b->count;
            if (key_a != key_b) {
                return key_a > key_b;
            }
            if (a->bytes != b->bytes) {
                return a->bytes > b->bytes;
            }
            if (a->count != b->count) {
                return a->count > b->count;
            }
            return *a->name < *b->name;
        };
        const size_t n = std::min(top_n, ranked.size());
        std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(n), ranked.end(), better);
        std::vector<AllocationTotal> result;
        result.reserve(n);
        for (size_t i = 0; i < n; ++i) {
            result.push_back(AllocationTotal{*ranked[i]->name, ranked[i]->bytes, ranked[i]->count});
        }
        return result;
    }

  private:
    struct Entry
    {
        const std::string* name;  // the key in index_ (node-based: its address is stable)
        uint64_t bytes;
        uint64_t count;
    };
    struct Hash
    {
        using is_transparent = void;
        size_t operator()(std::string_view name) const { return std::hash<std::string_view>()(name); }
    };
    std::unordered_map<std::string, size_t, Hash, std::equal_to<>> index_;
    std::vector<Entry> entries_;
};

StatsAggregator::StatsAggregator(const CaptureReader& reader)
: reader_(reader)
{
    by_stack_.resize(1);
}

CaptureStats StatsAggregator::result(size_t top_n) const
{
    CaptureStats stats;
    stats.total_allocations = total_allocations_;
    stats.total_bytes = total_bytes_;
    stats.peak_bytes = heap_.peakBytes();
    stats.min_size = sizes_.minSize();
    stats.max_size = sizes_.maxSize();
    stats.histogram = sizes_.bins();

    for (uint8_t id = 1; id <= format::kMaxAllocator; ++id) {
        if (allocator_counts_[id]) {
            stats.allocators.push_back(AllocatorCount{static_cast<format::Allocator>(id), allocator_counts_[id]});
        }
    }
    std::stable_sort(stats.allocators.begin(), stats.allocators.end(), [](const auto& a, const auto& b) {
        return a.count > b.count;
    });

    // Frames with the same name, file and line (two code objects of one function, say) are
    // one location; files are one module whatever code objects they hold.
    NamedTotals locations;
    NamedTotals modules;
    // Allocations with a native stack are located by hybrid frames instead (--native only).
    const std::vector<Totals>* located_by_stack = &by_stack_;
    std::vector<Totals> python_by_stack;
    if (!by_hybrid_stack_.empty()) {
        python_by_stack = by_stack_;
        addHybridLocations(locations, python_by_stack);
        located_by_stack = &python_by_stack;
    }
    // Per innermost Python frame: every allocation for modules, those without a native stack
    // for locations.
    std::vector<Totals> by_frame(reader_.frameCount() + 1);
    std::vector<Totals> located_by_frame(reader_.frameCount() + 1);
    for (uint64_t stack_id = 0; stack_id < by_stack_.size(); ++stack_id) {
        const uint64_t frame_id = reader_.innermostFrameId(stack_id);
        by_frame[frame_id].bytes += by_stack_[stack_id].bytes;
        by_frame[frame_id].count += by_stack_[stack_id].count;
        located_by_frame[frame_id].bytes += (*located_by_stack)[stack_id].bytes;
        located_by_frame[frame_id].count += (*located_by_stack)[stack_id].count;
    }
    std::unordered_map<uint64_t, std::string> module_by_code;
    std::string location;
    for (uint64_t frame_id = 0; frame_id < by_frame.size(); ++frame_id) {
        if (by_frame[frame_id].count == 0) {
            continue;
        }
        std::string_view module = kUnknownLocation;
        location = kUnknownLocation;
        if (frame_id != 0) {
            const PythonFrame frame = reader_.pythonFrame(frame_id);
            setLocationName(location, frame);
            const uint64_t code_id = reader_.frame(frame_id)->code_id;
            auto [cached, inserted] = module_by_code.try_emplace(code_id);
            if (inserted) {
                cached->second = moduleNameForFile(frame.file);
            }
            module = cached->second;
        }
        if (located_by_frame[frame_id].count != 0) {
            locations.add(location, located_by_frame[frame_id].bytes, located_by_frame[frame_id].count);
        }
        modules.add(module, by_frame[frame_id].bytes, by_frame[frame_id].count);
    }
    stats.top_locations_by_size = locations.top(top_n, true);
    stats.top_locations_by_count = locations.top(top_n, false);
    stats.top_modules_by_size = modules.top(top_n, true);
    stats.top_modules_by_count = modules.top(top_n, false);
    return stats;
}

void StatsAggregator::addHybridLocations(NamedTotals& locations, std::vector<Totals>& python_by_stack) const
{
    NativeSymbolizer symbolizer(reader_);
    HybridStackBuilder hybrid(reader_, symbolizer);
    for (const auto& [key, totals] : by_hybrid_stack_) {
        python_by_stack[key.stack_id].bytes -= totals.bytes;
        python_by_stack[key.stack_id].count -= totals.count;
        const std::vector<HybridFrame> frames = hybrid.build(key.stack_id, key.native_stack_id);
        std::string name(kUnknownLocation);
        if (!frames.empty()) {
            const HybridFrame& innermost = frames.back();
            name.clear();
            if (innermost.native) {
                name.append(kNativeFrameMarker).append(" ");
            }
            name.append(innermost.function);
            if (!innermost.file.empty()) {  // no debug info: the symbol or object+offset alone
                name.append(":").append(innermost.file).append(":").append(std::to_string(innermost.line));
            }
        }
        locations.add(name, totals.bytes, totals.count);
    }
}

namespace {

constexpr size_t kPrefetchDistance = 16;

// What stats needs of a heap record: 24 bytes where a HeapEvent takes 40, so the decoding
// thread writes, and this one reads, 40% fewer cache lines per event. The native stack id is
// not needed here (the decoding thread counts it, countHybrid), nor the thread, and records
// that are not allocations or deallocations are left out.
struct StatsEvent
{
    static constexpr uint8_t kDeallocation = 0x10;

    uint64_t address;
    uint64_t size;  // Allocation, Munmap
    // 56 bits hold any stack id: the reader keeps a 24-byte entry per stack, and 2^56 of
    // them would not fit in any x86-64 address space.
    uint64_t stack_id : 56;
    uint64_t code : 8;  // an allocation's format::Allocator, or kDeallocation | format::Deallocator

    bool allocation() const { return code < kDeallocation; }
};
static_assert(sizeof(StatsEvent) == 24);
static_assert(format::kMaxAllocator < StatsEvent::kDeallocation);

// On the decoding thread.
bool toStatsEvent(StatsAggregator& aggregator, const Record& record, StatsEvent* event)
{
    const uint64_t address = freshField(record.address);
    const uint64_t size = freshField(record.size);
    if (record.kind == RecordKind::Allocation) {
        const uint64_t stack_id = freshField(record.stack_id);
        aggregator.countHybrid(size, stack_id, freshField(record.native_stack_id));
        *event = StatsEvent{address, size, stack_id, static_cast<uint8_t>(record.allocator)};
        return true;
    }
    if (record.kind == RecordKind::Deallocation) {
        *event = StatsEvent{address, size, 0,
                            static_cast<uint8_t>(StatsEvent::kDeallocation | static_cast<uint8_t>(record.deallocator))};
        return true;
    }
    return false;
}

// Each event's totals, heap change and size, in one pass over the batch.
void apply(StatsAggregator& aggregator, const StatsEvent* events, size_t count)
{
    // Every event loads as an allocation would: allocations and deallocations come in no order
    // a branch predictor could learn, and a deallocation's extra prefetches (of the histogram
    // slot of its size, 0 unless it is a munmap, and of stack 0's totals, which stay cached)
    // cost less than the mispredicted branch they replaced.
    auto prefetch = [&](const StatsEvent& event) {
        aggregator.prefetchTrack(event.address, event.size);
        aggregator.prefetchCount(event.stack_id);
    };
    for (size_t i = 0; i < std::min(count, kPrefetchDistance); ++i) {
        prefetch(events[i]);
    }
    for (size_t i = 0; i < count; ++i) {
        prefetchEventAhead(events, i, count);
        if (i + kPrefetchDistance < count) {
            prefetch(events[i + kPrefetchDistance]);
        }
        const StatsEvent& event = events[i];
        const uint8_t code = event.code;
        aggregator.countIfAllocation(event.allocation(), static_cast<format::Allocator>(code), event.size,
                                     event.stack_id);
        if (event.allocation()) {
            aggregator.trackAllocation(static_cast<format::Allocator>(code), event.address, event.size);
        } else {
            aggregator.addDeallocation(static_cast<format::Deallocator>(code & 0x0f), event.address, event.size);
        }
    }
}

}  // namespace

CaptureStats computeStats(CaptureReader& reader, size_t top_n)
{
    reader.requireAllocationRecords("stats");
    StatsAggregator aggregator(reader);
    streamEvents<StatsEvent>(
            reader, [&](const Record& record, StatsEvent* event) { return toStatsEvent(aggregator, record, event); },
            [&](const StatsEvent* events, size_t n) {
                apply(aggregator, events, n);
                return true;
            },
            [](StatsEvent*, size_t) {});
    return aggregator.result(top_n);
}

}  // namespace memray::reader
