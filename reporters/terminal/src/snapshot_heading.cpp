#include "memray/reporters/snapshot_heading.h"

#include "memray/reader/size_format.h"

namespace memray::reporters {
namespace {

std::string allocations(uint64_t count)
{
    return std::to_string(count) + (count == 1 ? " allocation" : " allocations");
}

}  // namespace

std::string snapshotHeading(const reader::AllocationSnapshot& snapshot, uint64_t threshold)
{
    // Short enough for an 80-column terminal; docs/terminal-reports.md says more.
    const std::string amount = reader::formatSize(snapshot.bytes) + " in " + allocations(snapshot.count);
    switch (snapshot.kind) {
        case reader::ReportKind::Leaks:
            return "Leaked memory: " + amount + " (not freed when the capture ended)";
        case reader::ReportKind::Temporary:
            return "Temporary allocations (threshold " + std::to_string(threshold) + "): " + amount;
        case reader::ReportKind::Peak:
            break;
    }
    return "Peak memory usage: " + amount;
}

}  // namespace memray::reporters
