// Memory over time, in a form that lets a report show the peak (or the leaks) inside any time
// range the user picks, without reading the capture again: the analysis behind `--temporal`.
//
// Time is cut into slices at the capture's memory samples (strided down to at most
// max_slices). Each slice has a moment of interest:
//  * Peak: the latest moment inside the slice at which the tracked heap was highest in it.
//    An allocation is "in" slice s when it was live at that moment.
//  * Leaks: the end of the slice. A range [a, b] leaks what was allocated in slices a..b and
//    not freed by the end of b.
// Each allocation becomes an interval of slices [from, to): from = the first slice whose
// moment comes at or after the allocation, to = the first slice whose moment comes at or after
// its free (kNeverFreed if never). Intervals are aggregated by (location, from, to), so the
// output grows with distinct locations and how often their usage changes, not with records.
//
// Peak of a range [a, b]: the slice s in [a, b] with the highest heap_at_moment (latest on a
// tie); location L's usage there is the sum of its intervals with from <= s < to.
// Leaks of [a, b]: the sum of L's intervals with a <= from <= b and to > b (or never freed).
#pragma once

#include "memray/reader/allocation_snapshot.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace memray::reader {

struct TemporalSlice
{
    uint64_t start_ms = 0;  // the slice covers [start_ms, end_ms) since the capture started
    uint64_t end_ms = 0;
    uint64_t heap_at_moment = 0;  // the tracked heap at the slice's moment of interest
    uint64_t rss = 0;             // the last RSS sample inside the slice
};

struct UsageInterval
{
    static constexpr uint32_t kNeverFreed = std::numeric_limits<uint32_t>::max();

    uint32_t location = 0;  // index into TemporalSnapshot::locations
    uint32_t from = 0;      // first slice
    uint32_t to = kNeverFreed;  // first slice no longer included
    uint64_t bytes = 0;
    uint64_t count = 0;
};

struct TemporalSnapshot
{
    ReportKind kind = ReportKind::Peak;  // Peak or Leaks
    std::vector<TemporalSlice> slices;
    std::vector<LocationKey> locations;
    std::vector<UsageInterval> intervals;  // sorted by (location, from, to)
    uint64_t peak_bytes = 0;
    uint64_t total_allocations = 0;
    uint64_t total_bytes = 0;
};

struct AnalysedTemporalCapture
{
    std::unique_ptr<CaptureReader> capture;
    TemporalSnapshot snapshot;
};

// options.kind must be Peak or Leaks (std::invalid_argument otherwise). Throws CaptureError
// like analyseCapture, and AggregatedCaptureError for an aggregated capture without allocation
// records (options.source is not consulted: only records say when each allocation happened).
AnalysedTemporalCapture analyseCaptureOverTime(const std::string& path, const SnapshotOptions& options, size_t max_slices = 10000);

// The usage per location of a range of slices [first, last], as the report would show it.
// For reporters that need the answer on the C++ side, and for tests.
std::vector<LocationUsage> usageInRange(const TemporalSnapshot& snapshot, uint32_t first, uint32_t last);

}  // namespace memray::reader
