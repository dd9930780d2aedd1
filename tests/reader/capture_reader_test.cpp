// CaptureReader: the tables records define, how a read ends, and what cannot be opened.
#include "memray/reader/capture_reader.h"

#include "capture_fixture.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstring>

namespace memray::reader {
namespace {

using format::Allocator;
using format::Deallocator;
using synth::CaptureBuilder;
using testing::CaptureFile;
using testing::defineStack;
using testing::kTestPid;
using testing::TempDir;

std::vector<Record> readAll(CaptureReader& reader)
{
    std::vector<Record> records;
    Record record;
    while (reader.next(record)) {
        records.push_back(record);
    }
    return records;
}

TEST(CaptureReader, ResolvesStacksInnermostFirst)
{
    CaptureFile capture([](CaptureBuilder& b) {
        b.switchTo(1);
        const uint64_t outer = defineStack(b, "<module>", "/app/main.py", 40);
        const uint64_t middle = defineStack(b, "load", "/app/loader.py", 12, outer);
        const uint64_t inner = defineStack(b, "parse", "/usr/lib/python3.11/json/decoder.py", 353, middle);
        b.allocate(Allocator::Malloc, 0x1000, 64, inner);
        b.allocate(Allocator::Malloc, 0x2000, 64, 0);
        b.trailer(1000);
    });
    CaptureReader reader(capture.path());
    const auto records = readAll(reader);
    ASSERT_EQ(reader.endState(), EndState::Complete);
    ASSERT_EQ(reader.stackCount(), 3u);
    ASSERT_EQ(reader.frameCount(), 3u);
    ASSERT_EQ(reader.codeCount(), 3u);

    const auto frames = reader.stackFrames(3);
    ASSERT_EQ(frames.size(), 3u);
    EXPECT_EQ(frames[0].function, "parse");
    EXPECT_EQ(frames[0].file, "/usr/lib/python3.11/json/decoder.py");
    EXPECT_EQ(frames[0].line, 353u);
    EXPECT_EQ(frames[1].function, "load");
    EXPECT_EQ(frames[2].function, "<module>");
    EXPECT_EQ(frames[2].line, 40u);

    EXPECT_TRUE(reader.stackFrames(0).empty()) << "stack 0 is the empty stack";
    EXPECT_TRUE(reader.stackFrames(99).empty()) << "an undefined id resolves to nothing, safely";
    EXPECT_EQ(reader.innermostFrameId(3), 3u);
    EXPECT_EQ(reader.code(1)->first_line, 35u);
    EXPECT_EQ(reader.code(0), nullptr);
    EXPECT_EQ(reader.frame(4), nullptr);

    // The allocation that names stack 3 comes after its definition; the tables already hold it
    // when the record is handed out.
    ASSERT_EQ(records.back().kind, RecordKind::Trailer);
    EXPECT_EQ(reader.allocationRecordsRead(), 2u);
    EXPECT_EQ(reader.trailerAllocationCount(), 2u);
}

TEST(CaptureReader, FrameViewsSurviveTableGrowth)
{
    CaptureFile capture([](CaptureBuilder& b) {
        for (int i = 0; i < 5000; ++i) {
            defineStack(b, "f", "file.py", static_cast<uint64_t>(i + 10));
        }
    });
    CaptureReader reader(capture.path());
    Record record;
    ASSERT_TRUE(reader.next(record));
    ASSERT_TRUE(reader.next(record));
    ASSERT_TRUE(reader.next(record));
    const PythonFrame first = reader.stackFrames(1).at(0);  // short strings: stored inline (SSO)
    reader.skipToEnd();
    EXPECT_EQ(reader.codeCount(), 5000u);
    EXPECT_EQ(first.function, "f");
    EXPECT_EQ(first.file, "file.py");
}

TEST(CaptureReader, TracksThreadsAndTheirNamesOverTime)
{
    CaptureFile capture([](CaptureBuilder& b) {
        b.threadStart(1, kTestPid);
        b.threadStart(2, kTestPid + 7);
        b.threadName(2, "worker");
        b.switchTo(2);
        b.allocate(Allocator::Malloc, 0x10, 1, 0);  // record 4: named "worker"
        b.threadName(2, "renamed");
        b.allocate(Allocator::Malloc, 0x20, 1, 0);  // record 6: "renamed"
        b.threadExit(2);
        b.switchTo(3);                              // never started: still listed
        b.trailer(5);
    });
    CaptureReader reader(capture.path());
    reader.skipToEnd();
    ASSERT_EQ(reader.threads().size(), 3u);
    const ThreadInfo* worker = reader.thread(2);
    ASSERT_NE(worker, nullptr);
    EXPECT_EQ(worker->os_tid, kTestPid + 7);
    EXPECT_EQ(worker->name(), "renamed");
    EXPECT_EQ(worker->nameAt(4), "worker");
    EXPECT_EQ(worker->nameAt(6), "renamed");
    EXPECT_EQ(worker->nameAt(1), "");
    EXPECT_TRUE(worker->exited);
    EXPECT_FALSE(reader.thread(1)->exited);
    EXPECT_EQ(reader.thread(3)->os_tid, 0u);
    EXPECT_EQ(reader.mainThreadId(), 1u) << "the thread whose OS id is the pid";
}

TEST(CaptureReader, MainThreadNamedByItsOsIdInTheMetadata)
{
    // memray.Tracker entered from a thread other than the process's main one.
    auto metadata = testing::testMetadata();
    metadata.main_thread_id = kTestPid + 7;
    CaptureFile capture([](CaptureBuilder& b) {
        b.threadStart(1, kTestPid);
        b.threadStart(2, kTestPid + 7);
    }, metadata);
    CaptureReader reader(capture.path());
    reader.skipToEnd();
    EXPECT_EQ(reader.mainThreadId(), 2u);
}

TEST(CaptureReader, MainThreadFallsBackToTheMetadata)
{
    auto metadata = testing::testMetadata();
    metadata.main_thread_id = 9;
    CaptureFile capture([](CaptureBuilder& b) { b.threadStart(1, 77); }, metadata);
    CaptureReader reader(capture.path());
    reader.skipToEnd();
    EXPECT_EQ(reader.mainThreadId(), 9u);
}

TEST(CaptureReader, MemorySamplesAndEndTime)
{
    CaptureFile with_trailer([](CaptureBuilder& b) {
        b.memory(10, 1000);
        b.memory(20, 3000);
        b.trailer(25000);
    });
    CaptureReader complete(with_trailer.path());
    complete.skipToEnd();
    ASSERT_EQ(complete.memorySamples().size(), 2u);
    EXPECT_EQ(complete.memorySamples()[1].time_ms, 20u);
    EXPECT_EQ(complete.memorySamples()[1].rss, 3000u);
    EXPECT_EQ(complete.durationUs(), 25000u);
    EXPECT_EQ(complete.endTimeUs(), 1700000000000000ull + 25000);

    CaptureFile killed([](CaptureBuilder& b) {
        b.memory(10, 1000);
        b.memory(20, 3000);
    });
    CaptureReader abrupt(killed.path());
    abrupt.skipToEnd();
    EXPECT_EQ(abrupt.endState(), EndState::EndedAbruptly);
    EXPECT_EQ(abrupt.durationUs(), 20000u) << "no trailer: the last memory sample";

    CaptureFile bare([](CaptureBuilder&) {});
    CaptureReader empty(bare.path());
    Record record;
    EXPECT_FALSE(empty.next(record));
    EXPECT_EQ(empty.endState(), EndState::EndedAbruptly);
    EXPECT_FALSE(empty.durationUs().has_value());
}

TEST(CaptureReader, FileCutInsideAChunkIsReadUpToThere)
{
    // Small chunks; cut the file in the middle of the last one.
    const std::string bytes = testing::captureBytes(
            [](CaptureBuilder& b) {
                b.switchTo(1);
                for (uint64_t i = 0; i < 2000; ++i) {
                    b.allocate(Allocator::Malloc, 0x1000 + i * 16, i, 0);
                }
                b.trailer(1);
            },
            testing::testMetadata(), 512);
    TempDir dir;
    testing::writeBytes(dir.file("cut.bin"), bytes.substr(0, bytes.size() - 10));
    CaptureReader reader(dir.file("cut.bin"));
    reader.skipToEnd();
    EXPECT_EQ(reader.endState(), EndState::EndedAbruptly);
    EXPECT_TRUE(reader.endedAbruptly());
    EXPECT_GT(reader.allocationRecordsRead(), 1500u);
    EXPECT_LT(reader.allocationRecordsRead(), 2000u);
    EXPECT_NO_THROW(reader.throwIfCorrupt());
    Record record;
    EXPECT_FALSE(reader.next(record)) << "once ended, a reader stays ended";
}

TEST(CaptureReader, CorruptRecordsAreReportedWithTheirOffset)
{
    std::string bytes;
    {
        CaptureBuilder b(testing::testMetadata(), CaptureBuilder::toString(&bytes), 4096);
        b.switchTo(1);
        b.allocate(Allocator::Malloc, 0x1000, 10, 0);
        b.flush();
        b.allocate(Allocator::Malloc, 0x2000, 10, 0);
        const uint8_t garbage[] = {0x31, 0x00};  // not a record type
        b.raw(garbage, sizeof(garbage));
        b.flush();
    }
    TempDir dir;
    testing::writeBytes(dir.file("bad.bin"), bytes);
    CaptureReader reader(dir.file("bad.bin"));
    const auto records = readAll(reader);
    EXPECT_EQ(records.size(), 3u) << "the records before the bad one are still read";
    EXPECT_EQ(reader.endState(), EndState::Corrupt);
    EXPECT_NE(reader.error().find("unknown record type"), std::string::npos) << reader.error();
    EXPECT_NE(reader.error().find("chunk at offset"), std::string::npos) << reader.error();
    EXPECT_NE(reader.error().find(dir.file("bad.bin")), std::string::npos) << reader.error();
    EXPECT_EQ(reader.error().find('\n'), std::string::npos) << "one line";
    EXPECT_THROW(reader.throwIfCorrupt(), CaptureError);
}

TEST(CaptureReader, ChecksumFailureIsCorruption)
{
    std::string bytes = testing::captureBytes([](CaptureBuilder& b) {
        b.switchTo(1);
        for (uint64_t i = 0; i < 100; ++i) {
            b.allocate(Allocator::Malloc, 0x1000 + i * 16, i, 0);
        }
        b.trailer(1);
    });
    bytes[bytes.size() - 5] ^= 0x01;
    TempDir dir;
    testing::writeBytes(dir.file("flip.bin"), bytes);
    CaptureReader reader(dir.file("flip.bin"));
    reader.skipToEnd();
    EXPECT_EQ(reader.endState(), EndState::Corrupt);
    EXPECT_NE(reader.error().find("checksum"), std::string::npos) << reader.error();
    EXPECT_NE(reader.error().find("offset"), std::string::npos) << reader.error();
}

std::string openError(const std::string& path)
{
    try {
        CaptureReader reader(path);
    } catch (const CaptureError& error) {
        EXPECT_EQ(std::string(error.what()).find('\n'), std::string::npos) << "one line: " << error.what();
        return error.what();
    }
    return "";
}

TEST(CaptureReader, OpenFailsCleanlyOnWhatIsNotACapture)
{
    TempDir dir;
    EXPECT_NE(openError(dir.file("missing.bin")).find("no such file"), std::string::npos);
    EXPECT_NE(openError(dir.path()).find("directory"), std::string::npos);

    testing::writeBytes(dir.file("empty.bin"), "");
    EXPECT_NE(openError(dir.file("empty.bin")), "");
    testing::writeBytes(dir.file("notes.txt"), "just some text\n");
    EXPECT_NE(openError(dir.file("notes.txt")).find("not a memray capture"), std::string::npos);

    std::string newer = format::encodeFileStart(testing::testMetadata());
    const uint32_t version = format::kFormatVersion + 1;
    std::memcpy(&newer[8], &version, sizeof(version));
    testing::writeBytes(dir.file("newer.bin"), newer);
    EXPECT_NE(openError(dir.file("newer.bin")).find("version"), std::string::npos);

    // A FIFO would block a plain open() until a writer came: it must be refused at once.
    ASSERT_EQ(::mkfifo(dir.file("fifo").c_str(), 0600), 0);
    EXPECT_NE(openError(dir.file("fifo")).find("not a regular file"), std::string::npos);
    EXPECT_NE(openError("/dev/null").find("not a regular file"), std::string::npos);
}

TEST(CaptureReader, BatchesHoldEveryRecordAndNeverSpanChunks)
{
    std::string bytes;
    uint64_t chunks = 0;
    {
        CaptureBuilder b(testing::testMetadata(), CaptureBuilder::toString(&bytes), 256);
        b.switchTo(1);
        for (uint64_t i = 0; i < 500; ++i) {
            b.allocate(Allocator::Malloc, 0x1000 + 16 * i, i, 0);
        }
        b.trailer(1);
        b.flush();
        chunks = b.chunks();
    }
    TempDir dir;
    testing::writeBytes(dir.file("c.bin"), bytes);
    CaptureReader reader(dir.file("c.bin"));
    Record batch[64];
    std::vector<uint64_t> sizes;
    size_t batches = 0;
    while (size_t count = reader.nextBatch(batch, 64)) {
        ++batches;
        for (size_t i = 0; i < count; ++i) {
            if (batch[i].kind == RecordKind::Allocation) {
                sizes.push_back(batch[i].size);
            }
        }
    }
    EXPECT_EQ(reader.endState(), EndState::Complete);
    ASSERT_EQ(sizes.size(), 500u);
    for (uint64_t i = 0; i < 500; ++i) {
        ASSERT_EQ(sizes[i], i);
    }
    EXPECT_GE(batches, chunks) << "a batch ends where its chunk ends";
    EXPECT_EQ(reader.nextBatch(batch, 64), 0u);
}

TEST(CaptureReader, NativeTraceIdsAreDecodedWhenTheCaptureHasThem)
{
    CaptureFile capture(
            [](CaptureBuilder& b) {
                for (uint64_t id = 1; id <= 77; ++id) {
                    b.nativeFrame(id - 1, 0x401000 + id);
                }
                b.switchTo(1);
                b.allocate(Allocator::Malloc, 0x1000, 10, 0, 77);
                b.allocate(Allocator::Malloc, 0x2000, 10, 0, 5);
            },
            testing::testMetadata(format::kOptionNativeTraces));
    CaptureReader reader(capture.path());
    EXPECT_TRUE(reader.nativeTraces());
    std::vector<uint64_t> native;
    for (const Record& record : readAll(reader)) {
        if (record.kind == RecordKind::Allocation) {
            native.push_back(record.native_stack_id);
        }
    }
    EXPECT_EQ(native, (std::vector<uint64_t>{77, 5}));
    ASSERT_EQ(reader.nativeFrameCount(), 77u);
    EXPECT_EQ(reader.nativeFrame(5)->parent_id, 4u);
    EXPECT_EQ(reader.nativeFrame(5)->address, 0x401005u);
    EXPECT_EQ(reader.nativeFrame(78), nullptr);
}

TEST(CaptureReader, ImageMapGenerationsKeepEachObjectOnceAndResolveAddresses)
{
    CaptureFile capture(
            [](CaptureBuilder& b) {
                b.imageMap(2);
                b.image("/usr/bin/python3", 0, "");
                b.imageSegment(0x400000, 0x1000);
                b.image("/lib/liba.so", 0x7f0000000000, "id-a");
                b.imageSegment(0, 0x2000);
                b.nativeFrame(0, 0x7f0000000100);  // in liba, generation 1
                // liba unloaded, libb loaded at the same place.
                b.imageMap(2);
                b.image("/usr/bin/python3", 0, "");
                b.imageSegment(0x400000, 0x1000);
                b.image("/lib/libb.so", 0x7f0000000000, "id-b");
                b.imageSegment(0, 0x2000);
                b.nativeFrame(1, 0x7f0000000100);  // in libb, generation 2
                b.nativeFrame(2, 0x400010);
            },
            testing::testMetadata(format::kOptionNativeTraces));
    CaptureReader reader(capture.path());
    reader.skipToEnd();
    ASSERT_EQ(reader.endState(), EndState::EndedAbruptly);
    ASSERT_EQ(reader.images().size(), 3u) << "python3 listed twice but kept once";
    EXPECT_EQ(reader.images()[0].first_generation, 1u);
    EXPECT_EQ(reader.images()[0].last_generation, 2u);
    const NativeFrameEntry* in_a = reader.nativeFrame(1);
    const NativeFrameEntry* in_b = reader.nativeFrame(2);
    ASSERT_TRUE(in_a && in_b);
    EXPECT_EQ(reader.imageAt(in_a->address, in_a->generation)->path, "/lib/liba.so");
    EXPECT_EQ(reader.imageAt(in_b->address, in_b->generation)->path, "/lib/libb.so");
    EXPECT_EQ(reader.imageAt(0x400010, reader.nativeFrame(3)->generation)->path, "/usr/bin/python3");
    EXPECT_EQ(reader.imageAt(0x10, 1), nullptr);
}

}  // namespace
}  // namespace memray::reader
