// CaptureReader over a format::ByteStream (a capture still being written): the same records
// as from the file, and how a stream's end, errors and garbage read.
#include "memray/reader/capture_reader.h"

#include "capture_fixture.h"
#include "memory_stream.h"

#include <gtest/gtest.h>

#include <cstring>

namespace memray::reader {
namespace {

using format::Allocator;
using format::Deallocator;
using synth::CaptureBuilder;
using testing::MemoryStream;

// Ten allocations (five freed) on one stack, in several chunks, with or without the trailer.
std::string smallCapture(bool trailer)
{
    return testing::captureBytes(
            [&](CaptureBuilder& b) {
                const auto stacks = testing::startTenThenFive(b);
                for (uint64_t i = 0; i < 10; ++i) {
                    b.allocate(Allocator::Malloc, 0x1000 + i * 0x100, 100 + i, stacks.a);
                    b.memory(i * 10, 1 << 20);
                    b.flush();  // one chunk each
                }
                for (uint64_t i = 0; i < 5; ++i) {
                    b.deallocate(Deallocator::Free, 0x1000 + i * 0x100);
                }
                if (trailer) {
                    b.trailer(200000);
                }
            },
            testing::testMetadata(), 256);
}

uint64_t countRecords(CaptureReader& reader)
{
    uint64_t count = 0;
    Record record;
    while (reader.next(record)) {
        ++count;
    }
    return count;
}

CaptureReader fromStream(std::string bytes, size_t piece = 7, std::string fail_with = {})
{
    return CaptureReader(std::make_unique<MemoryStream>(std::move(bytes), piece, std::move(fail_with)));
}

std::string openError(std::string bytes)
{
    try {
        fromStream(std::move(bytes));
    } catch (const CaptureError& error) {
        return error.what();
    }
    return "(opened)";
}

TEST(CaptureStreamReader, ReadsWhatTheFileReads)
{
    const std::string bytes = smallCapture(true);
    testing::TempDir dir;
    testing::writeBytes(dir.file("c.bin"), bytes);
    CaptureReader file(dir.file("c.bin"));
    const uint64_t from_file = countRecords(file);

    CaptureReader stream = fromStream(bytes);
    EXPECT_EQ(stream.path(), "the test stream");
    EXPECT_EQ(stream.metadata().pid, testing::kTestPid);
    EXPECT_EQ(countRecords(stream), from_file);
    EXPECT_EQ(stream.endState(), EndState::Complete);
    EXPECT_EQ(stream.allocationRecordsRead(), 10u);
    EXPECT_EQ(stream.memorySamples().size(), 10u);
}

TEST(CaptureStreamReader, AStreamEndingInsideAChunkEndedAbruptly)
{
    const std::string bytes = smallCapture(true);
    for (size_t cut : {size_t{3}, size_t{13}}) {
        CaptureReader stream = fromStream(bytes.substr(0, bytes.size() - cut));
        countRecords(stream);
        EXPECT_EQ(stream.endState(), EndState::EndedAbruptly) << "cut " << cut;
    }
}

TEST(CaptureStreamReader, AStreamEndingBetweenChunksWithoutTrailerEndedAbruptly)
{
    CaptureReader stream = fromStream(smallCapture(false));
    countRecords(stream);
    EXPECT_EQ(stream.endState(), EndState::EndedAbruptly);
    EXPECT_EQ(stream.allocationRecordsRead(), 10u);
}

TEST(CaptureStreamReader, AReadErrorEndsTheStreamAndIsKept)
{
    const std::string bytes = smallCapture(true);
    CaptureReader stream = fromStream(bytes.substr(0, bytes.size() / 2), 7, "the connection to 127.0.0.1:1 failed: Connection reset by peer");
    countRecords(stream);
    EXPECT_EQ(stream.endState(), EndState::EndedAbruptly);
    EXPECT_EQ(stream.streamError(), "the connection to 127.0.0.1:1 failed: Connection reset by peer");
}

TEST(CaptureStreamReader, RefusesWhatIsNotACaptureInOneLine)
{
    EXPECT_EQ(openError("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"), "the test stream is not a memray capture file");
    EXPECT_EQ(openError("\x89MRY"), "the test stream is truncated: its header is incomplete");
    EXPECT_EQ(openError("xy"), "the test stream is not a memray capture file");
    EXPECT_EQ(openError(""), "the test stream ended before a capture began");

    // A header that claims 4 GiB of metadata: refused without allocating it.
    std::string header = smallCapture(true).substr(0, sizeof(format::FileHeader));
    const uint32_t huge = 0xffffffffu;
    std::memcpy(header.data() + offsetof(format::FileHeader, metadata_size), &huge, sizeof(huge));
    EXPECT_EQ(openError(header), "the test stream is corrupted: its metadata size is implausible");
}

TEST(CaptureStreamReader, CorruptionIsReportedWithTheStreamsName)
{
    std::string bytes = smallCapture(true);
    bytes.back() ^= 0x5a;  // inside the last chunk's block: its checksum fails
    CaptureReader stream = fromStream(bytes);
    countRecords(stream);
    ASSERT_EQ(stream.endState(), EndState::Corrupt);
    EXPECT_EQ(stream.error().rfind("the test stream: corrupted chunk at offset ", 0), 0u) << stream.error();
}

}  // namespace
}  // namespace memray::reader
