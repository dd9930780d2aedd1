// memray-reader-bench FILE: times the reader's stages on a capture, to find where time goes.
//
//   chunks  decompress every chunk (format::ChunkReader alone)
//   decode  chunks + decode every record (CaptureReader::next)
//   stats   decode + StatsAggregator (what `memray stats` does before printing)
//   peak, leaks, temporary, temporal
//           the report analyses (allocation_snapshot.h, temporal_snapshot.h), then the call
//           tree of their result (call_tree.h)
#include "memray/format/container.h"
#include "memray/reader/capture_reader.h"
#include "memray/reader/allocation_snapshot.h"
#include "memray/reader/call_tree.h"
#include "memray/reader/stats.h"
#include "memray/reader/temporal_snapshot.h"

#include <chrono>
#include <cstdio>
#include <exception>

namespace {

double secondsSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void timeSnapshot(const char* path, const char* name, memray::reader::ReportKind kind)
{
    auto start = std::chrono::steady_clock::now();
    auto analysed = memray::reader::analyseCapture(path, memray::reader::SnapshotOptions{kind});
    const double analysis = secondsSince(start);
    start = std::chrono::steady_clock::now();
    auto tree = memray::reader::buildCallTree(*analysed.capture, analysed.snapshot.locations);
    std::printf("%-9s %.3f s, %zu locations, %llu bytes; call tree %.3f s, %zu nodes\n", name, analysis,
                analysed.snapshot.locations.size(), static_cast<unsigned long long>(analysed.snapshot.bytes),
                secondsSince(start), tree.nodes.size());
}

void timeTemporal(const char* path)
{
    auto start = std::chrono::steady_clock::now();
    auto analysed = memray::reader::analyseCaptureOverTime(path, memray::reader::SnapshotOptions{});
    std::printf("temporal  %.3f s, %zu slices, %zu intervals\n", secondsSince(start), analysed.snapshot.slices.size(),
                analysed.snapshot.intervals.size());
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: memray-reader-bench CAPTURE\n");
        return 2;
    }
    try {
        {
            auto start = std::chrono::steady_clock::now();
            memray::format::ChunkReader chunks;
            if (!chunks.open(argv[1])) {
                throw std::runtime_error(chunks.error());
            }
            uint64_t bytes = 0;
            while (chunks.next() == memray::format::ChunkReader::Status::Chunk) {
                bytes += chunks.size();
            }
            const double seconds = secondsSince(start);
            std::printf("chunks: %.3f s, %.0f MB/s of records\n", seconds, static_cast<double>(bytes) / seconds / 1e6);
        }
        {
            auto start = std::chrono::steady_clock::now();
            memray::reader::CaptureReader reader(argv[1]);
            reader.skipToEnd();
            reader.throwIfCorrupt();
            const double seconds = secondsSince(start);
            std::printf("decode: %.3f s, %llu records, %.1f M records/s\n", seconds,
                        static_cast<unsigned long long>(reader.recordsRead()),
                        static_cast<double>(reader.recordsRead()) / seconds / 1e6);
        }
        {
            auto start = std::chrono::steady_clock::now();
            memray::reader::CaptureReader reader(argv[1]);
            auto stats = memray::reader::computeStats(reader, 5);
            const double seconds = secondsSince(start);
            std::printf("stats:  %.3f s, %llu allocations, %.1f M records/s, peak %llu bytes\n", seconds,
                        static_cast<unsigned long long>(stats.total_allocations),
                        static_cast<double>(reader.recordsRead()) / seconds / 1e6,
                        static_cast<unsigned long long>(stats.peak_bytes));
        }
        timeSnapshot(argv[1], "peak", memray::reader::ReportKind::Peak);
        timeSnapshot(argv[1], "leaks", memray::reader::ReportKind::Leaks);
        timeSnapshot(argv[1], "temporary", memray::reader::ReportKind::Temporary);
        timeTemporal(argv[1]);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "memray-reader-bench: error: %s\n", error.what());
        return 1;
    }
    return 0;
}
