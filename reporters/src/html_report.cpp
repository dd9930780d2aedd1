#include "memray/reporters/html_report.h"

#include "embedded_templates.h"

#include <sstream>
#include <stdexcept>

namespace memray::reporters {

namespace {

constexpr std::string_view kTitleMarker = "<!--MEMRAY:TITLE-->";
constexpr std::string_view kDataMarker = "<!--MEMRAY:DATA-->";

std::string_view templateOf(ReportView view)
{
    return view == ReportView::Flamegraph ? flamegraphTemplate() : tableTemplate();
}

void writeEscapedText(std::ostream& out, std::string_view text)
{
    for (char c : text) {
        switch (c) {
            case '&': out << "&amp;"; break;
            case '<': out << "&lt;"; break;
            case '>': out << "&gt;"; break;
            case '"': out << "&quot;"; break;
            default: out << c;
        }
    }
}

// "<" only ever occurs inside JSON strings, where \u003c means the same character.
void writeScriptSafeJson(std::ostream& out, std::string_view json)
{
    size_t start = 0;
    for (size_t lt = json.find('<'); lt != std::string_view::npos; lt = json.find('<', start)) {
        out.write(json.data() + start, static_cast<std::streamsize>(lt - start));
        out << "\\u003c";
        start = lt + 1;
    }
    out.write(json.data() + start, static_cast<std::streamsize>(json.size() - start));
}

}  // namespace

std::string_view viewName(ReportView view)
{
    return view == ReportView::Flamegraph ? "flamegraph" : "table";
}

void writeHtmlReport(std::ostream& out, ReportView view, std::string_view title, std::string_view data_json)
{
    const std::string_view page = templateOf(view);
    // The build checks that each marker occurs exactly once, the title's first.
    const size_t title_at = page.find(kTitleMarker);
    const size_t data_at = page.find(kDataMarker);
    if (title_at == std::string_view::npos || data_at == std::string_view::npos || data_at < title_at) {
        throw std::logic_error("the embedded report template lacks its markers (a broken build)");
    }
    out << page.substr(0, title_at);
    writeEscapedText(out, title);
    const size_t after_title = title_at + kTitleMarker.size();
    out << page.substr(after_title, data_at - after_title);
    writeScriptSafeJson(out, data_json);
    out << page.substr(data_at + kDataMarker.size());
}

std::string renderHtmlReport(ReportView view, std::string_view title, std::string_view data_json)
{
    std::ostringstream out;
    writeHtmlReport(out, view, title, data_json);
    return std::move(out).str();
}

}  // namespace memray::reporters
