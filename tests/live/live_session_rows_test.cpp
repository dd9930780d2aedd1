// LiveSession's figures: rows by function (merged and per thread), recursion, frees, mappings,
// aggregated checkpoints, the heap's history. Each capture is served whole from memory; the
// tests wait for its end and check the last frame.
#include "memray/live/live_session.h"

#include "capture_fixture.h"
#include "memory_stream.h"
#include "session_fixture.h"

#include <gtest/gtest.h>

namespace memray::live {
namespace {

using format::Allocator;
using format::Deallocator;
using synth::CaptureBuilder;
using memray::testing::defineStack;
using testing::findRow;
using testing::waitForFrame;

template <typename Build>
std::shared_ptr<const LiveFrame> finalFrame(Build build, uint64_t options = 0, std::optional<uint64_t> thread = {})
{
    const std::string bytes = memray::testing::captureBytes(build, memray::testing::testMetadata(options));
    LiveSession session(std::make_unique<memray::testing::MemoryStream>(bytes, 4096), {});
    if (thread) {
        session.selectThread(thread);
    }
    return waitForFrame(session, [&](const LiveFrame& frame) { return testing::hasEnded(frame) && frame.thread == thread; });
}

// Thread 1 ("main"): <module> -> a (100 bytes), <module> -> b (300); thread 2 ("worker", OS tid
// 4242): <module> -> a (50).
void twoThreads(CaptureBuilder& b)
{
    const auto stacks = memray::testing::startTenThenFive(b);
    b.threadName(1, "main");
    b.allocate(Allocator::Malloc, 0x1000, 100, stacks.a);
    b.allocate(Allocator::Malloc, 0x2000, 300, stacks.b);
    b.threadStart(2, 4242);
    b.threadName(2, "helper");
    b.switchTo(2);
    b.allocate(Allocator::PymallocMalloc, 0x3000, 50, stacks.a);
    b.threadName(2, "worker");
    b.memory(10, 1 << 20);
    b.trailer(20000);
}

TEST(LiveSessionRows, MergedThreadsSumEveryLocation)
{
    const auto frame = finalFrame(twoThreads);
    ASSERT_EQ(frame->state, StreamState::Ended) << testing::describe(*frame);
    EXPECT_EQ(frame->heap_bytes, 450u);
    EXPECT_EQ(frame->thread_heap_bytes, 450u);
    EXPECT_FALSE(frame->thread.has_value());
    const LiveRow* a = findRow(*frame, "a");
    ASSERT_NE(a, nullptr) << testing::describe(*frame);
    EXPECT_EQ(a->file, "app.py");
    EXPECT_EQ(a->total_bytes, 150u);
    EXPECT_EQ(a->own_bytes, 150u);
    EXPECT_EQ(a->total_count, 2u);
    EXPECT_EQ(a->own_count, 2u);
    const LiveRow* module = findRow(*frame, "<module>");
    ASSERT_NE(module, nullptr);
    EXPECT_EQ(module->total_bytes, 450u);
    EXPECT_EQ(module->own_bytes, 0u);
    EXPECT_EQ(module->total_count, 3u);
    EXPECT_EQ(frame->rows.size(), 3u) << testing::describe(*frame);
}

TEST(LiveSessionRows, OneThreadShowsItsOwnLocations)
{
    const auto frame = finalFrame(twoThreads, 0, 2);
    ASSERT_EQ(frame->thread, std::optional<uint64_t>(2));
    EXPECT_EQ(frame->heap_bytes, 450u) << "the whole heap, whichever thread is shown";
    EXPECT_EQ(frame->thread_heap_bytes, 50u);
    const LiveRow* a = findRow(*frame, "a");
    ASSERT_NE(a, nullptr) << testing::describe(*frame);
    EXPECT_EQ(a->total_bytes, 50u);
    EXPECT_EQ(findRow(*frame, "b"), nullptr);

    ASSERT_EQ(frame->threads.size(), 2u);
    EXPECT_EQ(frame->threads[0].tid, 1u);
    EXPECT_EQ(frame->threads[0].os_tid, memray::testing::kTestPid);
    EXPECT_EQ(frame->threads[0].name, "main");
    EXPECT_EQ(frame->threads[1].tid, 2u);
    EXPECT_EQ(frame->threads[1].os_tid, 4242u);
    EXPECT_EQ(frame->threads[1].name, "worker") << "the latest name";
}

TEST(LiveSessionRows, RecursionIsCountedOncePerStack)
{
    const auto frame = finalFrame([](CaptureBuilder& b) {
        b.threadStart(1, memray::testing::kTestPid);
        b.switchTo(1);
        const uint64_t module = defineStack(b, "<module>", "app.py", 30);
        const uint64_t f1 = defineStack(b, "f", "app.py", 5, module);
        const uint64_t f2 = defineStack(b, "f", "app.py", 6, f1);
        const uint64_t f3 = defineStack(b, "f", "app.py", 6, f2);
        b.allocate(Allocator::Malloc, 0x1000, 100, f3);
        b.allocate(Allocator::Malloc, 0x2000, 10, f1);
        b.trailer(1000);
    });
    const LiveRow* f = findRow(*frame, "f");
    ASSERT_NE(f, nullptr) << testing::describe(*frame);
    EXPECT_EQ(f->total_bytes, 110u);
    EXPECT_EQ(f->total_count, 2u);
    EXPECT_EQ(f->own_bytes, 110u);
    EXPECT_EQ(f->own_count, 2u);
}

TEST(LiveSessionRows, FreedMemoryLeavesTheTable)
{
    const auto frame = finalFrame([](CaptureBuilder& b) {
        const auto stacks = memray::testing::startTenThenFive(b);
        b.allocate(Allocator::Malloc, 0x1000, 100, stacks.a);
        b.allocate(Allocator::Malloc, 0x2000, 200, stacks.c);
        b.deallocate(Deallocator::Free, 0x2000);
        b.trailer(1000);
    });
    EXPECT_EQ(findRow(*frame, "c"), nullptr) << testing::describe(*frame);
    ASSERT_NE(findRow(*frame, "a"), nullptr);
    EXPECT_EQ(frame->heap_bytes, 100u);
    EXPECT_EQ(frame->peak_heap_bytes, 300u);
}

TEST(LiveSessionRows, MappingsCountAsMunmapLeavesThem)
{
    const auto frame = finalFrame([](CaptureBuilder& b) {
        const auto stacks = memray::testing::startTenThenFive(b);
        b.allocate(Allocator::Mmap, 0x100000, 0x10000, stacks.b);
        b.deallocate(Deallocator::Munmap, 0x104000, 0x4000);
        b.allocate(Allocator::Mmap, 0x200000, 0x1000, stacks.c);
        b.deallocate(Deallocator::Munmap, 0x200000, 0x1000);
        b.trailer(1000);
    });
    const LiveRow* b = findRow(*frame, "b");
    ASSERT_NE(b, nullptr) << testing::describe(*frame);
    EXPECT_EQ(b->total_bytes, 0xc000u);
    EXPECT_EQ(b->total_count, 2u) << "the hole left two pieces";
    EXPECT_EQ(findRow(*frame, "c"), nullptr);
}

TEST(LiveSessionRows, AggregatedCapturesShowTheirLatestCheckpoint)
{
    const auto frame = finalFrame(
            [](CaptureBuilder& b) {
                const auto stacks = memray::testing::startTenThenFive(b);
                format::AggregateLocation a;
                a.tid = 1;
                a.stack_id = stacks.a;
                a.allocator = Allocator::Malloc;
                a.last_change_event = 1;
                a.live_bytes = 1000;
                a.live_count = 4;
                b.aggregatedMemory(10, 5 << 20, 1000);
                b.aggregateBegin(format::AggregateTotals{1, 1, 1000, 1000, 4, 1000});
                b.aggregateLocation(a);
                b.aggregateEnd();
                a.last_change_event = 2;
                a.live_bytes = 600;
                a.live_count = 3;
                b.aggregatedMemory(20, 6 << 20, 1000);
                b.aggregateBegin(format::AggregateTotals{2, 1, 1000, 600, 4, 1000});
                b.aggregateLocation(a);
                b.aggregateEnd();
                // A checkpoint cut short does not count.
                b.aggregateBegin(format::AggregateTotals{3, 1, 1000, 0, 4, 1000});
                b.trailer(30000);
            },
            format::kOptionAggregated);
    EXPECT_TRUE(frame->aggregated);
    EXPECT_EQ(frame->heap_bytes, 600u);
    EXPECT_EQ(frame->peak_heap_bytes, 1000u);
    EXPECT_EQ(frame->rss_bytes, 6u << 20);
    EXPECT_EQ(frame->heap_history, (std::vector<uint64_t>{1000, 1000}));
    const LiveRow* a = findRow(*frame, "a");
    ASSERT_NE(a, nullptr) << testing::describe(*frame);
    EXPECT_EQ(a->total_bytes, 600u);
    EXPECT_EQ(a->total_count, 3u);
}

TEST(LiveSessionRows, HeapHistoryHasTheHighestOfEachInterval)
{
    const auto frame = finalFrame([](CaptureBuilder& b) {
        const auto stacks = memray::testing::startTenThenFive(b);
        b.allocate(Allocator::Malloc, 0x1000, 100, stacks.a);
        b.memory(10, 1000000);
        b.allocate(Allocator::Malloc, 0x2000, 500, stacks.a);
        b.deallocate(Deallocator::Free, 0x2000);
        b.memory(20, 2000000);
        b.memory(30, 3000000);
        b.trailer(35000);
    });
    EXPECT_EQ(frame->heap_history, (std::vector<uint64_t>{100, 600, 100}));
    EXPECT_EQ(frame->history_interval_ms, 10u);
    EXPECT_EQ(frame->rss_bytes, 3000000u);
    EXPECT_EQ(frame->capture_ms, 35u) << "the trailer's time";
    EXPECT_EQ(frame->peak_heap_bytes, 600u);
    EXPECT_EQ(frame->pid, memray::testing::kTestPid);
    EXPECT_EQ(frame->command_line, "test.py --flag");
    EXPECT_EQ(frame->python_version, "3.11.7");
    EXPECT_GE(frame->snapshots, 1u);
    EXPECT_EQ(frame->backlog_bytes, 0u);
}

}  // namespace
}  // namespace memray::live
