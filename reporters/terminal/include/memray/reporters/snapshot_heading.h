// The line above a terminal report that says which allocations it shows, e.g.
//     Peak memory usage: 15.729MB in 3 allocations
#pragma once

#include "memray/reader/allocation_snapshot.h"

#include <string>

namespace memray::reporters {

// `threshold` is SnapshotOptions::temporary_threshold (used for ReportKind::Temporary only).
std::string snapshotHeading(const reader::AllocationSnapshot& snapshot, uint64_t threshold);

}  // namespace memray::reporters
