// The temporal analysis on a hand-built capture whose slices, moments and intervals are worked
// out by hand in the comments.
#include "capture_fixture.h"

#include "memray/reader/temporal_snapshot.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace memray::reader {
namespace {

using format::Allocator;
using format::Deallocator;
using testing::CaptureFile;
using testing::defineStack;

// Heap events (numbered from 1), with the memory samples that cut the slices:
//   1 alloc x 100         | sample 10 ms  -> slice 0: peak 100 at event 1, ends at event 1
//   2 alloc y 50, 3 free x | sample 20 ms  -> slice 1: peak 150 at event 2, ends at event 3
//   4 alloc z 30          | sample 30 ms  -> slice 2: peak 80 at event 4, ends at event 4
//   5 free y              | trailer       -> slice 3: peak 80 at its start (event 4), ends at 5
CaptureFile xyz()
{
    return CaptureFile([](synth::CaptureBuilder& b) {
        b.threadStart(1, testing::kTestPid);
        b.switchTo(1);
        const uint64_t x = defineStack(b, "x", "app.py", 3);
        const uint64_t y = defineStack(b, "y", "app.py", 6);
        const uint64_t z = defineStack(b, "z", "app.py", 9);
        b.allocate(Allocator::Malloc, 0x10, 100, x);
        b.memory(10, 1000);
        b.allocate(Allocator::Malloc, 0x20, 50, y);
        b.deallocate(Deallocator::Free, 0x10);
        b.memory(20, 2000);
        b.allocate(Allocator::Malloc, 0x30, 30, z);
        b.memory(30, 3000);
        b.deallocate(Deallocator::Free, 0x20);
        b.trailer(40000);
    });
}

using Usage = std::map<std::string, uint64_t>;

Usage byFunction(const AnalysedTemporalCapture& analysed, uint32_t first, uint32_t last)
{
    Usage result;
    for (const LocationUsage& usage : usageInRange(analysed.snapshot, first, last)) {
        result[std::string(analysed.capture->stackFrames(usage.key.stack_id).front().function)] += usage.bytes;
    }
    return result;
}

TEST(TemporalSnapshot, PeakOfARangeIsItsHighestSlice)
{
    CaptureFile file = xyz();
    AnalysedTemporalCapture analysed = analyseCaptureOverTime(file.path(), SnapshotOptions{ReportKind::Peak});
    const TemporalSnapshot& snapshot = analysed.snapshot;
    ASSERT_EQ(snapshot.slices.size(), 4u);
    EXPECT_EQ(snapshot.slices[0].heap_at_moment, 100u);
    EXPECT_EQ(snapshot.slices[1].heap_at_moment, 150u);
    EXPECT_EQ(snapshot.slices[2].heap_at_moment, 80u);
    EXPECT_EQ(snapshot.slices[3].heap_at_moment, 80u);
    EXPECT_EQ(snapshot.slices[1].start_ms, 10u);
    EXPECT_EQ(snapshot.slices[1].end_ms, 20u);
    EXPECT_EQ(snapshot.slices[3].end_ms, 40u);
    EXPECT_EQ(snapshot.peak_bytes, 150u);
    EXPECT_EQ(snapshot.intervals.size(), 3u);

    EXPECT_EQ(byFunction(analysed, 0, 0), (Usage{{"x", 100}}));
    EXPECT_EQ(byFunction(analysed, 0, 3), (Usage{{"x", 100}, {"y", 50}}));
    EXPECT_EQ(byFunction(analysed, 2, 3), (Usage{{"y", 50}, {"z", 30}}));  // tie: the later slice
}

TEST(TemporalSnapshot, LeaksOfARangeAreWhatItAllocatedAndDidNotFree)
{
    CaptureFile file = xyz();
    AnalysedTemporalCapture analysed = analyseCaptureOverTime(file.path(), SnapshotOptions{ReportKind::Leaks});
    EXPECT_EQ(byFunction(analysed, 0, 0), (Usage{{"x", 100}}));
    EXPECT_EQ(byFunction(analysed, 0, 1), (Usage{{"y", 50}}));
    EXPECT_EQ(byFunction(analysed, 2, 3), (Usage{{"z", 30}}));
    EXPECT_EQ(byFunction(analysed, 0, 3), (Usage{{"z", 30}}));
}

TEST(TemporalSnapshot, SlicesAreStridedDownToTheLimit)
{
    CaptureFile file = xyz();
    AnalysedTemporalCapture analysed = analyseCaptureOverTime(file.path(), SnapshotOptions{ReportKind::Peak}, 2);
    ASSERT_EQ(analysed.snapshot.slices.size(), 2u);
    EXPECT_EQ(analysed.snapshot.slices[0].heap_at_moment, 150u);
    EXPECT_EQ(analysed.snapshot.slices[0].end_ms, 20u);
    EXPECT_EQ(byFunction(analysed, 0, 1), (Usage{{"x", 100}, {"y", 50}}));
    EXPECT_EQ(byFunction(analysed, 1, 1), (Usage{{"y", 50}, {"z", 30}}));
}

TEST(TemporalSnapshot, TemporaryAllocationsHaveNoTemporalView)
{
    CaptureFile file = xyz();
    EXPECT_THROW(analyseCaptureOverTime(file.path(), SnapshotOptions{ReportKind::Temporary}), std::invalid_argument);
}

}  // namespace
}  // namespace memray::reader
