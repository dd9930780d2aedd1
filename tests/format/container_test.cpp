// The capture container: header and metadata, and ChunkCompressor -> ChunkReader over many
// chunks (the LZ4 dictionary links them), stored chunks, truncation and corruption.
#include "memray/format/container.h"

#include "temp_files.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace memray::format {
namespace {

using testing::TempDir;
using testing::writeBytes;

Metadata sampleMetadata()
{
    Metadata metadata;
    metadata.pid = 31337;
    metadata.parent_pid = 1;
    metadata.python_version = "3.12.1";
    metadata.command_line = "app.py --serve 8080";
    metadata.start_time_us = 1712345678901234;
    metadata.options = kOptionNativeTraces | kOptionFollowFork;
    metadata.main_thread_id = 1;
    metadata.rss_interval_ms = 10;
    metadata.executable = "/usr/bin/python3.12";
    metadata.payload_version = "0.1.0";
    metadata.python_allocator = "pymalloc";
    return metadata;
}

// A capture file from raw chunk payloads.
std::string buildFile(const Metadata& metadata, const std::vector<std::string>& payloads,
                      std::vector<size_t>* chunk_offsets = nullptr, std::vector<bool>* stored = nullptr)
{
    std::string file = encodeFileStart(metadata);
    ChunkCompressor compressor;
    for (const std::string& payload : payloads) {
        std::vector<uint8_t> out(ChunkCompressor::maxChunkBytes(payload.size()));
        const size_t size = compressor.compress(reinterpret_cast<const uint8_t*>(payload.data()), payload.size(), out.data());
        if (chunk_offsets) {
            chunk_offsets->push_back(file.size());
        }
        if (stored) {
            ChunkHeader header;
            std::memcpy(&header, out.data(), sizeof(header));
            stored->push_back(header.raw_size & kChunkStoredFlag);
        }
        file.append(reinterpret_cast<const char*>(out.data()), size);
    }
    return file;
}

std::vector<std::string> readChunks(const std::string& path, ChunkReader::Status* final_status, std::string* error = nullptr)
{
    ChunkReader reader;
    EXPECT_TRUE(reader.open(path)) << reader.error();
    std::vector<std::string> chunks;
    for (;;) {
        auto status = reader.next();
        if (status != ChunkReader::Status::Chunk) {
            *final_status = status;
            if (error) {
                *error = reader.error();
            }
            return chunks;
        }
        chunks.emplace_back(reinterpret_cast<const char*>(reader.data()), reader.size());
    }
}

std::string randomBytes(std::mt19937_64& random, size_t size)
{
    std::string bytes(size, '\0');
    for (char& c : bytes) {
        c = static_cast<char>(random());
    }
    return bytes;
}

TEST(Metadata, RoundTripsEveryField)
{
    TempDir dir;
    const Metadata written = sampleMetadata();
    writeBytes(dir.file("c.bin"), buildFile(written, {}));
    ChunkReader reader;
    ASSERT_TRUE(reader.open(dir.file("c.bin"))) << reader.error();
    const Metadata& read = reader.metadata();
    EXPECT_EQ(read.pid, written.pid);
    EXPECT_EQ(read.parent_pid, written.parent_pid);
    EXPECT_EQ(read.python_version, written.python_version);
    EXPECT_EQ(read.command_line, written.command_line);
    EXPECT_EQ(read.start_time_us, written.start_time_us);
    EXPECT_EQ(read.options, written.options);
    EXPECT_EQ(read.main_thread_id, written.main_thread_id);
    EXPECT_EQ(read.rss_interval_ms, written.rss_interval_ms);
    EXPECT_EQ(read.executable, written.executable);
    EXPECT_EQ(read.payload_version, written.payload_version);
    EXPECT_EQ(read.python_allocator, written.python_allocator);
    EXPECT_EQ(reader.next(), ChunkReader::Status::End);
}

TEST(Metadata, UnknownKeysAreSkipped)
{
    // A field from a newer writer (key 99) between known ones must not disturb the others.
    const uint8_t fields[] = {1, 1, 42, 99, 3, 'x', 'y', 'z', 2, 2, '3', '9'};
    Metadata metadata;
    ASSERT_TRUE(decodeMetadata(fields, sizeof(fields), &metadata));
    EXPECT_EQ(metadata.pid, 42u);
    EXPECT_EQ(metadata.python_version, "39");
}

TEST(Metadata, MalformedFieldsAreRejected)
{
    Metadata metadata;
    const uint8_t too_long[] = {2, 5, 'a'};
    EXPECT_FALSE(decodeMetadata(too_long, sizeof(too_long), &metadata));
    const uint8_t not_a_number[] = {1, 0};
    EXPECT_FALSE(decodeMetadata(not_a_number, sizeof(not_a_number), &metadata));
    const uint8_t cut_key[] = {0x80};
    EXPECT_FALSE(decodeMetadata(cut_key, sizeof(cut_key), &metadata));
}

TEST(ChunkContainer, ManyChunksRoundTripThroughTheDictionary)
{
    // Each chunk repeats most of the previous one, so LZ4 compresses it as references into the
    // dictionary (the earlier chunks). If reader and writer dictionaries ever disagreed, the
    // decompressed bytes would differ.
    std::mt19937_64 random(7);
    std::vector<std::string> payloads;
    std::string previous = randomBytes(random, 3000);
    for (int i = 0; i < 200; ++i) {
        std::string payload = previous.substr(static_cast<size_t>(random() % 1000));
        payload += randomBytes(random, 50 + random() % 200);
        payload += previous.substr(0, 1 + random() % 2000);
        payloads.push_back(payload);
        previous = payload;
    }
    // Chunks larger than the dictionary too, which replace it whole.
    payloads.push_back(randomBytes(random, kLz4DictionarySize + 1000) + payloads.back());
    payloads.push_back(payloads.back().substr(500));

    TempDir dir;
    std::vector<bool> stored;
    const std::string file = buildFile(sampleMetadata(), payloads, nullptr, &stored);
    size_t raw_total = 0;
    for (const std::string& payload : payloads) {
        raw_total += payload.size();
    }
    EXPECT_LT(file.size(), raw_total / 2) << "the dictionary should make repeated chunks small";

    writeBytes(dir.file("c.bin"), file);
    ChunkReader::Status status;
    const auto chunks = readChunks(dir.file("c.bin"), &status);
    EXPECT_EQ(status, ChunkReader::Status::End);
    ASSERT_EQ(chunks.size(), payloads.size());
    for (size_t i = 0; i < payloads.size(); ++i) {
        EXPECT_EQ(chunks[i], payloads[i]) << "chunk " << i;
    }
}

TEST(ChunkContainer, IncompressibleChunksAreStoredAndStillFeedTheDictionary)
{
    std::mt19937_64 random(11);
    const std::string noise = randomBytes(random, 20000);
    // Stored chunk, then a chunk that is mostly a copy of it (compressed against it), then
    // alternate a few more times.
    const std::vector<std::string> payloads = {noise, noise.substr(100, 15000) + "tail", randomBytes(random, 5000),
                                               noise.substr(0, 100), std::string(40000, 'a')};
    TempDir dir;
    std::vector<bool> stored;
    writeBytes(dir.file("c.bin"), buildFile(sampleMetadata(), payloads, nullptr, &stored));
    ASSERT_EQ(stored.size(), payloads.size());
    EXPECT_TRUE(stored[0]);
    EXPECT_FALSE(stored[1]);
    EXPECT_TRUE(stored[2]);
    EXPECT_FALSE(stored[4]);
    ChunkReader::Status status;
    const auto chunks = readChunks(dir.file("c.bin"), &status);
    EXPECT_EQ(status, ChunkReader::Status::End);
    EXPECT_EQ(chunks, payloads);
}

TEST(ChunkContainer, LargestChunkRoundTrips)
{
    std::mt19937_64 random(3);
    std::string payload;
    while (payload.size() < kMaxChunkSize) {
        payload += "record " + std::to_string(random() % 100000) + ";";
    }
    payload.resize(kMaxChunkSize);
    TempDir dir;
    writeBytes(dir.file("c.bin"), buildFile(sampleMetadata(), {payload, payload}));
    ChunkReader::Status status;
    const auto chunks = readChunks(dir.file("c.bin"), &status);
    EXPECT_EQ(status, ChunkReader::Status::End);
    ASSERT_EQ(chunks.size(), 2u);
    EXPECT_EQ(chunks[0], payload);
    EXPECT_EQ(chunks[1], payload);
}

TEST(ChunkContainer, TruncatedChunkIsReportedAsTruncation)
{
    const std::vector<std::string> payloads = {std::string(5000, 'x'), std::string(5000, 'y') + "end"};
    std::vector<size_t> offsets;
    const std::string file = buildFile(sampleMetadata(), payloads, &offsets);
    TempDir dir;
    // Inside the second chunk's header, and inside its body.
    for (size_t cut : {offsets[1] + 5, file.size() - 1}) {
        writeBytes(dir.file("c.bin"), file.substr(0, cut));
        ChunkReader::Status status;
        const auto chunks = readChunks(dir.file("c.bin"), &status);
        EXPECT_EQ(status, ChunkReader::Status::Truncated) << "cut at " << cut;
        ASSERT_EQ(chunks.size(), 1u);
        EXPECT_EQ(chunks[0], payloads[0]);
    }
    // At a chunk boundary the file simply ends.
    writeBytes(dir.file("c.bin"), file.substr(0, offsets[1]));
    ChunkReader::Status status;
    EXPECT_EQ(readChunks(dir.file("c.bin"), &status).size(), 1u);
    EXPECT_EQ(status, ChunkReader::Status::End);
}

TEST(ChunkContainer, CorruptedBodyFailsTheChecksumWithTheOffset)
{
    const std::vector<std::string> payloads = {std::string(5000, 'x'), std::string(5000, 'y') + "end"};
    std::vector<size_t> offsets;
    std::string file = buildFile(sampleMetadata(), payloads, &offsets);
    file[offsets[1] + sizeof(ChunkHeader) + 2] ^= 0x40;
    TempDir dir;
    writeBytes(dir.file("c.bin"), file);
    ChunkReader::Status status;
    std::string error;
    const auto chunks = readChunks(dir.file("c.bin"), &status, &error);
    EXPECT_EQ(status, ChunkReader::Status::Error);
    EXPECT_EQ(chunks.size(), 1u);
    EXPECT_NE(error.find("offset " + std::to_string(offsets[1])), std::string::npos) << error;
    EXPECT_NE(error.find("checksum"), std::string::npos) << error;
}

TEST(ChunkContainer, ImpossibleChunkHeadersAreCorruption)
{
    TempDir dir;
    const std::string start = encodeFileStart(sampleMetadata());
    const ChunkHeader bad_headers[] = {
            {0, 10, 0},                            // empty chunk
            {kMaxChunkSize + 1, 10, 0},            // larger than any chunk
            {100, 0, 0},                           // nothing stored
            {100 | kChunkStoredFlag, 99, 0},       // stored, but sizes disagree
            {100, 100000, 0},                      // more stored than LZ4 could ever need
    };
    for (const ChunkHeader& header : bad_headers) {
        std::string file = start;
        file.append(reinterpret_cast<const char*>(&header), sizeof(header));
        file.append(200, '\0');
        writeBytes(dir.file("c.bin"), file);
        ChunkReader::Status status;
        std::string error;
        readChunks(dir.file("c.bin"), &status, &error);
        EXPECT_EQ(status, ChunkReader::Status::Error) << header.raw_size << "/" << header.stored_size;
        EXPECT_NE(error.find("offset " + std::to_string(start.size())), std::string::npos) << error;
    }
}

TEST(ChunkContainer, OpenRejectsWhatIsNotACapture)
{
    TempDir dir;
    ChunkReader reader;
    EXPECT_FALSE(reader.open(dir.file("missing.bin")));
    EXPECT_NE(reader.error().find("no such file"), std::string::npos) << reader.error();

    ChunkReader on_directory;
    EXPECT_FALSE(on_directory.open(dir.path()));
    EXPECT_NE(on_directory.error().find("directory"), std::string::npos) << on_directory.error();

    writeBytes(dir.file("text.txt"), "hello, this is not a capture at all\n");
    ChunkReader on_text;
    EXPECT_FALSE(on_text.open(dir.file("text.txt")));
    EXPECT_NE(on_text.error().find("not a memray capture"), std::string::npos) << on_text.error();

    writeBytes(dir.file("empty.bin"), "");
    ChunkReader on_empty;
    EXPECT_FALSE(on_empty.open(dir.file("empty.bin")));

    std::string other_version = encodeFileStart(sampleMetadata());
    const uint32_t version = kFormatVersion + 1;
    std::memcpy(&other_version[8], &version, sizeof(version));
    writeBytes(dir.file("v2.bin"), other_version);
    ChunkReader on_version;
    EXPECT_FALSE(on_version.open(dir.file("v2.bin")));
    EXPECT_NE(on_version.error().find("version"), std::string::npos) << on_version.error();

    const std::string start = encodeFileStart(sampleMetadata());
    writeBytes(dir.file("short.bin"), start.substr(0, start.size() - 3));
    ChunkReader on_short;
    EXPECT_FALSE(on_short.open(dir.file("short.bin")));
    EXPECT_NE(on_short.error().find("truncated"), std::string::npos) << on_short.error();
}

}  // namespace
}  // namespace memray::format
