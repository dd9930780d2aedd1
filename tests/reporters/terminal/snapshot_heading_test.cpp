// The line that says which allocations a report shows.
#include "memray/reporters/snapshot_heading.h"

#include <gtest/gtest.h>

namespace memray::reporters {
namespace {

reader::AllocationSnapshot snapshotOf(reader::ReportKind kind, uint64_t bytes, uint64_t count)
{
    reader::AllocationSnapshot snapshot;
    snapshot.kind = kind;
    snapshot.bytes = bytes;
    snapshot.count = count;
    return snapshot;
}

TEST(SnapshotHeading, SaysWhichAllocationsAndHowMuch)
{
    EXPECT_EQ(snapshotHeading(snapshotOf(reader::ReportKind::Peak, 16777216, 3), 1),
              "Peak memory usage: 16.777MB in 3 allocations");
    EXPECT_EQ(snapshotHeading(snapshotOf(reader::ReportKind::Leaks, 5242880, 1), 1),
              "Leaked memory: 5.243MB in 1 allocation (not freed when the capture ended)");
    EXPECT_EQ(snapshotHeading(snapshotOf(reader::ReportKind::Temporary, 0, 0), 1),
              "Temporary allocations (threshold 1): 0.000B in 0 allocations");
    EXPECT_EQ(snapshotHeading(snapshotOf(reader::ReportKind::Temporary, 10, 2), 5),
              "Temporary allocations (threshold 5): 10.000B in 2 allocations");
}

}  // namespace
}  // namespace memray::reporters
