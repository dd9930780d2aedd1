// LiveHeap (the live view's heap by location) and CallTreeBuilder (its call trees, kept from
// one frame to the next).
#include "memray/reader/live_heap.h"

#include "capture_fixture.h"
#include "memray/reader/call_tree.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace memray::reader {
namespace {

using format::Allocator;
using format::Deallocator;
using synth::CaptureBuilder;
using testing::CaptureFile;

// Applies the whole capture, batch by batch as the live session does, and returns the heap's
// locations sorted by (thread, stack, allocator).
struct Applied
{
    std::unique_ptr<CaptureReader> capture;
    std::unique_ptr<LiveHeap> heap;
    std::vector<LocationUsage> usage;
};

Applied applyAll(const std::string& path)
{
    Applied result;
    result.capture = std::make_unique<CaptureReader>(path);
    result.heap = std::make_unique<LiveHeap>(*result.capture);
    Record records[16];
    while (const size_t count = result.capture->nextBatch(records, 16)) {
        result.heap->apply(records, count);
    }
    result.usage = result.heap->usage();
    std::sort(result.usage.begin(), result.usage.end(), [](const LocationUsage& a, const LocationUsage& b) {
        return std::tie(a.key.thread_id, a.key.stack_id, a.key.allocator)
             < std::tie(b.key.thread_id, b.key.stack_id, b.key.allocator);
    });
    return result;
}

TEST(LiveHeap, KeepsWhatIsLiveByLocationAndThread)
{
    uint64_t a = 0, b = 0;
    CaptureFile capture([&](CaptureBuilder& builder) {
        const auto stacks = testing::startTenThenFive(builder);
        a = stacks.a;
        b = stacks.b;
        builder.allocate(Allocator::Malloc, 0x1000, 100, a);
        builder.allocate(Allocator::Malloc, 0x2000, 200, a);
        builder.allocate(Allocator::Malloc, 0x3000, 300, b);
        builder.deallocate(Deallocator::Free, 0x2000);
        builder.threadStart(2, 77);
        builder.switchTo(2);
        builder.allocate(Allocator::Malloc, 0x4000, 400, a);
        builder.deallocate(Deallocator::Free, 0x3000);  // thread 2 frees thread 1's block
        builder.deallocate(Deallocator::Free, 0x9999);  // from before the capture: ignored
    });
    const Applied applied = applyAll(capture.path());
    ASSERT_EQ(applied.usage.size(), 2u);
    EXPECT_EQ(applied.usage[0].key.thread_id, 1u);
    EXPECT_EQ(applied.usage[0].key.stack_id, a);
    EXPECT_EQ(applied.usage[0].bytes, 100u);
    EXPECT_EQ(applied.usage[0].count, 1u);
    EXPECT_EQ(applied.usage[1].key.thread_id, 2u);
    EXPECT_EQ(applied.usage[1].bytes, 400u);
    EXPECT_EQ(applied.heap->currentBytes(), 500u);
    EXPECT_EQ(applied.heap->peakBytes(), 800u);
    EXPECT_TRUE(applied.heap->hasData());
    EXPECT_FALSE(applied.heap->fromCheckpoints());
}

TEST(LiveHeap, CountsMappingsByPieceAsMunmapLeavesThem)
{
    CaptureFile capture([&](CaptureBuilder& builder) {
        const auto stacks = testing::startTenThenFive(builder);
        builder.allocate(Allocator::Mmap, 0x100000, 0x10000, stacks.a);
        builder.deallocate(Deallocator::Munmap, 0x104000, 0x4000);  // a hole: two pieces
        builder.allocate(Allocator::Mmap, 0x200000, 0x1000, stacks.b);
        builder.deallocate(Deallocator::Munmap, 0x200000, 0x1000);  // gone
    });
    const Applied applied = applyAll(capture.path());
    ASSERT_EQ(applied.usage.size(), 1u);
    EXPECT_EQ(applied.usage[0].bytes, 0xc000u);
    EXPECT_EQ(applied.usage[0].count, 2u);
    EXPECT_EQ(applied.heap->currentBytes(), 0xc000u);
}

TEST(LiveHeap, SampleHighWaterIsTheHighestSinceThePreviousSample)
{
    CaptureFile capture([&](CaptureBuilder& builder) {
        const auto stacks = testing::startTenThenFive(builder);
        builder.allocate(Allocator::Malloc, 0x1000, 1000, stacks.a);
        builder.deallocate(Deallocator::Free, 0x1000);
        builder.allocate(Allocator::Malloc, 0x2000, 10, stacks.a);
    });
    CaptureReader reader(capture.path());
    LiveHeap heap(reader);
    reader::Record records[64];
    const size_t count = reader.nextBatch(records, 64);
    heap.apply(records, count);
    EXPECT_EQ(heap.takeSampleHighWater(), 1000u);
    EXPECT_EQ(heap.takeSampleHighWater(), 10u) << "since then only the heap now";
}

TEST(CallTreeBuilder, BuildsWhatBuildCallTreeBuildsFrameAfterFrame)
{
    testing::TenThenFiveStacks stacks;
    CaptureFile capture([&](CaptureBuilder& builder) { stacks = testing::startTenThenFive(builder); });
    const uint64_t a = stacks.a, b = stacks.b;
    CaptureReader reader(capture.path());
    reader.skipToEnd();
    CallTreeBuilder builder(reader);
    const std::vector<LocationUsage> first = {LocationUsage{LocationKey{a, 0, 0, Allocator::Malloc}, 100, 1},
                                              LocationUsage{LocationKey{b, 0, 0, Allocator::Malloc}, 50, 2}};
    const std::vector<LocationUsage> second = {LocationUsage{LocationKey{b, 0, 0, Allocator::Malloc}, 70, 3}};
    builder.build(first);
    const CallTree& again = builder.build(second);
    const CallTree fresh = buildCallTree(reader, second);
    EXPECT_EQ(again.root().total_bytes, fresh.root().total_bytes);
    EXPECT_EQ(again.root().total_count, 3u);
    // The node of `a` stays, empty; `b`'s has this frame's figures.
    uint64_t nodes_with_bytes = 0;
    for (const TreeNode& node : again.nodes) {
        nodes_with_bytes += node.total_bytes != 0;
    }
    EXPECT_EQ(nodes_with_bytes, 3u) << "root, <module>, b";
    EXPECT_EQ(again.nodes.size(), fresh.nodes.size() + 1);
}

}  // namespace
}  // namespace memray::reader
