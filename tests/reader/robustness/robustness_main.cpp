// The reader on damaged captures: every truncation of a capture, a dense sample of truncations
// of a larger one, thousands of random byte mutations (caught by the chunk checksums), and
// thousands of mutations made before compression (so they pass the checksums and reach the
// record decoder and the analyses). Each read must end in a clean result or a clean error, and
// quickly; a crash fails the run, and a hang hits the ctest timeout.
#include "memray/reader/capture_reader.h"
#include "memray/reader/hybrid_stack.h"
#include "memray/reader/native_symbolizer.h"
#include "memray/reader/record_text.h"
#include "memray/reader/stats.h"
#include "memray/reader/stats_report.h"

#include "capture_fixture.h"
#include "synthetic_capture.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <random>

namespace memray::reader {
namespace {

using synth::CaptureBuilder;
using synth::SynthOptions;

// A hang detector, not a speed check (speed is the benchmarks' job): a read of these small files
// takes milliseconds, and only a loop that never ends, or one that grows with a corrupt count,
// comes near this even on a machine busy with other work.
constexpr double kMaxSecondsPerRead = 60.0;

struct Outcome
{
    bool opened = false;
    EndState state = EndState::Reading;
    uint64_t records = 0;
    std::string error;
    double seconds = 0;
};

// Everything a reporter would do with a capture: decode, resolve stacks, aggregate, render.
// With `also_threaded`, also the threaded computeStats() that `memray stats` uses (sampled:
// each open zero-fills the reader's 8 MiB chunk buffer, which dominates a test of tiny files).
Outcome readEverything(const std::string& path, bool also_threaded = true)
{
    Outcome outcome;
    const auto start = std::chrono::steady_clock::now();
    try {
        CaptureReader reader(path);
        outcome.opened = true;
        StatsAggregator stats(reader);
        std::string text;
        Record record;
        while (reader.next(record)) {
            stats.add(record);
            appendRecordLine(text, record, reader.nativeTraces(), reader.isAggregated());
            if (record.kind == RecordKind::Allocation) {
                reader.forEachFrame(record.stack_id, [&](const PythonFrame& frame) { text.append(frame.function); });
            }
            if (text.size() > (1 << 16)) {
                text.clear();
            }
        }
        outcome.state = reader.endState();
        outcome.records = reader.recordsRead();
        outcome.error = reader.error();
        const CaptureStats result = stats.result(5);
        renderStatsText(result, 5);
        renderStatsJson(result, reader);
        reader.mainThreadId();
        reader.durationUs();

        // The threaded path `memray stats` takes must agree: the same totals, and an exception
        // exactly when the capture is corrupt.
        if (!also_threaded) {
            outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            return outcome;
        }
        CaptureReader again(path);
        try {
            const CaptureStats threaded = computeStats(again, 5);
            EXPECT_NE(outcome.state, EndState::Corrupt);
            EXPECT_EQ(threaded.total_allocations, result.total_allocations);
            EXPECT_EQ(threaded.peak_bytes, result.peak_bytes);
        } catch (const CaptureError& error) {
            EXPECT_EQ(outcome.state, EndState::Corrupt) << error.what();
            EXPECT_EQ(std::string(error.what()), outcome.error);
        }
    } catch (const CaptureError& error) {
        outcome.error = error.what();
    }
    outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return outcome;
}

std::string synthesize(const SynthOptions& options)
{
    std::string bytes;
    synth::generateCapture(options, CaptureBuilder::toString(&bytes));
    return bytes;
}

size_t fileStartSize(const std::string& bytes)
{
    format::FileHeader header;
    std::memcpy(&header, bytes.data(), sizeof(header));
    return sizeof(header) + header.metadata_size;
}

std::vector<size_t> chunkOffsets(const std::string& bytes)
{
    std::vector<size_t> offsets;
    size_t offset = fileStartSize(bytes);
    while (offset + sizeof(format::ChunkHeader) <= bytes.size()) {
        offsets.push_back(offset);
        format::ChunkHeader header;
        std::memcpy(&header, bytes.data() + offset, sizeof(header));
        offset += sizeof(header) + header.stored_size;
    }
    return offsets;
}

void expectCleanTruncation(const std::string& bytes, size_t cut, const Outcome& outcome, uint64_t* previous_records)
{
    SCOPED_TRACE("cut at " + std::to_string(cut) + " of " + std::to_string(bytes.size()));
    EXPECT_LT(outcome.seconds, kMaxSecondsPerRead);
    EXPECT_EQ(outcome.error.find('\n'), std::string::npos) << outcome.error;
    if (cut < fileStartSize(bytes)) {
        EXPECT_FALSE(outcome.opened) << "header or metadata cut: not readable";
        EXPECT_FALSE(outcome.error.empty());
        return;
    }
    ASSERT_TRUE(outcome.opened) << outcome.error;
    // A cut file is never "corrupt": it ended abruptly, and everything before the cut reads.
    EXPECT_EQ(outcome.state, cut == bytes.size() ? EndState::Complete : EndState::EndedAbruptly) << outcome.error;
    EXPECT_GE(outcome.records, *previous_records) << "a longer prefix never yields fewer records";
    *previous_records = outcome.records;
}

TEST(Robustness, EveryTruncationOfASmallCapture)
{
    SynthOptions options;
    options.allocations = 600;
    options.stacks = 60;
    options.threads = 3;
    options.chunk_bytes = 512;
    options.seed = 11;
    const std::string bytes = synthesize(options);
    ASSERT_GT(chunkOffsets(bytes).size(), 10u);

    testing::TempDir dir;
    const std::string path = dir.file("cut.bin");
    uint64_t previous_records = 0;
    for (size_t cut = 0; cut <= bytes.size(); ++cut) {
        testing::writeBytes(path, bytes.substr(0, cut));
        expectCleanTruncation(bytes, cut, readEverything(path, cut % 16 == 0), &previous_records);
        if (::testing::Test::HasFailure()) {
            return;  // one broken cut is enough to see
        }
    }
}

// Native captures: the native frame trie and image maps decode cleanly when cut anywhere, and
// hybrid stacks (symbolization falls back to object+offset: the synthetic image is not on
// disk) build from whatever was read.
TEST(Robustness, TruncationsOfANativeCaptureAndItsHybridStacks)
{
    SynthOptions options;
    options.allocations = 300;
    options.stacks = 40;
    options.threads = 2;
    options.chunk_bytes = 512;
    options.seed = 21;
    options.native_traces = true;
    const std::string bytes = synthesize(options);

    testing::TempDir dir;
    const std::string path = dir.file("native-cut.bin");
    uint64_t previous_records = 0;
    for (size_t cut = 0; cut <= bytes.size(); cut += (cut < fileStartSize(bytes) ? 1 : 7)) {
        testing::writeBytes(path, bytes.substr(0, cut));
        expectCleanTruncation(bytes, cut, readEverything(path, false), &previous_records);
        if (cut < fileStartSize(bytes)) {
            continue;
        }
        CaptureReader reader(path);
        std::vector<std::pair<uint64_t, uint64_t>> stacks;
        Record record;
        while (reader.next(record)) {
            if (record.kind == RecordKind::Allocation) {
                stacks.emplace_back(record.stack_id, record.native_stack_id);
            }
        }
        NativeSymbolizer symbolizer(reader);
        HybridStackBuilder builder(reader, symbolizer);
        for (const auto& [stack, native] : stacks) {
            EXPECT_FALSE(builder.build(stack, native).empty() && (stack || native));
        }
        if (::testing::Test::HasFailure()) {
            return;
        }
    }
}

TEST(Robustness, DenseTruncationsOfALargerCapture)
{
    SynthOptions options;
    options.allocations = 20000;
    options.stacks = 500;
    options.threads = 4;
    options.chunk_bytes = 8 << 10;
    options.seed = 12;
    const std::string bytes = synthesize(options);
    const auto offsets = chunkOffsets(bytes);

    // Every byte of the header and metadata, every byte around each chunk boundary (inside the
    // previous body, inside the chunk header), and random cuts inside chunk bodies.
    std::vector<size_t> cuts;
    for (size_t cut = 0; cut <= fileStartSize(bytes) + 2; ++cut) {
        cuts.push_back(cut);
    }
    for (size_t offset : offsets) {
        for (size_t delta = 0; delta < 30; ++delta) {
            cuts.push_back(offset - std::min(offset, size_t{8}) + delta);
        }
    }
    std::mt19937_64 random(99);
    for (int i = 0; i < 1000; ++i) {
        cuts.push_back(fileStartSize(bytes) + random() % (bytes.size() - fileStartSize(bytes)));
    }
    cuts.push_back(bytes.size());
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());

    testing::TempDir dir;
    const std::string path = dir.file("cut.bin");
    uint64_t previous_records = 0;
    for (size_t cut : cuts) {
        if (cut > bytes.size()) {
            continue;
        }
        testing::writeBytes(path, bytes.substr(0, cut));
        expectCleanTruncation(bytes, cut, readEverything(path, cut % 8 == 0), &previous_records);
        if (::testing::Test::HasFailure()) {
            return;
        }
    }
}

TEST(Robustness, RandomByteMutations)
{
    SynthOptions options;
    options.allocations = 3000;
    options.stacks = 200;
    options.threads = 3;
    options.chunk_bytes = 2048;
    options.seed = 13;
    const std::string original = synthesize(options);
    const size_t start_size = fileStartSize(original);

    testing::TempDir dir;
    const std::string path = dir.file("mutant.bin");
    std::mt19937_64 random(2024);
    size_t opened = 0;
    size_t corrupt = 0;
    double slowest = 0;
    for (int i = 0; i < 3000; ++i) {
        std::string bytes = original;
        const int mutations = 1 + static_cast<int>(random() % 4);
        for (int m = 0; m < mutations; ++m) {
            // A third of the mutations hit the header and metadata, the rest anywhere.
            const size_t at = random() % 3 == 0 ? random() % start_size : random() % bytes.size();
            switch (random() % 4) {
                case 0: bytes[at] ^= static_cast<char>(1u << (random() % 8)); break;
                case 1: bytes[at] = static_cast<char>(random()); break;
                case 2: bytes[at] = '\0'; break;
                default: bytes[at] = '\xff'; break;
            }
        }
        testing::writeBytes(path, bytes);
        const Outcome outcome = readEverything(path, i % 4 == 0);
        slowest = std::max(slowest, outcome.seconds);
        opened += outcome.opened;
        corrupt += outcome.state == EndState::Corrupt;
        EXPECT_EQ(outcome.error.find('\n'), std::string::npos) << outcome.error;
        if (outcome.state == EndState::Corrupt) {
            EXPECT_NE(outcome.error.find("offset"), std::string::npos) << outcome.error;
        }
    }
    EXPECT_LT(slowest, kMaxSecondsPerRead);
    EXPECT_GT(corrupt, 1000u) << "most body mutations must be caught as corruption";
    std::printf("[ info ] %zu of 3000 mutants opened, %zu reported corrupt, slowest read %.3f s\n", opened, corrupt, slowest);
}

TEST(Robustness, MutationsBehindTheChecksumReachTheDecoder)
{
    // Mutating the raw records before compression gives chunks with valid checksums and
    // garbage records: the record decoder, the tables and the analyses all see hostile input.
    testing::TempDir dir;
    const std::string path = dir.file("mutant.bin");
    size_t corrupt = 0;
    size_t complete = 0;
    double slowest = 0;
    for (uint64_t seed = 1; seed <= 2500; ++seed) {
        std::mt19937_64 random(seed);
        SynthOptions options;
        options.allocations = 300;
        options.stacks = 40;
        options.threads = 2;
        options.chunk_bytes = 1024;
        options.seed = seed;
        options.native_traces = seed % 5 == 0;
        std::string bytes;
        {
            // The generator's own builder takes no filter, so generate, then re-encode every
            // chunk's records through a builder that mutates them.
            std::string clean = synthesize(options);
            format::ChunkReader chunks;
            testing::writeBytes(path, clean);
            ASSERT_TRUE(chunks.open(path)) << chunks.error();
            CaptureBuilder builder(chunks.metadata(), CaptureBuilder::toString(&bytes), 1024);
            builder.setChunkFilter([&](uint8_t* data, size_t size) {
                if (random() % 3 == 0) {
                    return;
                }
                const int mutations = 1 + static_cast<int>(random() % 3);
                for (int m = 0; m < mutations; ++m) {
                    const size_t at = random() % size;
                    switch (random() % 3) {
                        case 0: data[at] ^= static_cast<uint8_t>(1u << (random() % 8)); break;
                        case 1: data[at] = static_cast<uint8_t>(random()); break;
                        default: data[at] = static_cast<uint8_t>(0x80 | random()); break;  // long varints
                    }
                }
            });
            while (chunks.next() == format::ChunkReader::Status::Chunk) {
                builder.raw(chunks.data(), chunks.size());
                builder.flush();
            }
        }
        testing::writeBytes(path, bytes);
        const Outcome outcome = readEverything(path, seed % 4 == 0);
        slowest = std::max(slowest, outcome.seconds);
        ASSERT_TRUE(outcome.opened) << outcome.error;
        corrupt += outcome.state == EndState::Corrupt;
        complete += outcome.state == EndState::Complete;
        EXPECT_EQ(outcome.error.find('\n'), std::string::npos) << outcome.error;
        if (outcome.state == EndState::Corrupt) {
            EXPECT_NE(outcome.error.find("at byte"), std::string::npos) << outcome.error;
        }
    }
    EXPECT_LT(slowest, kMaxSecondsPerRead);
    EXPECT_GT(corrupt, 1000u);
    std::printf("[ info ] 2500 decoder mutants: %zu corrupt, %zu complete, slowest read %.3f s\n", corrupt, complete, slowest);
}

}  // namespace
}  // namespace memray::reader
