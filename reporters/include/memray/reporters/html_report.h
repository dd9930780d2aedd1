// The HTML reports: one self-contained page (no network access at all) holding a web app and
// the report's data, as docs/report-data.md describes.
#pragma once

#include <ostream>
#include <string>
#include <string_view>

namespace memray::reporters {

enum class ReportView {
    Flamegraph,
    Table,
};

std::string_view viewName(ReportView view);  // "flamegraph", "table"

// Writes the page of `view` titled `title` (plain text; escaped here) with `data_json` (the
// JSON object of docs/report-data.md) inside its data element, every "<" written as \u003c
// so that no string in the data can end the element.
void writeHtmlReport(std::ostream& out, ReportView view, std::string_view title, std::string_view data_json);
std::string renderHtmlReport(ReportView view, std::string_view title, std::string_view data_json);

}  // namespace memray::reporters
