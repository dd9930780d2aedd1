// `memray stats` output: the terminal text and the JSON document.
//
// Kept beside the analysis (not in the CLI) so tests can check the exact output without
// running a process.
#pragma once

#include "memray/reader/capture_reader.h"
#include "memray/reader/stats.h"

#include <string>

namespace memray::reader {

// The terminal report. `top_n` is what the user asked for (the headings say it even when a
// list is shorter).
std::string renderStatsText(const CaptureStats& stats, size_t top_n);

// The JSON document (keys as memray's: total_num_allocations, total_bytes_allocated,
// allocation_size_histogram, allocator_type_distribution, top_allocations_by_size/count,
// top_modules_by_allocation_size/count, metadata). `reader` must have been read to the end: the
// metadata includes the capture's end time and whether it ended abruptly.
std::string renderStatsJson(const CaptureStats& stats, const CaptureReader& reader);

// "MALLOC", "PYMALLOC_CALLOC", ...: allocator names as the reports show them.
std::string allocatorLabel(format::Allocator allocator);

// Microseconds since the epoch as ISO 8601 UTC with microseconds ("2024-05-01T12:00:00.000000+00:00").
std::string isoTimestamp(uint64_t epoch_us);

}  // namespace memray::reader
