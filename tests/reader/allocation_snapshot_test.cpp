// The report analyses on hand-built captures with known answers: peak, leaks and temporary
// allocations by location, merged and split threads, mmap ranges, and the call tree built from
// them.
#include "capture_fixture.h"
#include "synthetic_capture.h"

#include "memray/reader/allocation_snapshot.h"
#include "memray/reader/call_tree.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

namespace memray::reader {
namespace {

using format::Allocator;
using format::Deallocator;
using testing::CaptureFile;
using testing::defineStack;

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kPage = 4096;

// "function" of the innermost frame of each location -> (bytes, count), threads merged.
std::map<std::string, std::pair<uint64_t, uint64_t>> byFunction(const AnalysedCapture& analysed)
{
    std::map<std::string, std::pair<uint64_t, uint64_t>> result;
    for (const LocationUsage& usage : analysed.snapshot.locations) {
        const auto frames = analysed.capture->stackFrames(usage.key.stack_id);
        auto& entry = result[frames.empty() ? "<none>" : std::string(frames.front().function)];
        entry.first += usage.bytes;
        entry.second += usage.count;
    }
    return result;
}

using Usage = std::map<std::string, std::pair<uint64_t, uint64_t>>;

// a() allocates 10 MiB and frees it; b() keeps 5 MiB; c() makes small temporary blocks.
CaptureFile tenThenFive()
{
    return CaptureFile([](synth::CaptureBuilder& b) {
        const auto [a, bb, c] = testing::startTenThenFive(b);
        b.memory(0, 1 * kMiB);
        b.allocate(Allocator::Malloc, 0x1000000, 10 * kMiB, a);
        b.memory(10, 12 * kMiB);
        b.deallocate(Deallocator::Free, 0x1000000);
        b.allocate(Allocator::Malloc, 0x2000000, 5 * kMiB, bb);
        b.memory(20, 7 * kMiB);
        for (uint64_t i = 0; i < 3; ++i) {
            b.allocate(Allocator::Malloc, 0x3000000 + i * 64, 100, c);
            b.deallocate(Deallocator::Free, 0x3000000 + i * 64);
        }
        b.trailer(30000);
    });
}

TEST(AllocationSnapshot, PeakIsTheTenMiBOfA)
{
    CaptureFile file = tenThenFive();
    AnalysedCapture analysed = analyseCapture(file.path(), SnapshotOptions{ReportKind::Peak});
    EXPECT_EQ(byFunction(analysed), (Usage{{"a", {10 * kMiB, 1}}}));
    EXPECT_EQ(analysed.snapshot.bytes, 10 * kMiB);
    EXPECT_EQ(analysed.snapshot.peak_bytes, 10 * kMiB);
    EXPECT_EQ(analysed.snapshot.total_allocations, 5u);
    EXPECT_EQ(analysed.snapshot.total_bytes, 15 * kMiB + 300);
    ASSERT_EQ(analysed.snapshot.memory.size(), 3u);
    EXPECT_EQ(analysed.snapshot.memory[1].heap, 10 * kMiB);
    EXPECT_EQ(analysed.snapshot.memory[2].heap, 5 * kMiB);
    EXPECT_EQ(analysed.snapshot.memory[2].rss, 7 * kMiB);
}

// A block that lives between two samples, and the heap at a sample: each point is the highest
// heap since the one before, so that a plot never misses a peak.
TEST(AllocationSnapshot, MemoryPointsCarryTheHighestHeapSinceThePreviousOne)
{
    CaptureFile file([](synth::CaptureBuilder& b) {
        const auto [a, bb, c] = testing::startTenThenFive(b);
        b.memory(0, 1 * kMiB);
        b.allocate(Allocator::Malloc, 0x1000000, 10 * kMiB, a);  // lives 1-3 ms, between samples
        b.deallocate(Deallocator::Free, 0x1000000);
        b.memory(10, 2 * kMiB);
        b.allocate(Allocator::Malloc, 0x2000000, 5 * kMiB, bb);  // live at the next two samples
        b.memory(20, 7 * kMiB);
        b.memory(30, 7 * kMiB);
        b.trailer(30000);
    });
    AnalysedCapture analysed = analyseCapture(file.path(), SnapshotOptions{ReportKind::Peak});
    ASSERT_EQ(analysed.snapshot.memory.size(), 4u);
    EXPECT_EQ(analysed.snapshot.memory[0].heap, 0u);
    EXPECT_EQ(analysed.snapshot.memory[1].heap, 10 * kMiB);
    EXPECT_EQ(analysed.snapshot.memory[2].heap, 5 * kMiB);
    EXPECT_EQ(analysed.snapshot.memory[3].heap, 5 * kMiB);
}

TEST(AllocationSnapshot, LeaksAreTheFiveMiBOfB)
{
    CaptureFile file = tenThenFive();
    AnalysedCapture analysed = analyseCapture(file.path(), SnapshotOptions{ReportKind::Leaks});
    EXPECT_EQ(byFunction(analysed), (Usage{{"b", {5 * kMiB, 1}}}));
}

TEST(AllocationSnapshot, TemporaryAllocationsOfC)
{
    CaptureFile file = tenThenFive();
    AnalysedCapture analysed = analyseCapture(file.path(), SnapshotOptions{ReportKind::Temporary, 1});
    // a's block is freed before anything else is allocated; b's is never freed.
    EXPECT_EQ(byFunction(analysed), (Usage{{"a", {10 * kMiB, 1}}, {"c", {300, 3}}}));
}

TEST(AllocationSnapshot, TemporaryThresholdCountsOtherAllocationsOfTheSameThread)
{
    CaptureFile file([](synth::CaptureBuilder& b) {
        b.threadStart(1, testing::kTestPid);
        b.threadStart(2, testing::kTestPid + 1);
        const uint64_t f = defineStack(b, "f", "app.py", 3);
        const uint64_t g = defineStack(b, "g", "app.py", 9);
        b.switchTo(1);
        b.allocate(Allocator::Malloc, 0x10, 8, f);  // two allocations in between
        b.allocate(Allocator::Malloc, 0x20, 1, g);
        b.allocate(Allocator::Malloc, 0x30, 1, g);
        b.switchTo(2);
        b.allocate(Allocator::Malloc, 0x40, 1, g);  // another thread's: does not count
        b.switchTo(1);
        b.deallocate(Deallocator::Free, 0x10);
        b.switchTo(2);
        b.deallocate(Deallocator::Free, 0x30);  // made by thread 1, freed by 2: not temporary
        b.trailer(1000);
    });
    EXPECT_EQ(byFunction(analyseCapture(file.path(), SnapshotOptions{ReportKind::Temporary, 1})), Usage{});
    EXPECT_EQ(byFunction(analyseCapture(file.path(), SnapshotOptions{ReportKind::Temporary, 2})),
              (Usage{{"f", {8, 1}}}));
}

TEST(AllocationSnapshot, RepeatedPeaksTakeTheLatest)
{
    CaptureFile file([](synth::CaptureBuilder& b) {
        b.threadStart(1, testing::kTestPid);
        b.switchTo(1);
        const uint64_t first = defineStack(b, "first", "app.py", 3);
        const uint64_t second = defineStack(b, "second", "app.py", 9);
        b.allocate(Allocator::Malloc, 0x10, 4 * kMiB, first);
        b.deallocate(Deallocator::Free, 0x10);
        b.allocate(Allocator::Malloc, 0x20, 4 * kMiB, second);  // as high: this one is the peak
        b.deallocate(Deallocator::Free, 0x20);
        b.trailer(1000);
    });
    EXPECT_EQ(byFunction(analyseCapture(file.path(), SnapshotOptions{ReportKind::Peak})),
              (Usage{{"second", {4 * kMiB, 1}}}));
}

// The peak is found in one pass that undoes what followed it: frees, a block reusing a freed
// address, and a munmap splitting a mapping.
TEST(AllocationSnapshot, PeakUndoesTheChangesAfterIt)
{
    CaptureFile file([](synth::CaptureBuilder& b) {
        b.threadStart(1, testing::kTestPid);
        b.switchTo(1);
        const uint64_t a = defineStack(b, "a", "app.py", 3);
        const uint64_t bb = defineStack(b, "b", "app.py", 9);
        const uint64_t m = defineStack(b, "m", "app.py", 15);
        b.allocate(Allocator::Malloc, 0x10, 100, a);
        b.allocate(Allocator::Malloc, 0x20, 200, bb);
        b.allocate(Allocator::Mmap, 0x7f0000000000, 4 * kPage, m);  // the peak
        b.deallocate(Deallocator::Munmap, 0x7f0000000000 + kPage, kPage);
        b.deallocate(Deallocator::Free, 0x10);
        b.allocate(Allocator::Malloc, 0x10, 50, bb);
        b.deallocate(Deallocator::Free, 0x20);
        b.allocate(Allocator::Mmap, 0x7f1000000000, kPage, m);
        b.trailer(1000);
    });
    AnalysedCapture peak = analyseCapture(file.path(), SnapshotOptions{ReportKind::Peak});
    EXPECT_EQ(peak.snapshot.peak_bytes, 300 + 4 * kPage);
    EXPECT_EQ(byFunction(peak), (Usage{{"a", {100, 1}}, {"b", {200, 1}}, {"m", {4 * kPage, 1}}}));
}

// A block allocated where one is still live (the capture missed its free) replaces it.
TEST(AllocationSnapshot, PeakOfACaptureThatMissedAFree)
{
    CaptureFile file([](synth::CaptureBuilder& b) {
        b.threadStart(1, testing::kTestPid);
        b.switchTo(1);
        const uint64_t a = defineStack(b, "a", "app.py", 3);
        const uint64_t bb = defineStack(b, "b", "app.py", 9);
        b.allocate(Allocator::Malloc, 0x10, 100, a);
        b.allocate(Allocator::Malloc, 0x10, 300, bb);
        b.allocate(Allocator::Malloc, 0x20, 50, a);  // the peak
        b.deallocate(Deallocator::Free, 0x20);
        b.deallocate(Deallocator::Free, 0x10);
        b.trailer(1000);
    });
    AnalysedCapture peak = analyseCapture(file.path(), SnapshotOptions{ReportKind::Peak});
    EXPECT_EQ(peak.snapshot.peak_bytes, 350u);
    EXPECT_EQ(byFunction(peak), (Usage{{"a", {50, 1}}, {"b", {300, 1}}}));
}

TEST(AllocationSnapshot, MmapTwoPagesUnmapOneMmapTen)
{
    CaptureFile file([](synth::CaptureBuilder& b) {
        b.threadStart(1, testing::kTestPid);
        b.switchTo(1);
        const uint64_t two = defineStack(b, "two", "app.py", 3);
        const uint64_t ten = defineStack(b, "ten", "app.py", 9);
        b.allocate(Allocator::Mmap, 0x7f0000000000, 2 * kPage, two);
        b.deallocate(Deallocator::Munmap, 0x7f0000000000, kPage);
        b.allocate(Allocator::Mmap, 0x7f1000000000, 10 * kPage, ten);
        b.deallocate(Deallocator::Munmap, 0x7f1000000000 + 2 * kPage, kPage);  // splits "ten"
        b.trailer(1000);
    });
    AnalysedCapture peak = analyseCapture(file.path(), SnapshotOptions{ReportKind::Peak});
    EXPECT_EQ(peak.snapshot.peak_bytes, 11 * kPage);
    EXPECT_EQ(byFunction(peak), (Usage{{"ten", {10 * kPage, 1}}, {"two", {kPage, 1}}}));
    AnalysedCapture leaks = analyseCapture(file.path(), SnapshotOptions{ReportKind::Leaks});
    EXPECT_EQ(byFunction(leaks), (Usage{{"ten", {9 * kPage, 2}}, {"two", {kPage, 1}}}));
    AnalysedCapture temporary = analyseCapture(file.path(), SnapshotOptions{ReportKind::Temporary, 1});
    EXPECT_EQ(byFunction(temporary), Usage{});  // a partial munmap does not free the mapping
}

TEST(AllocationSnapshot, SplitThreadsKeepsThreadsApartAndAllocatorsStayDistinct)
{
    CaptureFile file([](synth::CaptureBuilder& b) {
        b.threadStart(1, testing::kTestPid);
        b.threadStart(2, testing::kTestPid + 1);
        const uint64_t f = defineStack(b, "f", "app.py", 3);
        b.switchTo(1);
        b.allocate(Allocator::Malloc, 0x10, 100, f);
        b.allocate(Allocator::Calloc, 0x20, 50, f);
        b.switchTo(2);
        b.allocate(Allocator::Malloc, 0x30, 10, f);
        b.trailer(1000);
    });
    AnalysedCapture merged = analyseCapture(file.path(), SnapshotOptions{ReportKind::Leaks});
    ASSERT_EQ(merged.snapshot.locations.size(), 2u);
    EXPECT_EQ(merged.snapshot.locations[0].bytes, 110u);
    EXPECT_EQ(merged.snapshot.locations[0].key.allocator, Allocator::Malloc);
    EXPECT_EQ(merged.snapshot.locations[0].key.thread_id, 0u);
    EXPECT_EQ(merged.snapshot.locations[1].bytes, 50u);

    AnalysedCapture split = analyseCapture(file.path(), SnapshotOptions{ReportKind::Leaks, 1, true});
    ASSERT_EQ(split.snapshot.locations.size(), 3u);
    EXPECT_EQ(split.snapshot.locations[0].key.thread_id, 1u);
    EXPECT_EQ(split.snapshot.locations[2].key.thread_id, 2u);
    EXPECT_EQ(split.snapshot.locations[2].bytes, 10u);
}

TEST(CallTree, SharedCallersSumTheirCalleesAndUnknownStacksHangFromTheRoot)
{
    CaptureFile file([](synth::CaptureBuilder& b) {
        b.threadStart(1, testing::kTestPid);
        b.switchTo(1);
        const uint64_t main = defineStack(b, "<module>", "app.py", 20);
        const uint64_t outer = defineStack(b, "outer", "app.py", 5, main);
        const uint64_t left = defineStack(b, "left", "app.py", 8, outer);
        const uint64_t right = defineStack(b, "right", "app.py", 12, outer);
        const uint64_t import_frame = defineStack(b, "_call_with_frames_removed", "<frozen importlib._bootstrap>", 241, main);
        const uint64_t imported = defineStack(b, "<module>", "lib.py", 1, import_frame);
        b.allocate(Allocator::Malloc, 0x10, 300, left);
        b.allocate(Allocator::Malloc, 0x20, 200, right);
        b.allocate(Allocator::Malloc, 0x30, 50, outer);
        b.allocate(Allocator::Malloc, 0x40, 7, imported);
        b.allocate(Allocator::Malloc, 0x50, 9, 0);
        b.trailer(1000);
    });
    AnalysedCapture analysed = analyseCapture(file.path(), SnapshotOptions{ReportKind::Leaks});
    std::vector<uint32_t> node_of_location;
    CallTree tree = buildCallTree(*analysed.capture, analysed.snapshot.locations, &node_of_location);
    ASSERT_EQ(node_of_location.size(), analysed.snapshot.locations.size());

    EXPECT_EQ(tree.root().total_bytes, 566u);
    EXPECT_EQ(tree.root().total_count, 5u);
    ASSERT_EQ(tree.root().child_count, 2u);
    const TreeNode& module = tree.nodes[tree.childrenBegin(tree.root())[0]];
    EXPECT_EQ(tree.frames[module.frame].function, "<module>");
    EXPECT_EQ(module.total_bytes, 557u);
    const TreeNode& unknown = tree.nodes[tree.childrenBegin(tree.root())[1]];
    EXPECT_EQ(tree.frames[unknown.frame].function, kUnknownFunction);
    EXPECT_EQ(unknown.self_bytes, 9u);

    ASSERT_EQ(module.child_count, 2u);
    const TreeNode& outer = tree.nodes[tree.childrenBegin(module)[0]];
    EXPECT_EQ(tree.frames[outer.frame].function, "outer");
    EXPECT_EQ(outer.self_bytes, 50u);
    EXPECT_EQ(outer.total_bytes, 550u);
    EXPECT_EQ(outer.depth, 2u);
    ASSERT_EQ(outer.child_count, 2u);
    EXPECT_EQ(tree.frames[tree.nodes[tree.childrenBegin(outer)[0]].frame].function, "left");
    EXPECT_EQ(tree.frames[tree.nodes[tree.childrenBegin(outer)[1]].frame].function, "right");

    const TreeNode& importer = tree.nodes[tree.childrenBegin(module)[1]];
    EXPECT_TRUE(importer.import_system);
    ASSERT_EQ(importer.child_count, 1u);
    const TreeNode& imported = tree.nodes[tree.childrenBegin(importer)[0]];
    EXPECT_TRUE(imported.import_system);  // inherited from its caller
    EXPECT_FALSE(tree.frames[imported.frame].import_system);
    EXPECT_FALSE(outer.import_system);
}

TEST(CallTree, FrameClassification)
{
    EXPECT_TRUE(isImportSystemFrame("_find_and_load", "<frozen importlib._bootstrap>"));
    EXPECT_TRUE(isImportSystemFrame("exec_module", "<frozen importlib._bootstrap_external>"));
    EXPECT_FALSE(isImportSystemFrame("main", "/srv/importlib_helpers.py"));
    EXPECT_TRUE(isIrrelevantFrame("_run_code", "<frozen runpy>"));
    EXPECT_TRUE(isIrrelevantFrame("_run_module_as_main", "/usr/lib/python3.8/runpy.py"));
    EXPECT_FALSE(isIrrelevantFrame("main", "/srv/app/runpy.py"));
}

TEST(MemoryPoints, StridingKeepsTheEndsAndTheHighestPoint)
{
    std::vector<MemoryPoint> points;
    for (uint64_t i = 0; i < 1000; ++i) {
        points.push_back(MemoryPoint{i * 10, i, i == 517 ? 1'000'000 : i});
    }
    std::vector<MemoryPoint> kept = strideMemoryPoints(points, 50);
    ASSERT_LE(kept.size(), 50u);
    ASSERT_GE(kept.size(), 49u);
    EXPECT_EQ(kept.front().time_ms, 0u);
    EXPECT_EQ(kept.back().time_ms, 9990u);
    EXPECT_TRUE(std::is_sorted(kept.begin(), kept.end(),
                               [](const MemoryPoint& a, const MemoryPoint& b) { return a.time_ms < b.time_ms; }));
    EXPECT_TRUE(std::any_of(kept.begin(), kept.end(), [](const MemoryPoint& p) { return p.heap == 1'000'000; }));
    EXPECT_EQ(strideMemoryPoints(points, 5000).size(), 1000u);
}

// Pinned to one CPU the analyses decode and apply their events on one thread, batch by batch,
// instead of two: every report must come out the same, on a capture of many batches.
TEST(AllocationSnapshot, OneCpuGivesTheSameSnapshots)
{
    synth::SynthOptions options;
    options.allocations = 30000;
    options.stacks = 300;
    options.seed = 11;
    options.max_live = 2000;
    std::string bytes;
    synth::generateCapture(options, synth::CaptureBuilder::toString(&bytes));
    testing::TempDir dir;
    testing::writeBytes(dir.file("s.bin"), bytes);

    for (const ReportKind kind : {ReportKind::Peak, ReportKind::Leaks, ReportKind::Temporary}) {
        SnapshotOptions snapshot_options{kind};
        snapshot_options.split_threads = true;
        const AllocationSnapshot two = analyseCapture(dir.file("s.bin"), snapshot_options).snapshot;
        std::optional<AllocationSnapshot> one;
        {
            testing::PinnedToOneCpu pinned;
            one = analyseCapture(dir.file("s.bin"), snapshot_options).snapshot;
        }
        SCOPED_TRACE(static_cast<int>(kind));
        EXPECT_GT(two.count, 0u);
        EXPECT_EQ(one->bytes, two.bytes);
        EXPECT_EQ(one->count, two.count);
        EXPECT_EQ(one->peak_bytes, two.peak_bytes);
        EXPECT_EQ(one->total_allocations, two.total_allocations);
        EXPECT_EQ(one->total_bytes, two.total_bytes);
        ASSERT_EQ(one->locations.size(), two.locations.size());
        for (size_t i = 0; i < two.locations.size(); ++i) {
            EXPECT_EQ(one->locations[i].key, two.locations[i].key);
            EXPECT_EQ(one->locations[i].bytes, two.locations[i].bytes);
            EXPECT_EQ(one->locations[i].count, two.locations[i].count);
        }
        ASSERT_EQ(one->memory.size(), two.memory.size());
        for (size_t i = 0; i < two.memory.size(); ++i) {
            EXPECT_EQ(one->memory[i].heap, two.memory[i].heap);
        }
    }
}

}  // namespace
}  // namespace memray::reader
