// The data of an HTML report (docs/report-data.md is the contract), written from the
// analyses of the reader: a snapshot (peak, leaks, temporary) or its temporal form.
#pragma once

#include "memray/reader/allocation_snapshot.h"
#include "memray/reader/temporal_snapshot.h"
#include "memray/reporters/html_report.h"

#include <cstdint>
#include <string>

namespace memray::reporters {

struct ReportJsonOptions
{
    ReportView view = ReportView::Flamegraph;
    bool inverted = false;             // flamegraph: start in the inverted view
    bool split_threads = false;        // the analysis kept threads apart: offer the thread filter
    uint64_t temporary_threshold = 1;  // reported for ReportKind::Temporary
};

// The JSON object for `analysed`.
std::string snapshotReportJson(const reader::AnalysedCapture& analysed, const ReportJsonOptions& options);

// The same for a temporal flame graph: the tree of every location, its whole-capture usage as
// the initial view, and the slices and intervals the app recomputes any range from.
std::string temporalReportJson(const reader::AnalysedTemporalCapture& analysed, const ReportJsonOptions& options);

}  // namespace memray::reporters
