// Peak and leaks snapshots of an aggregated capture, from its checkpoints (see
// docs/capture-format.md "Aggregated captures"): the other half of analyseCapture.
#pragma once

#include "memray/reader/allocation_snapshot.h"

#include <vector>

namespace memray::reader {

// Whether analyseCapture reads `capture`'s checkpoints (true) or its records for `options`.
// Throws CaptureError when the source asked for is not in the capture, and
// AggregatedCaptureError when the report needs records the capture lacks.
bool usesCheckpoints(const CaptureReader& capture, const SnapshotOptions& options);

// Reads the rest of `capture` (Peak or Leaks) and returns the figures of its last complete
// checkpoint by location; fills `snapshot`'s peak_bytes, total_allocations, total_bytes and
// (unstrided) memory.
std::vector<LocationUsage> usageFromCheckpoints(CaptureReader& capture, const SnapshotOptions& options,
                                                AllocationSnapshot* snapshot);

}  // namespace memray::reader
