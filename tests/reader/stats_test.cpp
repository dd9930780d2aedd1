// Stats on a hand-built capture with every number worked out by hand, and on synthetic
// captures against the generator's own accounting and an independent naive model.
#include "memray/reader/stats.h"

#include "memray/reader/hybrid_stack.h"
#include "memray/reader/native_symbolizer.h"

#include "capture_fixture.h"
#include "synthetic_capture.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

namespace memray::reader {
namespace {

using format::Allocator;
using format::Deallocator;
using synth::CaptureBuilder;
using testing::CaptureFile;
using testing::defineStack;

constexpr uint64_t kMap = 0x7f0000000000;

// The capture, step by step (heap after each event):
//   malloc  0x1000 1000  big     1000
//   malloc  0x2000   10  small   1010
//   malloc  0x3000   10  small   1020
//   calloc  0x4000  100  helper  1120
//   free    0x1000                120
//   free    0xdead (unknown)      120
//   free    0x2000                110   } realloc of 0x2000
//   realloc 0x5000  500  small    610   }
//   mmap    kMap   8192  (none)  8802   peak
//   munmap  kMap+4096 4096       4706
//   pymalloc_malloc 0x6000 4096 big  8802   peak again: the tie goes to this later point
//   pymalloc_free 0x6000         4706
void buildKnownCapture(CaptureBuilder& b)
{
    b.threadStart(1, testing::kTestPid);
    b.switchTo(1);
    const uint64_t big = defineStack(b, "alloc_big", "/app/big.py", 10);
    const uint64_t small = defineStack(b, "alloc_small", "/opt/venv/lib/python3.11/site-packages/numpy/core/numeric.py", 20);
    const uint64_t helper = defineStack(b, "helper", "/usr/lib/python3.11/json/decoder.py", 30, big);
    b.allocate(Allocator::Malloc, 0x1000, 1000, big);
    b.allocate(Allocator::Malloc, 0x2000, 10, small);
    b.allocate(Allocator::Malloc, 0x3000, 10, small);
    b.allocate(Allocator::Calloc, 0x4000, 100, helper);
    b.deallocate(Deallocator::Free, 0x1000);
    b.deallocate(Deallocator::Free, 0xdead);
    b.deallocate(Deallocator::Free, 0x2000);
    b.allocate(Allocator::Realloc, 0x5000, 500, small);
    b.allocate(Allocator::Mmap, kMap, 8192, 0);
    b.deallocate(Deallocator::Munmap, kMap + 4096, 4096);
    b.allocate(Allocator::PymallocMalloc, 0x6000, 4096, big);
    b.deallocate(Deallocator::PymallocFree, 0x6000);
    b.trailer(1000);
}

std::vector<std::pair<std::string, uint64_t>> namesAndBytes(const std::vector<AllocationTotal>& totals)
{
    std::vector<std::pair<std::string, uint64_t>> out;
    for (const auto& total : totals) {
        out.emplace_back(total.name, total.bytes);
    }
    return out;
}

std::vector<std::pair<std::string, uint64_t>> namesAndCounts(const std::vector<AllocationTotal>& totals)
{
    std::vector<std::pair<std::string, uint64_t>> out;
    for (const auto& total : totals) {
        out.emplace_back(total.name, total.count);
    }
    return out;
}

TEST(Stats, KnownCaptureTotalsAndPeak)
{
    CaptureFile capture(buildKnownCapture);
    CaptureReader reader(capture.path());
    StatsAggregator aggregator(reader);
    Record record;
    while (reader.next(record)) {
        aggregator.add(record);
    }
    const CaptureStats stats = aggregator.result(10);
    EXPECT_EQ(stats.total_allocations, 7u);
    EXPECT_EQ(stats.total_bytes, 1000u + 10 + 10 + 100 + 500 + 8192 + 4096);
    EXPECT_EQ(stats.peak_bytes, 8802u);
    EXPECT_EQ(aggregator.heap().peakEvents(), 11u) << "the later of the two equal peaks";
    EXPECT_EQ(aggregator.heap().currentBytes(), 4706u);
    EXPECT_EQ(stats.min_size, 10u);
    EXPECT_EQ(stats.max_size, 8192u);
}

TEST(Stats, KnownCaptureAllocatorsLocationsAndModules)
{
    CaptureFile capture(buildKnownCapture);
    CaptureReader reader(capture.path());
    const CaptureStats stats = computeStats(reader, 10);

    std::vector<std::pair<Allocator, uint64_t>> allocators;
    for (const auto& entry : stats.allocators) {
        allocators.emplace_back(entry.allocator, entry.count);
    }
    EXPECT_EQ(allocators, (std::vector<std::pair<Allocator, uint64_t>>{{Allocator::Malloc, 3},
                                                                        {Allocator::Calloc, 1},
                                                                        {Allocator::Realloc, 1},
                                                                        {Allocator::Mmap, 1},
                                                                        {Allocator::PymallocMalloc, 1}}));

    const std::string big = "alloc_big:/app/big.py:10";
    const std::string small = "alloc_small:/opt/venv/lib/python3.11/site-packages/numpy/core/numeric.py:20";
    const std::string helper = "helper:/usr/lib/python3.11/json/decoder.py:30";
    using Pairs = std::vector<std::pair<std::string, uint64_t>>;
    EXPECT_EQ(namesAndBytes(stats.top_locations_by_size),
              (Pairs{{"<unknown>", 8192}, {big, 5096}, {small, 520}, {helper, 100}}));
    // Equal counts fall back to bytes: <unknown> (8192) before helper (100).
    EXPECT_EQ(namesAndCounts(stats.top_locations_by_count), (Pairs{{small, 3}, {big, 2}, {"<unknown>", 1}, {helper, 1}}));
    EXPECT_EQ(namesAndBytes(stats.top_modules_by_size),
              (Pairs{{"<unknown>", 8192}, {"big", 5096}, {"numpy", 520}, {"json.decoder", 100}}));
    EXPECT_EQ(namesAndCounts(stats.top_modules_by_count),
              (Pairs{{"numpy", 3}, {"big", 2}, {"<unknown>", 1}, {"json.decoder", 1}}));

    CaptureReader again(capture.path());
    const CaptureStats top2 = computeStats(again, 2);
    EXPECT_EQ(namesAndBytes(top2.top_locations_by_size), (Pairs{{"<unknown>", 8192}, {big, 5096}}));
    EXPECT_EQ(top2.top_modules_by_count.size(), 2u);
}

TEST(Stats, KnownCaptureHistogram)
{
    CaptureFile capture(buildKnownCapture);
    CaptureReader reader(capture.path());
    const CaptureStats stats = computeStats(reader, 5);
    // Sizes 10 10 100 500 1000 4096 8192 in ten log-scale bins from 10 to 8192 (edges 20, 39,
    // 75, 147, 287, 560, 1095, 2142, 4189).
    std::vector<uint64_t> counts;
    for (const SizeBin& bin : stats.histogram) {
        counts.push_back(bin.count);
    }
    EXPECT_EQ(counts, (std::vector<uint64_t>{2, 0, 0, 1, 0, 1, 1, 0, 1, 1}));
    ASSERT_EQ(stats.histogram.size(), 10u);
    EXPECT_EQ(stats.histogram.front().min_bytes, 10u);
    EXPECT_EQ(stats.histogram[0].max_bytes, 19u);
    EXPECT_EQ(stats.histogram[1].min_bytes, 20u);
    EXPECT_EQ(stats.histogram.back().max_bytes, 8192u);
    for (size_t i = 1; i < stats.histogram.size(); ++i) {
        EXPECT_EQ(stats.histogram[i].min_bytes, stats.histogram[i - 1].max_bytes + 1) << "bins are contiguous";
    }
}

TEST(Stats, EmptyCapture)
{
    CaptureFile capture([](CaptureBuilder& b) { b.trailer(0); });
    CaptureReader reader(capture.path());
    const CaptureStats stats = computeStats(reader, 5);
    EXPECT_EQ(stats.total_allocations, 0u);
    EXPECT_EQ(stats.peak_bytes, 0u);
    EXPECT_TRUE(stats.histogram.empty());
    EXPECT_TRUE(stats.allocators.empty());
    EXPECT_TRUE(stats.top_locations_by_size.empty());
}

TEST(Stats, CorruptCaptureThrows)
{
    std::string bytes = testing::captureBytes([](CaptureBuilder& b) {
        b.switchTo(1);
        b.allocate(Allocator::Malloc, 0x10, 1, 0);
        const uint8_t bad = 0x7e;
        b.raw(&bad, 1);
    });
    testing::TempDir dir;
    testing::writeBytes(dir.file("c.bin"), bytes);
    CaptureReader reader(dir.file("c.bin"));
    EXPECT_THROW(computeStats(reader, 5), CaptureError);
}

// An independent, deliberately naive replay: std::map for blocks, a set of pages for mappings,
// and location names built from stackFrames().
struct NaiveModel
{
    std::map<uint64_t, uint64_t> blocks;
    std::set<uint64_t> pages;
    uint64_t peak = 0;
    uint64_t allocations = 0;
    uint64_t bytes = 0;
    std::map<std::string, uint64_t> bytes_by_location;

    uint64_t current() const
    {
        uint64_t total = pages.size() * 4096;
        for (const auto& [address, size] : blocks) {
            total += size;
        }
        return total;
    }
};

TEST(Stats, SyntheticCapturesMatchTheGeneratorAndANaiveModel)
{
    for (uint64_t seed : {1, 2, 3}) {
        synth::SynthOptions options;
        options.allocations = 4000;
        options.stacks = 200;
        options.threads = 3;
        options.seed = seed;
        options.max_live = 300;
        options.chunk_bytes = 2048;
        options.native_traces = seed == 2;
        std::string bytes;
        const synth::SynthResult expected = synth::generateCapture(options, CaptureBuilder::toString(&bytes));
        testing::TempDir dir;
        testing::writeBytes(dir.file("s.bin"), bytes);

        CaptureReader reader(dir.file("s.bin"));
        StatsAggregator aggregator(reader);
        NaiveModel naive;
        // A native capture's location is the innermost hybrid frame, resolved per record here.
        NativeSymbolizer symbolizer(reader);
        HybridStackBuilder hybrid(reader, symbolizer);
        Record record;
        while (reader.next(record)) {
            aggregator.add(record);
            if (record.kind == RecordKind::Allocation) {
                ++naive.allocations;
                naive.bytes += record.size;
                const auto frames = reader.stackFrames(record.stack_id);
                std::string location = frames.empty() ? "<unknown>"
                                                      : std::string(frames[0].function) + ":" + std::string(frames[0].file)
                                                                + ":" + std::to_string(frames[0].line);
                if (record.native_stack_id != 0) {
                    const std::vector<HybridFrame> merged = hybrid.build(record.stack_id, record.native_stack_id);
                    const HybridFrame& innermost = merged.back();
                    location = (innermost.native ? "[native] " : "") + std::string(innermost.function);
                    if (!innermost.file.empty()) {
                        location += ":" + std::string(innermost.file) + ":" + std::to_string(innermost.line);
                    }
                }
                naive.bytes_by_location[location] += record.size;
                if (record.allocator == Allocator::Mmap) {
                    for (uint64_t page = record.address / 4096; page < (record.address + record.size) / 4096; ++page) {
                        naive.pages.insert(page);
                    }
                } else {
                    naive.blocks[record.address] = record.size;
                }
            } else if (record.kind == RecordKind::Deallocation) {
                if (record.deallocator == Deallocator::Munmap) {
                    for (uint64_t page = record.address / 4096; page < (record.address + record.size) / 4096; ++page) {
                        naive.pages.erase(page);
                    }
                } else {
                    naive.blocks.erase(record.address);
                }
            }
            naive.peak = std::max(naive.peak, naive.current());
        }
        ASSERT_EQ(reader.endState(), EndState::Complete) << reader.error();
        const CaptureStats stats = aggregator.result(1000000);

        EXPECT_EQ(stats.total_allocations, expected.allocation_records) << "seed " << seed;
        EXPECT_EQ(stats.total_bytes, expected.total_bytes) << "seed " << seed;
        EXPECT_EQ(stats.peak_bytes, expected.peak_bytes) << "seed " << seed;
        EXPECT_EQ(aggregator.heap().currentBytes(), expected.final_bytes) << "seed " << seed;
        EXPECT_EQ(stats.peak_bytes, naive.peak) << "seed " << seed;
        EXPECT_EQ(stats.total_allocations, naive.allocations);
        EXPECT_GT(expected.munmaps, 0u);
        EXPECT_GT(expected.reallocs, 0u);

        std::map<std::string, uint64_t> by_location;
        for (const auto& total : stats.top_locations_by_size) {
            by_location[total.name] = total.bytes;
        }
        EXPECT_EQ(by_location, naive.bytes_by_location) << "seed " << seed;
        if (options.native_traces) {
            // The synthetic native frames are in no real object: they are located as object+offset.
            EXPECT_TRUE(std::any_of(by_location.begin(), by_location.end(),
                                    [](const auto& entry) { return entry.first.rfind("[native] ", 0) == 0; }))
                    << "seed " << seed;
        }

        uint64_t histogram_total = 0;
        for (const SizeBin& bin : stats.histogram) {
            histogram_total += bin.count;
        }
        EXPECT_EQ(histogram_total, stats.total_allocations);
    }
}

// computeStats streams its own compact events between two threads, the native stack ids
// counted on the decoding thread (or on one thread, pinned to one CPU); the record-by-record
// aggregator sees whole records. All must give the same statistics, on captures of many
// batches, with and without native stacks.
TEST(Stats, StreamedStatsEqualRecordByRecordStats)
{
    for (const bool native : {false, true}) {
        synth::SynthOptions options;
        options.allocations = 30000;  // several batches of events
        options.stacks = 500;
        options.seed = 7;
        options.max_live = 2000;
        options.native_traces = native;
        std::string bytes;
        synth::generateCapture(options, CaptureBuilder::toString(&bytes));
        testing::TempDir dir;
        testing::writeBytes(dir.file("s.bin"), bytes);

        CaptureReader whole_records(dir.file("s.bin"));
        StatsAggregator aggregator(whole_records);
        Record record;
        while (whole_records.next(record)) {
            aggregator.add(record);
        }
        const CaptureStats expected = aggregator.result(1000000);

        for (const bool one_cpu : {false, true}) {
            SCOPED_TRACE(std::string(native ? "native" : "python only") + (one_cpu ? ", one CPU" : ""));
            std::optional<testing::PinnedToOneCpu> pinned;
            if (one_cpu) {
                pinned.emplace();
            }
            CaptureReader streamed_reader(dir.file("s.bin"));
            const CaptureStats streamed = computeStats(streamed_reader, 1000000);
            EXPECT_EQ(streamed.total_allocations, expected.total_allocations);
            EXPECT_EQ(streamed.total_bytes, expected.total_bytes);
            EXPECT_EQ(streamed.peak_bytes, expected.peak_bytes);
            EXPECT_EQ(streamed.min_size, expected.min_size);
            EXPECT_EQ(streamed.max_size, expected.max_size);
            ASSERT_EQ(streamed.histogram.size(), expected.histogram.size());
            for (size_t i = 0; i < expected.histogram.size(); ++i) {
                EXPECT_EQ(streamed.histogram[i].min_bytes, expected.histogram[i].min_bytes);
                EXPECT_EQ(streamed.histogram[i].count, expected.histogram[i].count);
            }
            ASSERT_EQ(streamed.allocators.size(), expected.allocators.size());
            for (size_t i = 0; i < expected.allocators.size(); ++i) {
                EXPECT_EQ(streamed.allocators[i].allocator, expected.allocators[i].allocator);
                EXPECT_EQ(streamed.allocators[i].count, expected.allocators[i].count);
            }
            EXPECT_EQ(namesAndBytes(streamed.top_locations_by_size), namesAndBytes(expected.top_locations_by_size));
            EXPECT_EQ(namesAndCounts(streamed.top_locations_by_count), namesAndCounts(expected.top_locations_by_count));
            EXPECT_EQ(namesAndBytes(streamed.top_modules_by_size), namesAndBytes(expected.top_modules_by_size));
            EXPECT_EQ(namesAndCounts(streamed.top_modules_by_count), namesAndCounts(expected.top_modules_by_count));
            if (native) {
                EXPECT_TRUE(std::any_of(streamed.top_locations_by_size.begin(), streamed.top_locations_by_size.end(),
                                        [](const AllocationTotal& total) { return total.name.rfind("[native] ", 0) == 0; }));
            }
        }
    }
}

TEST(Stats, SyntheticGenerationIsDeterministic)
{
    synth::SynthOptions options;
    options.allocations = 3000;
    options.seed = 42;
    std::string first, second;
    synth::generateCapture(options, CaptureBuilder::toString(&first));
    synth::generateCapture(options, CaptureBuilder::toString(&second));
    EXPECT_EQ(first, second);
    options.seed = 43;
    std::string other;
    synth::generateCapture(options, CaptureBuilder::toString(&other));
    EXPECT_NE(first, other);
}

}  // namespace
}  // namespace memray::reader
