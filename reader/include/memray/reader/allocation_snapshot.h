// The allocations a report shows, grouped by where they were made: the analysis behind
// `flamegraph`, `table`, `tree` and `summary`.
//
// Three questions, one per ReportKind:
//  * Peak: what was live at the high-water mark of the tracked heap (the latest point where it
//    was highest, see heap_tracker.h). Two passes: the first finds the peak, the second replays
//    the capture up to it.
//  * Leaks: what was still live when the capture ended. One pass.
//  * Temporary: allocations freed by the thread that made them with at most `threshold` other
//    allocations of that thread in between (threshold 1: at most one). One pass.
//
// A location is (Python stack, native stack, thread, allocator); the thread is 0 unless
// `split_threads` is set, so by default threads are merged. mmap'd regions count by range:
// a partial munmap shrinks the region, one in the middle splits it.
//
// Memory grows with distinct locations and live allocations, never with the number of records.
#pragma once

#include "memray/format/capture_format.h"
#include "memray/reader/capture_reader.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace memray::reader {

enum class ReportKind {
    Peak,
    Leaks,
    Temporary,
};

// What a Peak or Leaks snapshot is computed from. Aggregated captures (--aggregate) carry
// checkpoints of per-location figures; one written with MEMRAY_AGGREGATE_VERIFY=1 has the
// allocation records as well, so either can be asked for (memray-aggregate-check compares them).
enum class SnapshotSource {
    Auto,         // the checkpoints of an aggregated capture (Peak, Leaks), else the records
    Records,      // the allocation records (AggregatedCaptureError if there are none)
    Checkpoints,  // the last complete checkpoint (CaptureError if the capture is not aggregated)
};

struct SnapshotOptions
{
    ReportKind kind = ReportKind::Peak;
    uint64_t temporary_threshold = 1;  // Temporary only; at least 1
    bool split_threads = false;
    SnapshotSource source = SnapshotSource::Auto;
};

struct LocationKey
{
    uint64_t stack_id = 0;         // Python stack (0: none)
    uint64_t native_stack_id = 0;  // native stack (0: none, or not a --native capture)
    uint64_t thread_id = 0;        // capture thread id; 0 when threads are merged
    format::Allocator allocator{};

    bool operator==(const LocationKey&) const = default;
};

struct LocationUsage
{
    LocationKey key;
    uint64_t bytes = 0;
    uint64_t count = 0;  // allocations
};

// The tracked heap and RSS over time, one point per memory sample of the capture.
struct MemoryPoint
{
    uint64_t time_ms = 0;  // since the capture started
    uint64_t rss = 0;      // bytes
    uint64_t heap = 0;     // tracked heap (sum of live requested sizes): the highest since the previous point
};

struct AllocationSnapshot
{
    ReportKind kind = ReportKind::Peak;
    // Every location with something to show, largest bytes first (ties: smaller stack id).
    std::vector<LocationUsage> locations;
    uint64_t bytes = 0;  // sums over `locations`
    uint64_t count = 0;

    // About the whole capture, whatever the kind.
    uint64_t peak_bytes = 0;         // tracked heap high-water mark
    uint64_t total_allocations = 0;  // allocation records
    uint64_t total_bytes = 0;        // their sizes summed
    std::vector<MemoryPoint> memory;  // strided down to at most max_memory_points
};

// A capture read to its end, with the tables that resolve every stack and thread id in a
// snapshot (stackFrames, threads, metadata...).
struct AnalysedCapture
{
    std::unique_ptr<CaptureReader> capture;
    AllocationSnapshot snapshot;
};

// Reads the capture at `path` once or twice. Throws CaptureError when it cannot be opened or
// turns out to be corrupted; a capture that ended abruptly is analysed up to where it ends
// (capture->endState() says so). From an aggregated capture's checkpoints (see SnapshotSource)
// the snapshot is that of its last complete checkpoint; Temporary needs the records
// (AggregatedCaptureError without them).
AnalysedCapture analyseCapture(const std::string& path, const SnapshotOptions& options, size_t max_memory_points = 10000);

// Keeps at most `limit` points, evenly spread, always keeping the first, the last and the
// one with the highest heap.
std::vector<MemoryPoint> strideMemoryPoints(const std::vector<MemoryPoint>& points, size_t limit);

}  // namespace memray::reader
