// The live byte streams (capture_streams.h): a capture file followed while it is written, and
// the TCP stream of `memray run --live-remote`, with waiting, ends and cancellation.
#include "memray/reader/capture_streams.h"

#include "capture_fixture.h"
#include "loopback_server.h"
#include "memory_stream.h"
#include "memray/reader/capture_reader.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <future>
#include <thread>

namespace memray::reader {
namespace {

using format::Allocator;
using synth::CaptureBuilder;
using testing::WriterFile;
using namespace std::chrono_literals;

// Generous: these bound waits on a loaded machine, they are not expected durations.
constexpr auto kPatience = 60s;

format::Metadata writtenByThisProcess()
{
    format::Metadata metadata = testing::testMetadata();
    metadata.pid = static_cast<uint64_t>(::getpid());
    return metadata;
}

// Reads everything from `stream` (blocking) and says how many allocation records came, and how
// the read ended.
struct ReadResult
{
    uint64_t allocations = 0;
    EndState end = EndState::Reading;
};

ReadResult readToEnd(std::unique_ptr<format::ByteStream> stream)
{
    CaptureReader reader(std::move(stream));
    reader.skipToEnd();
    return ReadResult{reader.allocationRecordsRead(), reader.endState()};
}

TEST(FollowedFile, ReadsWhatIsAppendedUntilTheWriterClosesTheFile)
{
    testing::TempDir dir;
    const std::string path = dir.file("growing.bin");
    WriterFile writer(path);
    // The header first, so the stream can be opened on a file that has begun.
    CaptureBuilder builder(writtenByThisProcess(),
                           [&](const void* data, size_t size) { writer.write(data, size); }, 256);
    auto stream = openFollowedFile(path, ::getpid());
    auto reading = std::async(std::launch::async, readToEnd, std::move(stream));

    const auto stacks = testing::startTenThenFive(builder);
    for (uint64_t i = 0; i < 50; ++i) {
        builder.allocate(Allocator::Malloc, 0x10000 + i * 64, 32, stacks.b);
        builder.flush();
        std::this_thread::sleep_for(2ms);  // the reader catches up and waits at the end now and then
    }
    EXPECT_EQ(reading.wait_for(300ms), std::future_status::timeout) << "the writer still has the file open";
    builder.trailer(1000);
    builder.flush();
    writer.close();

    ASSERT_EQ(reading.wait_for(kPatience), std::future_status::ready);
    const ReadResult result = reading.get();
    EXPECT_EQ(result.allocations, 50u);
    EXPECT_EQ(result.end, EndState::Complete);
}

TEST(FollowedFile, KeepsFollowingAFileRemovedWhileItIsWritten)
{
    testing::TempDir dir;
    const std::string path = dir.file("removed.bin");
    WriterFile writer(path);
    CaptureBuilder builder(writtenByThisProcess(),
                           [&](const void* data, size_t size) { writer.write(data, size); }, 256);
    auto reading = std::async(std::launch::async, readToEnd, openFollowedFile(path));
    ASSERT_EQ(::unlink(path.c_str()), 0);
    const auto stacks = testing::startTenThenFive(builder);
    builder.allocate(Allocator::Malloc, 0x1000, 32, stacks.a);
    builder.flush();
    EXPECT_EQ(reading.wait_for(300ms), std::future_status::timeout) << "the writer (the metadata's pid) still writes";
    builder.trailer(1000);
    builder.flush();
    writer.close();
    ASSERT_EQ(reading.wait_for(kPatience), std::future_status::ready);
    const ReadResult result = reading.get();
    EXPECT_EQ(result.allocations, 1u);
    EXPECT_EQ(result.end, EndState::Complete);
}

TEST(FollowedFile, AFinishedFileEndsAtOnce)
{
    testing::TempDir dir;
    const std::string path = dir.file("done.bin");
    testing::writeBytes(path, testing::captureBytes(
                                      [](CaptureBuilder& b) {
                                          const auto stacks = testing::startTenThenFive(b);
                                          b.allocate(Allocator::Malloc, 0x1000, 10, stacks.a);
                                      },
                                      writtenByThisProcess()));
    EXPECT_FALSE(captureIsBeingWritten(path));
    // The writer named by the metadata (this process) does not have it open for writing.
    auto reading = std::async(std::launch::async, readToEnd, openFollowedFile(path));
    ASSERT_EQ(reading.wait_for(kPatience), std::future_status::ready);
    const ReadResult result = reading.get();
    EXPECT_EQ(result.allocations, 1u);
    EXPECT_EQ(result.end, EndState::EndedAbruptly) << "no trailer";
}

TEST(FollowedFile, CaptureIsBeingWrittenWhileItsWriterHoldsIt)
{
    testing::TempDir dir;
    const std::string path = dir.file("held.bin");
    {
        WriterFile writer(path);
        writer.write(testing::captureBytes([](CaptureBuilder&) {}, writtenByThisProcess()));
        EXPECT_TRUE(captureIsBeingWritten(path)) << "the metadata's pid (this process) holds it";
        EXPECT_TRUE(captureIsBeingWritten(path, ::getpid()));
    }
    EXPECT_FALSE(captureIsBeingWritten(path));
    EXPECT_FALSE(captureIsBeingWritten(dir.file("missing.bin")));
}

TEST(FollowedFile, AHeaderlessFileIsWaitedForWhileAnyoneWritesIt)
{
    testing::TempDir dir;
    const std::string path = dir.file("empty.bin");
    WriterFile writer(path);
    auto stream = openFollowedFile(path);
    EXPECT_EQ(stream->waitingFor(), "waiting for " + path + " to be written");
    format::ByteStream* raw = stream.get();
    auto reading = std::async(std::launch::async, [&] {
        char byte;
        return raw->read(&byte, 1);
    });
    EXPECT_EQ(reading.wait_for(300ms), std::future_status::timeout) << "no header yet, but a writer";
    writer.close();
    ASSERT_EQ(reading.wait_for(kPatience), std::future_status::ready);
    EXPECT_EQ(reading.get(), 0u) << "nobody writes it any more: the end";
}

TEST(FollowedFile, CancelWakesABlockedRead)
{
    testing::TempDir dir;
    const std::string path = dir.file("idle.bin");
    WriterFile writer(path);
    writer.write(testing::captureBytes([](CaptureBuilder&) {}, writtenByThisProcess()));
    auto stream = openFollowedFile(path);
    format::ByteStream* raw = stream.get();
    auto reading = std::async(std::launch::async, [&] {
        char buffer[4096];
        size_t total = 0;
        while (const size_t n = raw->read(buffer, sizeof(buffer))) {
            total += n;
        }
        return total;
    });
    std::this_thread::sleep_for(100ms);
    raw->cancel();
    ASSERT_EQ(reading.wait_for(kPatience), std::future_status::ready);
    EXPECT_EQ(stream->read(nullptr, 0), 0u);
}

TEST(FollowedFile, ItsBacklogIsWhatIsWrittenButNotRead)
{
    testing::TempDir dir;
    const std::string path = dir.file("behind.bin");
    WriterFile writer(path);
    writer.write(std::string(1000, 'x'));
    auto stream = openFollowedFile(path, ::getpid());
    EXPECT_EQ(stream->backlog(), 1000u);
    char buffer[300];
    ASSERT_EQ(stream->read(buffer, sizeof(buffer)), 300u);
    EXPECT_EQ(stream->backlog(), 700u);
    writer.write(std::string(50, 'y'));
    EXPECT_EQ(stream->backlog(), 750u);
}

TEST(FollowedFile, RefusesWhatCannotBeFollowedInOneLine)
{
    testing::TempDir dir;
    try {
        openFollowedFile(dir.file("missing.bin"));
        FAIL() << "opened a missing file";
    } catch (const std::runtime_error& error) {
        EXPECT_EQ(std::string(error.what()), "no such file: " + dir.file("missing.bin"));
    }
    try {
        openFollowedFile(dir.path());
        FAIL() << "opened a directory";
    } catch (const std::runtime_error& error) {
        EXPECT_EQ(std::string(error.what()), dir.path() + " is not a regular file");
    }
}

TEST(CaptureSocket, WaitsForAServerThenReadsWhatItServes)
{
    const std::string bytes = testing::captureBytes([](CaptureBuilder& b) {
        const auto stacks = testing::startTenThenFive(b);
        for (uint64_t i = 0; i < 20; ++i) {
            b.allocate(Allocator::Malloc, 0x1000 + i * 64, 48, stacks.c);
        }
        b.trailer(5000);
    });
    const uint16_t port = testing::unusedLoopbackPort();
    auto stream = connectCaptureStream(port);
    EXPECT_EQ(stream->name(), "the capture stream on 127.0.0.1:" + std::to_string(port));
    format::ByteStream* raw = stream.get();
    auto reading = std::async(std::launch::async, readToEnd, std::move(stream));

    const std::string waiting = "nobody listens on 127.0.0.1:" + std::to_string(port) + " yet; retrying";
    const auto deadline = std::chrono::steady_clock::now() + kPatience;
    while (raw->waitingFor() != waiting && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(10ms);
    }
    ASSERT_EQ(raw->waitingFor(), waiting);
    EXPECT_EQ(reading.wait_for(100ms), std::future_status::timeout);

    testing::LoopbackServer server(bytes, port);
    ASSERT_EQ(reading.wait_for(kPatience), std::future_status::ready);
    const ReadResult result = reading.get();
    EXPECT_EQ(result.allocations, 20u);
    EXPECT_EQ(result.end, EndState::Complete);
}

TEST(CaptureSocket, CancelStopsTheRetries)
{
    auto stream = connectCaptureStream(testing::unusedLoopbackPort());
    format::ByteStream* raw = stream.get();
    auto reading = std::async(std::launch::async, [&] {
        char byte;
        return raw->read(&byte, 1);
    });
    std::this_thread::sleep_for(50ms);
    raw->cancel();
    ASSERT_EQ(reading.wait_for(kPatience), std::future_status::ready);
    EXPECT_EQ(reading.get(), 0u);
}

TEST(CaptureSocket, AServerThatClosesMidChunkEndsTheCaptureAbruptly)
{
    std::string bytes = testing::captureBytes([](CaptureBuilder& b) {
        const auto stacks = testing::startTenThenFive(b);
        b.allocate(Allocator::Malloc, 0x1000, 48, stacks.c);
        b.trailer(5000);
    });
    bytes.resize(bytes.size() - 4);
    testing::LoopbackServer server(bytes);
    auto reading = std::async(std::launch::async, readToEnd, connectCaptureStream(server.port()));
    ASSERT_EQ(reading.wait_for(kPatience), std::future_status::ready);
    EXPECT_EQ(reading.get().end, EndState::EndedAbruptly);
}

}  // namespace
}  // namespace memray::reader
