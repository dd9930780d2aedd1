// LiveSession on hostile streams: records damaged inside valid chunks (their checksums fit),
// so that the decoder, the heap, the call tree and the rows all see nonsense. Every session must
// reach an end (no crash, no hang) with a one-line status.
#include "memray/live/live_session.h"

#include "capture_fixture.h"
#include "memory_stream.h"
#include "session_fixture.h"

#include <gtest/gtest.h>

#include <random>

namespace memray::live {
namespace {

using format::Allocator;
using format::Deallocator;
using synth::CaptureBuilder;

std::string damagedCapture(uint32_t seed)
{
    std::mt19937 random(seed);
    return memray::testing::captureBytes(
            [&](CaptureBuilder& b) {
                b.setChunkFilter([&](uint8_t* data, size_t size) {
                    for (uint32_t i = 0; i <= seed % 3; ++i) {
                        data[random() % size] ^= static_cast<uint8_t>(1u << (random() % 8));
                    }
                });
                const auto stacks = memray::testing::startTenThenFive(b);
                for (uint64_t i = 0; i < 200; ++i) {
                    b.allocate(i % 7 == 0 ? Allocator::Mmap : Allocator::Malloc, 0x10000 + i * 0x1000, 100 + i,
                               i % 3 == 0 ? stacks.a : stacks.b);
                    if (i % 4 == 0) {
                        b.deallocate(i % 7 == 0 ? Deallocator::Munmap : Deallocator::Free, 0x10000 + i * 0x1000, 50);
                    }
                    if (i % 50 == 0) {
                        b.memory(i, 1 << 20);
                    }
                }
                b.trailer(5000);
            },
            memray::testing::testMetadata(seed % 2 ? uint64_t{format::kOptionNativeTraces} : uint64_t{0}), 512);
}

TEST(LiveSessionHostile, DamagedRecordsEndInAStateWithOneLine)
{
    for (uint32_t seed = 0; seed < 150; ++seed) {
        LiveSession session(std::make_unique<memray::testing::MemoryStream>(damagedCapture(seed), 4096), {});
        const auto frame = testing::waitForFrame(session, testing::hasEnded);
        ASSERT_TRUE(testing::hasEnded(*frame)) << "seed " << seed;
        EXPECT_EQ(frame->status.find('\n'), std::string::npos) << "seed " << seed << ": " << frame->status;
        session.selectThread(1);  // a frame on request after the end, from whatever was read
        testing::waitForFrame(session, [](const LiveFrame& f) { return f.thread.has_value(); });
    }
}

}  // namespace
}  // namespace memray::live
