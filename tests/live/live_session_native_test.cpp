// LiveSession on a --native capture whose "tracked process" is this test binary: its functions
// appear as native rows, symbolized once and again in every later frame.
#include "memray/live/live_session.h"

#include "capture_fixture.h"
#include "memory_stream.h"
#include "session_fixture.h"
#include "this_program.h"

#include <gtest/gtest.h>

extern "C" {
__attribute__((noinline, used)) void memray_live_test_allocator()
{
    __asm__ volatile("" ::: "memory");
}
__attribute__((noinline, used)) void memray_live_test_caller()
{
    __asm__ volatile("" ::: "memory");
}
}

namespace memray::live {
namespace {

using format::Allocator;
using synth::CaptureBuilder;
using testing::findRow;
using testing::waitForFrame;

uint64_t returnAddressIn(void (*function)())
{
    return reinterpret_cast<uint64_t>(function) + 1;  // the symbolizer looks one byte before
}

TEST(LiveSessionNative, NativeFramesAreRowsOfTheirOwn)
{
    const std::string bytes = memray::testing::captureBytes(
            [](CaptureBuilder& b) {
                memray::testing::addThisProgram(b);
                b.threadStart(1, memray::testing::kTestPid);
                b.switchTo(1);
                const uint64_t outer = b.nativeFrame(0, returnAddressIn(&memray_live_test_caller));
                const uint64_t inner = b.nativeFrame(outer, returnAddressIn(&memray_live_test_allocator));
                b.allocate(Allocator::Malloc, 0x1000, 777, 0, inner);
                b.trailer(1000);
            },
            memray::testing::testMetadata(format::kOptionNativeTraces));
    LiveSession session(std::make_unique<memray::testing::MemoryStream>(bytes, 4096), {});
    const auto ended = waitForFrame(session, testing::hasEnded);
    EXPECT_TRUE(ended->native_traces);
    const LiveRow* allocator = findRow(*ended, "memray_live_test_allocator");
    ASSERT_NE(allocator, nullptr) << testing::describe(*ended);
    EXPECT_TRUE(allocator->native);
    EXPECT_EQ(allocator->own_bytes, 777u);
    EXPECT_NE(allocator->file.find("live_session_native_test.cpp"), std::string::npos) << allocator->file;
    const LiveRow* caller = findRow(*ended, "memray_live_test_caller");
    ASSERT_NE(caller, nullptr) << testing::describe(*ended);
    EXPECT_EQ(caller->total_bytes, 777u);
    EXPECT_EQ(caller->own_bytes, 0u);

    // A later frame (the symbolizer kept) shows the same.
    session.refreshNow();
    const auto again = waitForFrame(session, [&](const LiveFrame& f) { return f.sequence > ended->sequence; });
    EXPECT_EQ(again->rows.size(), ended->rows.size());
    EXPECT_NE(findRow(*again, "memray_live_test_allocator"), nullptr);
}

}  // namespace
}  // namespace memray::live
