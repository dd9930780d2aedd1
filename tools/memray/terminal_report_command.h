// What `memray tree` and `memray summary` share once their options are read: analysing the
// capture with the CLI's errors and warnings, and printing a heading and the report.
#pragma once

#include "memray/reader/allocation_snapshot.h"

#include <functional>
#include <string>
#include <string_view>

namespace memray::cli {

// Renders the report of an analysed capture (not called when the snapshot is empty);
// `colour`: whether standard output wants colours.
using TerminalRenderer = std::function<std::string(const reader::AnalysedCapture& analysed, bool colour)>;

// Analyses `capture` as `options` say, then prints the snapshot's heading and what `render`
// made of it. Returns the exit status: 1 after a one-line error when the capture cannot be read.
int runTerminalReport(std::string_view command, const std::string& capture, const reader::SnapshotOptions& options,
                      const TerminalRenderer& render);

}  // namespace memray::cli
