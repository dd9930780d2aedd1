// Peak and leaks snapshots of aggregated captures (--aggregate) from hand-built checkpoints:
// only complete checkpoints count, a location record replaces the location's earlier state,
// figures at the peak follow the last checkpoint's peak event, threads merge or split, and
// the analyses that need every allocation refuse such a capture.
#include "capture_fixture.h"

#include "memray/reader/allocation_snapshot.h"
#include "memray/reader/stats.h"
#include "memray/reader/temporal_snapshot.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

namespace memray::reader {
namespace {

using format::AggregateLocation;
using format::AggregateTotals;
using format::Allocator;
using format::Deallocator;
using testing::CaptureFile;
using testing::defineStack;

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kAggregated = format::kOptionAggregated;
constexpr uint64_t kWithRecords = format::kOptionAggregated | format::kOptionAggregateWithRecords;

// (function of the innermost frame, thread) -> (bytes, count).
using Usage = std::map<std::pair<std::string, uint64_t>, std::pair<uint64_t, uint64_t>>;

Usage usageOf(const AnalysedCapture& analysed)
{
    Usage result;
    for (const LocationUsage& usage : analysed.snapshot.locations) {
        const auto frames = analysed.capture->stackFrames(usage.key.stack_id);
        auto& entry = result[{frames.empty() ? "<none>" : std::string(frames.front().function), usage.key.thread_id}];
        entry.first += usage.bytes;
        entry.second += usage.count;
    }
    return result;
}

AnalysedCapture analyse(const CaptureFile& file, ReportKind kind, bool split_threads = false,
                        SnapshotSource source = SnapshotSource::Auto)
{
    SnapshotOptions options;
    options.kind = kind;
    options.split_threads = split_threads;
    options.source = source;
    return analyseCapture(file.path(), options);
}

AggregateLocation location(uint64_t tid, uint64_t stack, uint64_t last_change, uint64_t bytes, uint64_t count,
                           uint64_t peak_bytes = 0, uint64_t peak_count = 0)
{
    AggregateLocation result;
    result.tid = tid;
    result.stack_id = stack;
    result.allocator = Allocator::Malloc;
    result.last_change_event = last_change;
    result.live_bytes = bytes;
    result.live_count = count;
    result.peak_bytes = peak_bytes;
    result.peak_count = peak_count;
    return result;
}

AggregateTotals totals(uint64_t events, uint64_t peak_events, uint64_t peak_bytes, uint64_t current_bytes,
                       uint64_t allocations, uint64_t allocated_bytes)
{
    return AggregateTotals{events, peak_events, peak_bytes, current_bytes, allocations, allocated_bytes};
}

// The stacks of aggregatedCapture: one frame each, in functions f, g and h.
struct Stacks
{
    uint64_t f = 0;
    uint64_t g = 0;
    uint64_t h = 0;
};

// An aggregated capture of thread 1 (and thread 2) with three stacks; build(b, stacks) writes
// the rest.
template <typename Build>
CaptureFile aggregatedCapture(Build build)
{
    return CaptureFile(
            [&](synth::CaptureBuilder& b) {
                b.threadStart(1, testing::kTestPid);
                b.threadStart(2, testing::kTestPid + 1);
                b.switchTo(1);
                Stacks stacks;
                stacks.f = defineStack(b, "f", "app.py", 3);
                stacks.g = defineStack(b, "g", "app.py", 9);
                stacks.h = defineStack(b, "h", "app.py", 15);
                build(b, stacks);
            },
            testing::testMetadata(kAggregated));
}

std::vector<uint64_t> heapOverTime(const AllocationSnapshot& snapshot)
{
    std::vector<uint64_t> heap;
    for (const MemoryPoint& point : snapshot.memory) {
        heap.push_back(point.heap);
    }
    return heap;
}

// The program of allocation_snapshot_test's tenThenFive, as the payload would write it with
// --aggregate (and, with `records`, MEMRAY_AGGREGATE_VERIFY=1): a() allocates 10 MiB and frees
// it, b() keeps 5 MiB, c() makes three small temporary blocks. Events: a+ a- b+ (c+ c-) x3.
CaptureFile tenThenFive(bool records)
{
    return CaptureFile(
            [records](synth::CaptureBuilder& b) {
                const auto [a, bb, c] = testing::startTenThenFive(b);
                b.aggregatedMemory(0, 1 * kMiB, 0);
                if (records) {
                    b.allocate(Allocator::Malloc, 0x1000000, 10 * kMiB, a);
                }
                b.aggregatedMemory(10, 12 * kMiB, 10 * kMiB);
                if (records) {
                    b.deallocate(Deallocator::Free, 0x1000000);
                    b.allocate(Allocator::Malloc, 0x2000000, 5 * kMiB, bb);
                }
                b.aggregatedMemory(20, 7 * kMiB, 5 * kMiB);
                if (records) {
                    for (uint64_t i = 0; i < 3; ++i) {
                        b.allocate(Allocator::Malloc, 0x3000000 + i * 64, 100, c);
                        b.deallocate(Deallocator::Free, 0x3000000 + i * 64);
                    }
                }
                b.aggregateBegin(totals(9, 1, 10 * kMiB, 5 * kMiB, 5, 15 * kMiB + 300));
                b.aggregateLocation(location(1, a, 2, 0, 0, 10 * kMiB, 1));
                b.aggregateLocation(location(1, bb, 3, 5 * kMiB, 1, 0, 0));
                b.aggregateLocation(location(1, c, 9, 0, 0, 0, 0));
                b.aggregateEnd();
                b.trailer(30000);
            },
            testing::testMetadata(records ? kWithRecords : kAggregated));
}

TEST(AggregatedSnapshot, ReaderReadsCheckpointsAndSaysTheCaptureIsAggregated)
{
    CaptureFile file = tenThenFive(false);
    CaptureReader reader(file.path());
    EXPECT_TRUE(reader.isAggregated());
    EXPECT_FALSE(reader.hasAllocationRecords());
    reader.skipToEnd();
    EXPECT_EQ(reader.endState(), EndState::Complete);
    EXPECT_EQ(reader.stackCount(), 4u);
    ASSERT_EQ(reader.memorySamples().size(), 3u);
    EXPECT_EQ(reader.memorySamples()[1].heap, 10 * kMiB);

    CaptureFile plain([](synth::CaptureBuilder& b) { b.trailer(1); });
    CaptureReader plain_reader(plain.path());
    EXPECT_FALSE(plain_reader.isAggregated());
    EXPECT_TRUE(plain_reader.hasAllocationRecords());
}

TEST(AggregatedSnapshot, PeakAndLeaksOfTheTenThenFiveProgram)
{
    CaptureFile file = tenThenFive(false);
    const AnalysedCapture peak = analyse(file, ReportKind::Peak);
    EXPECT_EQ(usageOf(peak), (Usage{{{"a", 0}, {10 * kMiB, 1}}}));
    EXPECT_EQ(peak.snapshot.bytes, 10 * kMiB);
    EXPECT_EQ(peak.snapshot.peak_bytes, 10 * kMiB);
    EXPECT_EQ(peak.snapshot.total_allocations, 5u);
    EXPECT_EQ(peak.snapshot.total_bytes, 15 * kMiB + 300);
    EXPECT_EQ(heapOverTime(peak.snapshot), (std::vector<uint64_t>{0, 10 * kMiB, 5 * kMiB}));
    EXPECT_EQ(peak.snapshot.memory.back().rss, 7 * kMiB);

    EXPECT_EQ(usageOf(analyse(file, ReportKind::Leaks)), (Usage{{{"b", 0}, {5 * kMiB, 1}}}));
}

// With the records too, both sources give the same snapshots (what memray-aggregate-check
// verifies on real runs), and Auto reads the checkpoints.
TEST(AggregatedSnapshot, RecordsAndCheckpointsAgreeWhenBothAreWritten)
{
    CaptureFile file = tenThenFive(true);
    for (ReportKind kind : {ReportKind::Peak, ReportKind::Leaks}) {
        const AnalysedCapture records = analyse(file, kind, false, SnapshotSource::Records);
        const AnalysedCapture checkpoints = analyse(file, kind, false, SnapshotSource::Checkpoints);
        EXPECT_EQ(usageOf(records), usageOf(checkpoints));
        EXPECT_EQ(records.snapshot.peak_bytes, checkpoints.snapshot.peak_bytes);
        EXPECT_EQ(records.snapshot.total_allocations, checkpoints.snapshot.total_allocations);
        EXPECT_EQ(records.snapshot.total_bytes, checkpoints.snapshot.total_bytes);
        EXPECT_EQ(heapOverTime(records.snapshot), heapOverTime(checkpoints.snapshot));
    }
    // Temporary allocations come from the records, which this capture has.
    EXPECT_EQ(usageOf(analyse(file, ReportKind::Temporary)), (Usage{{{"a", 0}, {10 * kMiB, 1}}, {{"c", 0}, {300, 3}}}));
    CaptureReader reader(file.path());
    EXPECT_EQ(computeStats(reader, 5).total_allocations, 5u);
}

TEST(AggregatedSnapshot, LastCompleteCheckpointWinsAndReplacesLocations)
{
    CaptureFile file = aggregatedCapture([](synth::CaptureBuilder& b, const Stacks& s) {
        b.aggregateBegin(totals(2, 2, 300, 300, 2, 300));
        b.aggregateLocation(location(1, s.f, 1, 100, 1));
        b.aggregateLocation(location(1, s.g, 2, 200, 1));
        b.aggregateEnd();
        // Only f changed: it grows to 1000 bytes in 3 blocks; g keeps what it had.
        b.aggregateBegin(totals(4, 4, 1200, 1200, 4, 1200));
        b.aggregateLocation(location(1, s.f, 4, 1000, 3));
        b.aggregateEnd();
        b.trailer(1000);
    });
    const AnalysedCapture leaks = analyse(file, ReportKind::Leaks);
    EXPECT_EQ(usageOf(leaks), (Usage{{{"f", 0}, {1000, 3}}, {{"g", 0}, {200, 1}}}));
    EXPECT_EQ(leaks.snapshot.total_allocations, 4u);
    EXPECT_EQ(leaks.snapshot.peak_bytes, 1200u);
    EXPECT_EQ(leaks.snapshot.locations.front().bytes, 1000u);  // largest first
}

TEST(AggregatedSnapshot, TornCheckpointIsIgnored)
{
    // The tracked process was killed while writing its second checkpoint: no End, no trailer.
    CaptureFile file = aggregatedCapture([](synth::CaptureBuilder& b, const Stacks& s) {
        b.aggregateBegin(totals(1, 1, 100, 100, 1, 100));
        b.aggregateLocation(location(1, s.f, 1, 100, 1));
        b.aggregateEnd();
        b.aggregatedMemory(5, kMiB, 100);
        b.aggregateBegin(totals(3, 3, 900, 900, 3, 900));
        b.aggregateLocation(location(1, s.f, 2, 0, 0));
        b.aggregateLocation(location(1, s.g, 3, 900, 2));
    });
    for (ReportKind kind : {ReportKind::Peak, ReportKind::Leaks}) {
        const AnalysedCapture analysed = analyse(file, kind);
        EXPECT_TRUE(analysed.capture->endedAbruptly());
        EXPECT_EQ(usageOf(analysed), (Usage{{{"f", 0}, {100, 1}}}));
        EXPECT_EQ(analysed.snapshot.peak_bytes, 100u);
        EXPECT_EQ(analysed.snapshot.total_allocations, 1u);
        EXPECT_EQ(analysed.snapshot.memory.size(), 1u);  // memory records count wherever they are
    }
}

// Cut anywhere (a killed process), a capture reads as exactly one of its checkpoints, never a
// mix of two, and a longer prefix never reads as an earlier one.
TEST(AggregatedSnapshot, EveryTruncationReadsAsOneWholeCheckpoint)
{
    const std::string bytes = testing::captureBytes(
            [](synth::CaptureBuilder& b) {
                b.threadStart(1, testing::kTestPid);
                b.switchTo(1);
                const uint64_t f = defineStack(b, "f", "app.py", 3);
                const uint64_t g = defineStack(b, "g", "app.py", 9);
                for (uint64_t k = 1; k <= 12; ++k) {
                    b.aggregatedMemory(k * 10, kMiB, 110 * k);
                    b.aggregateBegin(totals(2 * k, 2 * k, 110 * k, 110 * k, k, 110 * k));
                    b.aggregateLocation(location(1, f, 2 * k - 1, 100 * k, k));
                    b.aggregateLocation(location(1, g, 2 * k, 10 * k, k));
                    b.aggregateEnd();
                }
                b.trailer(1000);
            },
            testing::testMetadata(kAggregated), 128);
    testing::TempDir dir;
    const std::string path = dir.file("cut.bin");
    uint64_t previous = 0;
    size_t complete_reads = 0;
    for (size_t cut = 16; cut <= bytes.size(); ++cut) {
        testing::writeBytes(path, bytes.substr(0, cut));
        SCOPED_TRACE("cut at " + std::to_string(cut));
        std::unique_ptr<AnalysedCapture> analysed;
        try {
            analysed = std::make_unique<AnalysedCapture>(analyseCapture(path, SnapshotOptions{ReportKind::Leaks}));
        } catch (const CaptureError&) {
            continue;  // the header or metadata is cut
        }
        const uint64_t k = analysed->snapshot.total_allocations;
        EXPECT_GE(k, previous);
        previous = k;
        EXPECT_EQ(analysed->snapshot.peak_bytes, 110 * k);
        const Usage expected = k ? Usage{{{"f", 0}, {100 * k, k}}, {{"g", 0}, {10 * k, k}}} : Usage{};
        EXPECT_EQ(usageOf(*analysed), expected);
        complete_reads += analysed->capture->endState() == EndState::Complete;
    }
    EXPECT_EQ(previous, 12u);
    EXPECT_EQ(complete_reads, 1u);
}

TEST(AggregatedSnapshot, CaptureWithoutCompleteCheckpointIsEmpty)
{
    CaptureFile file = aggregatedCapture([](synth::CaptureBuilder& b, const Stacks& s) {
        b.aggregateBegin(totals(1, 1, 100, 100, 1, 100));
        b.aggregateLocation(location(1, s.f, 1, 100, 1));
    });
    const AnalysedCapture analysed = analyse(file, ReportKind::Peak);
    EXPECT_TRUE(analysed.snapshot.locations.empty());
    EXPECT_EQ(analysed.snapshot.peak_bytes, 0u);
}

TEST(AggregatedSnapshot, FiguresAtThePeakFollowTheLastCheckpointsPeakEvent)
{
    // Events: f+ 400 (1), g+ 600 (2, peak 1000), f- (3), g+ 100 (4), h+ 50 (5).
    // At the peak: f 400 (changed after it: saved figures), g 600 (changed after it: saved),
    // h 0 (created after it). At the end: g 700 in 2 blocks, h 50.
    CaptureFile file = aggregatedCapture([](synth::CaptureBuilder& b, const Stacks& s) {
        b.aggregateBegin(totals(5, 2, 1000, 750, 4, 1150));
        b.aggregateLocation(location(1, s.f, 3, 0, 0, 400, 1));
        b.aggregateLocation(location(1, s.g, 4, 700, 2, 600, 1));
        b.aggregateLocation(location(1, s.h, 5, 50, 1, 0, 0));
        // Thread 2's f last changed at the peak: its live figures are its figures at the peak
        // (whatever its "at peak" fields say).
        b.aggregateLocation(location(2, s.f, 2, 0, 0, 12345, 9));
        b.aggregateEnd();
        b.trailer(1000);
    });
    const AnalysedCapture peak = analyse(file, ReportKind::Peak);
    EXPECT_EQ(usageOf(peak), (Usage{{{"f", 0}, {400, 1}}, {{"g", 0}, {600, 1}}}));
    EXPECT_EQ(peak.snapshot.bytes, 1000u);
    EXPECT_EQ(usageOf(analyse(file, ReportKind::Leaks)), (Usage{{{"g", 0}, {700, 2}}, {{"h", 0}, {50, 1}}}));
}

TEST(AggregatedSnapshot, ThreadsAreMergedUnlessSplit)
{
    CaptureFile file = aggregatedCapture([](synth::CaptureBuilder& b, const Stacks& s) {
        AggregateLocation mmap_on_2 = location(2, s.f, 3, 8192, 1);
        mmap_on_2.allocator = Allocator::Mmap;
        b.aggregateBegin(totals(3, 3, 8192 + 300, 8192 + 300, 3, 8192 + 300));
        b.aggregateLocation(location(1, s.f, 1, 100, 1));
        b.aggregateLocation(location(2, s.f, 2, 200, 1));
        b.aggregateLocation(mmap_on_2);
        b.aggregateEnd();
        b.trailer(1000);
    });
    const AnalysedCapture merged = analyse(file, ReportKind::Peak);
    ASSERT_EQ(merged.snapshot.locations.size(), 2u);  // malloc and mmap stay apart
    EXPECT_EQ(usageOf(merged), (Usage{{{"f", 0}, {8192 + 300, 3}}}));
    EXPECT_EQ(merged.snapshot.locations[1].bytes, 300u);
    EXPECT_EQ(merged.snapshot.locations[1].count, 2u);

    const AnalysedCapture split = analyse(file, ReportKind::Peak, true);
    EXPECT_EQ(usageOf(split), (Usage{{{"f", 1}, {100, 1}}, {{"f", 2}, {8192 + 200, 2}}}));
    EXPECT_EQ(split.snapshot.locations.size(), 3u);
}

void expectRefusal(const std::function<void()>& analysis, const std::string& what)
{
    try {
        analysis();
        ADD_FAILURE() << "no refusal for " << what;
    } catch (const AggregatedCaptureError& error) {
        const std::string message = error.what();
        EXPECT_NE(message.find("was captured with --aggregate, which keeps only what peak and leaks reports need; "
                               + what + " needs every allocation"),
                  std::string::npos)
                << message;
        EXPECT_EQ(message.find('\n'), std::string::npos);
    }
}

TEST(AggregatedSnapshot, AnalysesThatNeedEveryAllocationRefuse)
{
    CaptureFile file = tenThenFive(false);
    expectRefusal([&] { analyse(file, ReportKind::Temporary); }, "a temporary allocations report");
    expectRefusal(
            [&] {
                CaptureReader reader(file.path());
                computeStats(reader, 5);
            },
            "stats");
    expectRefusal([&] { analyseCaptureOverTime(file.path(), SnapshotOptions{ReportKind::Peak}); },
                  "a --temporal flame graph");
    expectRefusal([&] { analyse(file, ReportKind::Peak, false, SnapshotSource::Records); },
                  "a report from the allocation records");

    // And the other way round: a capture without checkpoints.
    CaptureFile plain([](synth::CaptureBuilder& b) { b.trailer(1); });
    EXPECT_THROW(analyse(plain, ReportKind::Peak, false, SnapshotSource::Checkpoints), CaptureError);
}

}  // namespace
}  // namespace memray::reader
