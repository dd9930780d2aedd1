// `memray flamegraph` and `memray table`: one implementation, two sets of options. Each reads
// a capture, analyses it (peak, leaks or temporary allocations; temporal for the flame graph)
// and writes a self-contained HTML report.
#pragma once

#include "memray/reporters/html_report.h"

#include <string>
#include <string_view>

namespace memray::cli {

struct HtmlReportCommand
{
    const char* name;  // "flamegraph", "table"
    reporters::ReportView view;
    bool flamegraph_options;  // --temporal, --inverted, --max-memory-records
    const char* usage;
};

int runHtmlReportCommand(const HtmlReportCommand& command, int argc, char** argv);

// memray's default report name: "<directory of capture>/memray-<view>-<capture name without a
// leading "memray-" and with its last extension replaced by .html>", e.g. out/memray-app.py.12.bin
// -> out/memray-flamegraph-app.py.12.html.
std::string defaultHtmlReportPath(const std::string& capture, std::string_view view);

}  // namespace memray::cli
