// What CaptureReaders tell the process's ReadProgressListener (memray/reader/read_progress.h):
// each chunk's progress through the file, forward only, up to the file's size, and one
// `finished` per reader however its read ends; streams and unlistened readers say nothing.
#include "memray/reader/read_progress.h"

#include "memray/reader/allocation_snapshot.h"
#include "memray/reader/capture_reader.h"

#include "capture_fixture.h"
#include "synthetic_capture.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>
#include <map>
#include <mutex>
#include <vector>

namespace memray::reader {
namespace {

// Records every call (readers may report from an analysis' decoding thread).
class RecordingListener final : public ReadProgressListener
{
  public:
    RecordingListener() { setReadProgressListener(this); }
    ~RecordingListener() override { setReadProgressListener(nullptr); }

    void advanced(const void* reader, const std::string& path, uint64_t bytes_read, uint64_t file_size) override
    {
        std::lock_guard lock(mutex);
        EXPECT_EQ(finished_count.count(reader), 0u) << "a reader reported after it finished";
        progress[reader].push_back(bytes_read);
        sizes[reader] = file_size;
        paths[reader] = path;
    }
    void finished(const void* reader) override
    {
        std::lock_guard lock(mutex);
        ++finished_count[reader];
        order.push_back(reader);
    }

    std::mutex mutex;
    std::map<const void*, std::vector<uint64_t>> progress;
    std::map<const void*, uint64_t> sizes;
    std::map<const void*, std::string> paths;
    std::map<const void*, int> finished_count;
    std::vector<const void*> order;
};

std::string syntheticCapture(const testing::TempDir& dir, uint64_t allocations)
{
    synth::SynthOptions options;
    options.allocations = allocations;
    options.stacks = 200;
    options.chunk_bytes = 16 << 10;
    std::string bytes;
    synth::generateCapture(options, synth::CaptureBuilder::toString(&bytes));
    const std::string path = dir.file("capture.bin");
    testing::writeBytes(path, bytes);
    return path;
}

// A 20,000-allocation capture of small chunks, and a listener installed for the test.
class ReadProgress : public ::testing::Test
{
  protected:
    testing::TempDir dir;
    const std::string path = syntheticCapture(dir, 20000);
    RecordingListener listener;
};

uint64_t fileSize(const std::string& path)
{
    struct stat info {};
    EXPECT_EQ(::stat(path.c_str(), &info), 0);
    return static_cast<uint64_t>(info.st_size);
}

TEST_F(ReadProgress, AReadReportsEachChunkForwardToTheFileSizeThenFinishesOnce)
{
    const void* identity = nullptr;
    {
        CaptureReader reader(path);
        identity = &reader;
        reader.skipToEnd();
        ASSERT_EQ(reader.endState(), EndState::Complete);
        EXPECT_EQ(listener.finished_count[identity], 1) << "finished when the end was read, not later";
    }
    const std::vector<uint64_t>& progress = listener.progress[identity];
    ASSERT_GT(progress.size(), 10u) << "one report per chunk";
    EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));
    EXPECT_GT(progress.front(), 0u);
    EXPECT_EQ(progress.back(), fileSize(path)) << "the last chunk ends the file (its trailer follows in it)";
    EXPECT_EQ(listener.sizes[identity], fileSize(path));
    EXPECT_EQ(listener.paths[identity], path);
    EXPECT_EQ(listener.finished_count[identity], 1) << "destroying a finished reader says nothing more";
}

TEST_F(ReadProgress, AReaderDestroyedMidwayFinishes)
{
    const void* identity = nullptr;
    {
        CaptureReader reader(path);
        identity = &reader;
        Record record;
        ASSERT_TRUE(reader.next(record));
        EXPECT_EQ(listener.finished_count[identity], 0);
    }
    EXPECT_EQ(listener.finished_count[identity], 1);
    EXPECT_LT(listener.progress[identity].back(), fileSize(path));
}

TEST_F(ReadProgress, ACorruptedReadFinishes)
{
    {
        // Damage a byte in the middle: some chunk's checksum or its records fail.
        std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
        file.seekp(static_cast<std::streamoff>(fileSize(path) / 2));
        file.put('\xA5');
        file.seekp(static_cast<std::streamoff>(fileSize(path) / 2 + 1));
        file.put('\x5A');
    }
    CaptureReader reader(path);
    reader.skipToEnd();
    ASSERT_EQ(reader.endState(), EndState::Corrupt) << "the damage was not noticed: pick other bytes";
    EXPECT_EQ(listener.finished_count[&reader], 1) << "finished as soon as the corruption ended the read";
}

TEST_F(ReadProgress, AnAnalysisReportsEveryPassAndFinishesThemAll)
{
    analyseCapture(path, SnapshotOptions{ReportKind::Leaks});
    ASSERT_FALSE(listener.progress.empty());
    for (const auto& [reader, progress] : listener.progress) {
        EXPECT_EQ(listener.finished_count[reader], 1);
        EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));
    }
}

TEST_F(ReadProgress, NothingIsReportedWithoutAListener)
{
    setReadProgressListener(nullptr);  // removed before the reader is opened
    {
        CaptureReader reader(path);
        reader.skipToEnd();
    }
    EXPECT_TRUE(listener.progress.empty());
    EXPECT_TRUE(listener.finished_count.empty());
}

}  // namespace
}  // namespace memray::reader
