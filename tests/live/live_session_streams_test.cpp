// LiveSession over real streams: a capture file that grows while it is followed, one cut short,
// garbage, the TCP stream (and waiting for its server), replay pacing, and what the view asks.
#include "memray/live/live_session.h"

#include "capture_fixture.h"
#include "loopback_server.h"
#include "memory_stream.h"
#include "memray/reader/capture_streams.h"
#include "session_fixture.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <thread>

namespace memray::live {
namespace {

using format::Allocator;
using synth::CaptureBuilder;
using testing::findRow;
using testing::hasEnded;
using testing::waitForFrame;
using namespace std::chrono_literals;

format::Metadata writtenByThisProcess()
{
    format::Metadata metadata = memray::testing::testMetadata();
    metadata.pid = static_cast<uint64_t>(::getpid());
    return metadata;
}

std::string finishedCapture()
{
    return memray::testing::captureBytes([](CaptureBuilder& b) {
        const auto stacks = memray::testing::startTenThenFive(b);
        b.allocate(Allocator::Malloc, 0x1000, 4096, stacks.b);
        b.memory(10, 1 << 20);
        b.trailer(20000);
    });
}

TEST(LiveSessionStreams, FollowsAGrowingFileUntilItsWriterFinishes)
{
    memray::testing::TempDir dir;
    const std::string path = dir.file("growing.bin");
    memray::testing::WriterFile writer(path);
    CaptureBuilder builder(writtenByThisProcess(), [&](const void* data, size_t size) { writer.write(data, size); }, 512);
    LiveSession session(reader::openFollowedFile(path, ::getpid()), {std::chrono::milliseconds(100)});

    const auto stacks = memray::testing::startTenThenFive(builder);
    builder.allocate(Allocator::Malloc, 0x1000, 1000, stacks.a);
    builder.memory(10, 1 << 20);
    builder.flush();
    auto frame = waitForFrame(session, [](const LiveFrame& f) { return findRow(f, "a") != nullptr; });
    EXPECT_EQ(frame->state, StreamState::Following);
    EXPECT_EQ(findRow(*frame, "b"), nullptr);

    builder.allocate(Allocator::Malloc, 0x2000, 2000, stacks.b);
    builder.flush();
    frame = waitForFrame(session, [](const LiveFrame& f) { return findRow(f, "b") != nullptr; });
    EXPECT_EQ(frame->state, StreamState::Following) << "the writer still holds the file";
    EXPECT_EQ(frame->heap_bytes, 3000u);

    builder.trailer(30000);
    builder.flush();
    writer.close();
    frame = waitForFrame(session, hasEnded);
    EXPECT_EQ(frame->state, StreamState::Ended) << testing::describe(*frame);
    EXPECT_EQ(frame->heap_bytes, 3000u);
    EXPECT_EQ(frame->status, "");
}

TEST(LiveSessionStreams, TheFirstAllocationsShowWithoutWaitingForARefresh)
{
    memray::testing::TempDir dir;
    const std::string path = dir.file("early.bin");
    memray::testing::WriterFile writer(path);
    CaptureBuilder builder(writtenByThisProcess(), [&](const void* data, size_t size) { writer.write(data, size); }, 512);
    const auto stacks = memray::testing::startTenThenFive(builder);
    builder.allocate(Allocator::Malloc, 0x1000, 1000, stacks.a);
    builder.flush();
    // A refresh far beyond the wait's bound: only the early frame can show the row in time.
    LiveSession session(reader::openFollowedFile(path, ::getpid()), {std::chrono::hours(1)});
    const auto frame = waitForFrame(session, [](const LiveFrame& f) { return findRow(f, "a") != nullptr; });
    EXPECT_EQ(frame->state, StreamState::Following);
    EXPECT_EQ(frame->snapshots, 1u);
}

TEST(LiveSessionStreams, AFileCutShortEndedAbruptly)
{
    memray::testing::TempDir dir;
    const std::string path = dir.file("killed.bin");
    std::string bytes = finishedCapture();
    bytes.resize(bytes.size() - 3);  // the process was killed in the middle of the last chunk
    memray::testing::writeBytes(path, bytes);
    LiveSession session(reader::openFollowedFile(path, ::getpid()), {});
    const auto frame = waitForFrame(session, hasEnded);
    EXPECT_EQ(frame->state, StreamState::EndedAbruptly) << testing::describe(*frame);
    EXPECT_EQ(frame->status, "the program was killed or the connection was lost");
}

TEST(LiveSessionStreams, GarbageIsAnErrorInOneLine)
{
    memray::testing::TempDir dir;
    const std::string path = dir.file("notes.txt");
    memray::testing::writeBytes(path, "these are not the bytes you are looking for\n");
    LiveSession session(reader::openFollowedFile(path, ::getpid()), {});
    const auto frame = waitForFrame(session, hasEnded);
    EXPECT_EQ(frame->state, StreamState::Error);
    EXPECT_EQ(frame->status, path + " is not a memray capture file");
    EXPECT_TRUE(frame->rows.empty());
}

TEST(LiveSessionStreams, AStreamThatThrowsEndsAbruptlyWithItsReason)
{
    std::string bytes = finishedCapture();
    bytes.resize(bytes.size() / 2 + 20);
    LiveSession session(std::make_unique<memray::testing::MemoryStream>(bytes, 4096, "the connection to 127.0.0.1:1 failed: Connection reset by peer"), {});
    const auto frame = waitForFrame(session, hasEnded);
    EXPECT_EQ(frame->state, StreamState::EndedAbruptly) << testing::describe(*frame);
    EXPECT_NE(frame->status.find("(the connection to 127.0.0.1:1 failed: Connection reset by peer)"), std::string::npos)
            << frame->status;
}

TEST(LiveSessionStreams, ReadsTheTcpStream)
{
    memray::testing::LoopbackServer server(finishedCapture());
    LiveSession session(reader::connectCaptureStream(server.port()), {});
    const auto frame = waitForFrame(session, hasEnded);
    EXPECT_EQ(frame->state, StreamState::Ended) << testing::describe(*frame);
    const LiveRow* b = findRow(*frame, "b");
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(b->total_bytes, 4096u);
}

TEST(LiveSessionStreams, WaitsForTheServerSayingSoThenConnects)
{
    const uint16_t port = memray::testing::unusedLoopbackPort();
    LiveSession session(reader::connectCaptureStream(port), {std::chrono::milliseconds(100)});
    const std::string waiting = "nobody listens on 127.0.0.1:" + std::to_string(port) + " yet; retrying";
    auto frame = waitForFrame(session, [&](const LiveFrame& f) { return f.status == waiting; });
    EXPECT_EQ(frame->state, StreamState::Waiting);

    memray::testing::LoopbackServer server(finishedCapture(), port);
    frame = waitForFrame(session, hasEnded);
    EXPECT_EQ(frame->state, StreamState::Ended) << testing::describe(*frame);
    EXPECT_NE(findRow(*frame, "b"), nullptr);
}

TEST(LiveSessionStreams, DestroyingTheSessionStopsAWaitForTheServer)
{
    auto session = std::make_unique<LiveSession>(reader::connectCaptureStream(memray::testing::unusedLoopbackPort()),
                                                 LiveSessionOptions{});
    EXPECT_EQ(session->frame()->state, StreamState::Waiting);
    session.reset();  // must return: the stream is cancelled and the threads joined
}

TEST(LiveSessionStreams, ReplayKeepsTheCapturesPace)
{
    const std::string bytes = memray::testing::captureBytes([](CaptureBuilder& b) {
        const auto stacks = memray::testing::startTenThenFive(b);
        b.allocate(Allocator::Malloc, 0x1000, 10, stacks.a);
        b.memory(100, 1 << 20);
        b.allocate(Allocator::Malloc, 0x2000, 10, stacks.b);
        b.memory(800, 1 << 20);  // at speed 2: not shown before 400 ms
        b.trailer(800000);
    });
    LiveSessionOptions options;
    options.replay = true;
    options.replay_speed = 2.0;
    const auto start = std::chrono::steady_clock::now();
    LiveSession session(std::make_unique<memray::testing::MemoryStream>(bytes, 4096), options);
    const auto frame = waitForFrame(session, hasEnded);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 400ms);
    EXPECT_EQ(frame->state, StreamState::Ended);
    EXPECT_EQ(frame->capture_ms, 800u);
}

TEST(LiveSessionStreams, RequestsFromTheView)
{
    LiveSession session(std::make_unique<memray::testing::MemoryStream>(finishedCapture(), 4096), {std::chrono::seconds(5)});
    EXPECT_GE(session.frame()->sequence, 1u);
    session.setRefresh(std::chrono::milliseconds(10));
    EXPECT_EQ(session.refresh(), kMinRefresh);
    session.setRefresh(std::chrono::seconds(30));
    EXPECT_EQ(session.refresh(), std::chrono::seconds(30));

    const auto ended = waitForFrame(session, hasEnded);
    // After the end, frames still come on request: at once, without waiting for a refresh.
    session.selectThread(1);
    const auto selected = waitForFrame(session, [](const LiveFrame& f) { return f.thread == std::optional<uint64_t>(1); });
    EXPECT_GT(selected->sequence, ended->sequence);
    EXPECT_EQ(selected->state, StreamState::Ended);
    EXPECT_EQ(selected->thread_heap_bytes, 4096u);
    session.refreshNow();
    waitForFrame(session, [&](const LiveFrame& f) { return f.sequence > selected->sequence; });
}

}  // namespace
}  // namespace memray::live
