// The exact `memray parse` lines.
#include "memray/reader/record_text.h"

#include "capture_fixture.h"

#include <gtest/gtest.h>

#include <sstream>

namespace memray::reader {
namespace {

using format::Allocator;
using format::Deallocator;
using synth::CaptureBuilder;

std::vector<std::string> parseLines(const std::string& path)
{
    CaptureReader reader(path);
    std::string out;
    appendHeaderLine(out, reader.metadata());
    Record record;
    while (reader.next(record)) {
        appendRecordLine(out, record, reader.nativeTraces(), reader.isAggregated());
    }
    appendEndLine(out, reader.endState(), reader.recordsRead());
    std::vector<std::string> lines;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    return lines;
}

TEST(RecordText, EveryRecordKind)
{
    testing::CaptureFile capture([](CaptureBuilder& b) {
        b.threadStart(1, 5150);
        b.threadName(1, "Main \"thread\"\n");
        b.switchTo(1);
        b.code("load", "/app/a b.py", 7);
        b.frame(1, 9);
        b.stack(0, 1);
        b.allocate(Allocator::PymallocCalloc, 0x7f00ab, 1024, 1);
        b.deallocate(Deallocator::PymallocFree, 0x7f00ab);
        b.deallocate(Deallocator::Munmap, 0x1000, 8192);
        b.memory(10, 20971520);
        b.threadExit(1);
        b.trailer(1000500);
    });
    const auto lines = parseLines(capture.path());
    const std::vector<std::string> expected = {
            "HEADER format_version=3 pid=5150 python_version=\"3.11.7\" command_line=\"test.py --flag\" "
            "start_time_us=1700000000000000 options=0x0 native_traces=0 trace_python_allocators=0 main_thread_id=1 "
            "rss_interval_ms=10 executable=\"/usr/bin/python3.11\" payload_version=\"test\" python_allocator=\"pymalloc\"",
            "THREAD_START tid=1 os_tid=5150",
            "THREAD_NAME tid=1 name=\"Main \\\"thread\\\"\\x0a\"",
            "THREAD_SWITCH tid=1",
            "CODE id=1 name=\"load\" file=\"/app/a b.py\" first_line=7",
            "FRAME id=1 code=1 line=9",
            "STACK id=1 parent=0 frame=1",
            "ALLOCATION tid=1 address=0x7f00ab size=1024 allocator=pymalloc_calloc stack=1",
            "DEALLOCATION tid=1 address=0x7f00ab deallocator=pymalloc_free",
            "DEALLOCATION tid=1 address=0x1000 deallocator=munmap size=8192",
            "MEMORY time_ms=10 rss=20971520",
            "THREAD_EXIT tid=1",
            "TRAILER time_us=1000500 allocations=1",
            "END state=complete records=12",
    };
    EXPECT_EQ(lines, expected);
}

TEST(RecordText, NativeIdsAndLargestValues)
{
    testing::CaptureFile capture(
            [](CaptureBuilder& b) {
                b.nativeFrame(0, UINT64_MAX);
                b.switchTo(UINT64_MAX);
                b.allocate(Allocator::Malloc, UINT64_MAX, UINT64_MAX, 0, 1);
            },
            testing::testMetadata(format::kOptionNativeTraces));
    const auto lines = parseLines(capture.path());
    ASSERT_EQ(lines.size(), 5u);
    EXPECT_EQ(lines[1], "NATIVE_FRAME id=1 parent=0 ip=0xffffffffffffffff");
    EXPECT_EQ(lines[3], "ALLOCATION tid=18446744073709551615 address=0xffffffffffffffff size=18446744073709551615 "
                        "allocator=malloc stack=0 native_stack=1");
    EXPECT_EQ(lines[4], "END state=ended_abruptly records=3");
}

TEST(RecordText, AggregatedCheckpoints)
{
    testing::CaptureFile capture(
            [](CaptureBuilder& b) {
                b.aggregatedMemory(10, 4096, 1024);
                b.aggregateBegin(format::AggregateTotals{9, 4, 4096, 1024, 5, 8192});
                format::AggregateLocation location;
                location.tid = 1;
                location.allocator = Allocator::Mmap;
                location.last_change_event = 7;
                location.live_bytes = 1024;
                location.live_count = 1;
                location.peak_bytes = 4096;
                location.peak_count = 2;
                b.aggregateLocation(location);
                b.aggregateEnd();
            },
            testing::testMetadata(format::kOptionAggregated));
    const auto lines = parseLines(capture.path());
    ASSERT_EQ(lines.size(), 6u) << ::testing::PrintToString(lines);
    EXPECT_NE(lines[0].find(" aggregated=1 aggregate_with_records=0 "), std::string::npos) << lines[0];
    EXPECT_EQ(lines[1], "MEMORY time_ms=10 rss=4096 heap=1024");
    EXPECT_EQ(lines[2], "AGGREGATE_BEGIN events=9 peak_events=4 peak_bytes=4096 current_bytes=1024 allocations=5 "
                        "allocated_bytes=8192");
    EXPECT_EQ(lines[3], "AGGREGATE_LOCATION tid=1 stack=0 allocator=mmap last_change=7 live_bytes=1024 live_count=1 "
                        "peak_bytes=4096 peak_count=2");
    EXPECT_EQ(lines[4], "AGGREGATE_END");
    EXPECT_EQ(lines[5], "END state=ended_abruptly records=4");
}

}  // namespace
}  // namespace memray::reader
