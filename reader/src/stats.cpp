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

std::string locationName(const PythonFrame& frame)
{
    std::string name;
    name.reserve(frame.function.size() + frame.file.size() + 24);
    name.append(frame.function).append(":").append(frame.file).append(":").append(std::to_string(frame.line));
    return name;
}

// The `top_n` largest by `key` (then by the other measure, then by name, so equal totals come
// out in a stable order).
template <typename Key>
std::vector<AllocationTotal> topEntries(std::vector<AllocationTotal> entries, size_t top_n, Key key)
{
    auto better = [&](const AllocationTotal& a, const AllocationTotal& b) {
        if (key(a) != key(b)) {
            return key(a) > key(b);
        }
        if (a.bytes != b.bytes) {
            return a.bytes > b.bytes;
        }
        if (a.count != b.count) {
            return a.count > b.count;
        }
        return a.name < b.name;
    };
    const size_t n = std::min(top_n, entries.size());
    std::partial_sort(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(n), entries.end(), better);
    entries.resize(n);
    return entries;
}

std::vector<AllocationTotal> merged(const std::unordered_map<std::string, AllocationTotal>& by_name)
{
    std::vector<AllocationTotal> entries;
    entries.reserve(by_name.size());
    for (const auto& [name, total] : by_name) {
        entries.push_back(total);
    }
    return entries;
}

}  // namespace

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
    std::unordered_map<std::string, AllocationTotal> locations;
    std::unordered_map<std::string, AllocationTotal> modules;
    std::unordered_map<uint64_t, std::string> module_by_code;
    std::vector<Totals> python_by_stack = by_stack_;
    if (!by_hybrid_stack_.empty()) {
        addHybridLocations(locations, python_by_stack);
    }
    // Per innermost Python frame: every allocation for modules, those without a native stack
    // for locations.
    std::vector<Totals> by_frame(reader_.frameCount() + 1);
    std::vector<Totals> located_by_frame(reader_.frameCount() + 1);
    for (uint64_t stack_id = 0; stack_id < by_stack_.size(); ++stack_id) {
        const uint64_t frame_id = reader_.innermostFrameId(stack_id);
        by_frame[frame_id].bytes += by_stack_[stack_id].bytes;
        by_frame[frame_id].count += by_stack_[stack_id].count;
        located_by_frame[frame_id].bytes += python_by_stack[stack_id].bytes;
        located_by_frame[frame_id].count += python_by_stack[stack_id].count;
    }
    auto add = [](std::unordered_map<std::string, AllocationTotal>& table, const std::string& name, const Totals& totals) {
        AllocationTotal& total = table[name];
        total.name = name;
        total.bytes += totals.bytes;
        total.count += totals.count;
    };
    for (uint64_t frame_id = 0; frame_id < by_frame.size(); ++frame_id) {
        if (by_frame[frame_id].count == 0) {
            continue;
        }
        std::string location(kUnknownLocation);
        std::string module(kUnknownLocation);
        if (frame_id != 0) {
            const PythonFrame frame = reader_.pythonFrame(frame_id);
            location = locationName(frame);
            const uint64_t code_id = reader_.frame(frame_id)->code_id;
            auto [cached, inserted] = module_by_code.try_emplace(code_id);
            if (inserted) {
                cached->second = moduleNameForFile(frame.file);
            }
            module = cached->second;
        }
        if (located_by_frame[frame_id].count != 0) {
            add(locations, location, located_by_frame[frame_id]);
        }
        add(modules, module, by_frame[frame_id]);
    }
    const auto by_bytes = [](const AllocationTotal& total) { return total.bytes; };
    const auto by_count = [](const AllocationTotal& total) { return total.count; };
    std::vector<AllocationTotal> all_locations = merged(locations);
    std::vector<AllocationTotal> all_modules = merged(modules);
    stats.top_locations_by_size = topEntries(all_locations, top_n, by_bytes);
    stats.top_locations_by_count = topEntries(std::move(all_locations), top_n, by_count);
    stats.top_modules_by_size = topEntries(all_modules, top_n, by_bytes);
    stats.top_modules_by_count = topEntries(std::move(all_modules), top_n, by_count);
    return stats;
}

void StatsAggregator::addHybridLocations(std::unordered_map<std::string, AllocationTotal>& locations,
                                         std::vector<Totals>& python_by_stack) const
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
        AllocationTotal& total = locations[name];
        total.name = name;
        total.bytes += totals.bytes;
        total.count += totals.count;
    }
}

namespace {

constexpr size_t kPrefetchDistance = 16;

// The heap half of each event (on the consuming thread)...
void track(StatsAggregator& aggregator, const HeapEvent* events, size_t count)
{
    for (size_t i = 0; i < std::min(count, kPrefetchDistance); ++i) {
        aggregator.prefetchDeallocation(events[i].address);  // the heap slot of either kind
    }
    for (size_t i = 0; i < count; ++i) {
        if (i + kPrefetchDistance < count) {
            aggregator.prefetchDeallocation(events[i + kPrefetchDistance].address);
        }
        const HeapEvent& event = events[i];
        if (event.kind == HeapEvent::Kind::Allocation) {
            aggregator.trackAllocation(event.allocatorKind(), event.address, event.size);
        } else if (event.kind == HeapEvent::Kind::Deallocation) {
            aggregator.addDeallocation(event.deallocatorKind(), event.address, event.size);
        }
    }
}

// ...and the totals of each allocation (on the decoding thread, which has time to spare).
void count(StatsAggregator& aggregator, const HeapEvent* events, size_t count)
{
    for (size_t i = 0; i < count; ++i) {
        if (i + kPrefetchDistance < count && events[i + kPrefetchDistance].kind == HeapEvent::Kind::Allocation) {
            aggregator.prefetchCount(events[i + kPrefetchDistance].size, events[i + kPrefetchDistance].stack_id);
        }
        const HeapEvent& event = events[i];
        if (event.kind == HeapEvent::Kind::Allocation) {
            aggregator.countAllocation(event.allocatorKind(), event.size, event.stack_id, event.native_stack_id);
        }
    }
}

}  // namespace

CaptureStats computeStats(CaptureReader& reader, size_t top_n)
{
    reader.requireAllocationRecords("stats");
    StatsAggregator aggregator(reader);
    streamHeapEvents(
            reader,
            [&](const HeapEvent* events, size_t n) {
                track(aggregator, events, n);
                return true;
            },
            [&](const HeapEvent* events, size_t n) { count(aggregator, events, n); });
    return aggregator.result(top_n);
}

}  // namespace memray::reader
