#include "aggregated_snapshot.h"

namespace memray::reader {

bool usesCheckpoints(const CaptureReader& capture, const SnapshotOptions& options)
{
    switch (options.source) {
        case SnapshotSource::Records:
            capture.requireAllocationRecords("a report from the allocation records");
            return false;
        case SnapshotSource::Checkpoints:
            if (!capture.isAggregated()) {
                throw CaptureError(capture.path() + " was not captured with --aggregate: it has no checkpoints");
            }
            if (options.kind == ReportKind::Temporary) {
                throw AggregatedCaptureError(capture.path() + ": checkpoints cannot show temporary allocations, "
                                                              "which need every allocation");
            }
            return true;
        case SnapshotSource::Auto:
            break;
    }
    if (options.kind == ReportKind::Temporary) {
        capture.requireAllocationRecords("a temporary allocations report");
        return false;
    }
    return capture.isAggregated();
}

std::vector<LocationUsage> usageFromCheckpoints(CaptureReader& capture, const SnapshotOptions& options,
                                                AllocationSnapshot* snapshot)
{
    CheckpointState state;
    Record record;
    while (capture.next(record)) {
        if (record.kind == RecordKind::Memory) {
            snapshot->memory.push_back(MemoryPoint{record.time, record.rss, record.heap});
        } else {
            state.add(record);
        }
    }
    capture.throwIfCorrupt();
    snapshot->peak_bytes = state.totals().peak_bytes;
    snapshot->total_allocations = state.totals().allocations;
    snapshot->total_bytes = state.totals().allocated_bytes;
    return state.usage(options.kind, options.split_threads);
}

}  // namespace memray::reader
