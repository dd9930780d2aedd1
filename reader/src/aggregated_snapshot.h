// Peak and leaks snapshots of an aggregated capture, from its checkpoints (see
// docs/capture-format.md "Aggregated captures"): the other half of analyseCapture.
#pragma once

#include "location_interner.h"
#include "memray/reader/allocation_snapshot.h"

#include <vector>

namespace memray::reader {

// The state of every location as of the last complete checkpoint, and the checkpoint being read
// (the peak and leaks reports read it to the end; the live view as the checkpoints arrive).
class CheckpointState
{
  public:
    void add(const Record& record)
    {
        switch (record.kind) {
            case RecordKind::AggregateBegin:
                pending_totals_ = record.totals;
                pending_.clear();
                in_checkpoint_ = true;
                break;
            case RecordKind::AggregateLocation:
                if (in_checkpoint_) {
                    pending_.push_back(record.location);
                }
                break;
            case RecordKind::AggregateEnd:
                if (in_checkpoint_) {
                    commit();
                }
                break;
            default:
                break;
        }
    }

    const format::AggregateTotals& totals() const { return totals_; }

    // Each location's figures (at the peak, or live for leaks), merged into `split_threads`'s keys.
    std::vector<LocationUsage> usage(ReportKind kind, bool split_threads) const
    {
        LocationInterner merged;
        std::vector<LocationUsage> usage;
        for (const format::AggregateLocation& location : locations_) {
            const bool peak = kind == ReportKind::Peak;
            const uint64_t bytes = peak ? location.bytesAtPeak(totals_.peak_events) : location.live_bytes;
            const uint64_t count = peak ? location.countAtPeak(totals_.peak_events) : location.live_count;
            const LocationKey key = keyOf(location, split_threads);
            const uint32_t index = merged.intern(key);
            if (index == usage.size()) {
                usage.push_back(LocationUsage{key, 0, 0});
            }
            usage[index].bytes += bytes;
            usage[index].count += count;
        }
        return usage;
    }

  private:
    static LocationKey keyOf(const format::AggregateLocation& location, bool split_threads)
    {
        return LocationKey{location.stack_id, location.native_stack_id, split_threads ? location.tid : 0,
                           location.allocator};
    }

    // The checkpoint is complete: its location records replace what earlier ones said.
    void commit()
    {
        for (const format::AggregateLocation& location : pending_) {
            const uint32_t index = keys_.intern(keyOf(location, true));
            if (index == locations_.size()) {
                locations_.push_back(location);
            } else {
                locations_[index] = location;
            }
        }
        pending_.clear();
        totals_ = pending_totals_;
        in_checkpoint_ = false;
    }

    format::AggregateTotals totals_;
    LocationInterner keys_;  // (tid, stack, native stack, allocator) -> index in locations_
    std::vector<format::AggregateLocation> locations_;

    bool in_checkpoint_ = false;
    format::AggregateTotals pending_totals_;
    std::vector<format::AggregateLocation> pending_;
};


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
