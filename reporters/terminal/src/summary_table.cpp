#include "memray/reporters/summary_table.h"

#include "memray/reader/size_format.h"
#include "memray/reader/terminal_text.h"
#include "memray/reporters/text_layout.h"
#include "memray/reporters/text_style.h"

#include <algorithm>
#include <array>

namespace memray::reporters {
namespace {

constexpr size_t kColumns = 6;
constexpr std::array<const char*, kColumns> kHeadings = {
        "Location", "Total Memory", "Total Memory %", "Own Memory", "Own Memory %", "Allocation Count"};
// Locations are never shortened below this, however narrow the terminal (16 cells: a table
// with two-line headings fits 80 columns).
constexpr size_t kMinLocationWidth = 16;

struct Cell
{
    std::string text;
    double share = 0.0;  // colours the cell when > 0
};
using Row = std::array<Cell, kColumns>;

Row rowOf(const FunctionUsage& usage, uint64_t whole)
{
    const double total_share = percentOf(usage.total_bytes, whole);
    const double own_share = percentOf(usage.own_bytes, whole);
    return Row{Cell{functionLocation(usage)},
               Cell{reader::formatSize(usage.total_bytes), total_share},
               Cell{formatPercent(usage.total_bytes, whole), total_share},
               Cell{reader::formatSize(usage.own_bytes), own_share},
               Cell{formatPercent(usage.own_bytes, whole), own_share},
               Cell{std::to_string(usage.own_count)}};
}

class TableWriter
{
  public:
    TableWriter(const std::array<size_t, kColumns>& widths, const Painter& paint)
    : widths_(widths)
    , paint_(paint)
    {
    }

    // A horizontal rule, e.g. ("┌", "┬", "┐").
    void rule(const char* left, const char* middle, const char* right)
    {
        std::string line = left;
        for (size_t column = 0; column < kColumns; ++column) {
            for (size_t i = 0; i < widths_[column] + 2; ++i) {
                line += "─";
            }
            line += column + 1 < kColumns ? middle : right;
        }
        out_ += paint_.dim(line) + "\n";
    }

    // The first column is left-aligned, the figures right-aligned.
    void row(const Row& cells, bool heading)
    {
        for (size_t column = 0; column < kColumns; ++column) {
            const std::string text = column == 0 ? padRight(cells[column].text, widths_[0])
                                                 : padLeft(cells[column].text, widths_[column]);
            out_ += paint_.dim(column == 0 ? "│ " : " │ ");
            out_ += heading ? paint_.bold(text) : cells[column].share > 0 ? paint_.share(text, cells[column].share) : text;
        }
        out_ += paint_.dim(" │") + "\n";
    }

    std::string& text() { return out_; }

  private:
    std::array<size_t, kColumns> widths_;
    const Painter& paint_;
    std::string out_;
};

// The headings, on one line or, for narrow terminals, two ("Total" over "Memory %"); the sort
// column's in <>.
std::vector<Row> headingRows(SummaryColumn sort_column, bool two_lines)
{
    std::vector<Row> lines(two_lines ? 2 : 1);
    for (size_t column = 0; column < kColumns; ++column) {
        std::string text = kHeadings[column];
        if (column == static_cast<size_t>(sort_column)) {
            text = "<" + text + ">";
        }
        const size_t space = text.find(' ');
        if (two_lines && space != std::string::npos) {
            lines[0][column].text = text.substr(0, space);
            lines[1][column].text = text.substr(space + 1);
        } else {
            lines[0][column].text = text;
        }
    }
    return lines;
}

std::array<size_t, kColumns> columnWidths(const std::vector<Row>& heading, const std::vector<Row>& rows)
{
    std::array<size_t, kColumns> widths{};
    for (const std::vector<Row>* part : {&heading, &rows}) {
        for (const Row& row : *part) {
            for (size_t column = 0; column < kColumns; ++column) {
                widths[column] = std::max(widths[column], displayWidth(row[column].text));
            }
        }
    }
    return widths;
}

// Cells a table of these column widths takes: each column its width plus 3 of border and
// padding, and 1 for the last border.
size_t tableWidth(const std::array<size_t, kColumns>& widths)
{
    size_t width = 1;
    for (size_t column_width : widths) {
        width += column_width + 3;
    }
    return width;
}

// The location in `width` cells, keeping what tells functions apart first: the function's
// name whole, then the end of its file (where the file's name is), as "function at …name.py",
// or, with less room, "function …name.py"; only a name too long on its own loses its middle.
// The function as the table names it: native ones carry the marker in front, so shortening
// (which keeps a name's start) keeps it.
// Names come from the capture: their control characters are escaped (reader/terminal_text.h).
std::string functionName(const FunctionUsage& usage)
{
    const std::string function = reader::terminalSafe(usage.function);
    return usage.native ? std::string(reader::kNativeFrameMarker) + " " + function : function;
}

std::string shortenLocation(const FunctionUsage& usage, size_t width)
{
    constexpr size_t kMinFileTail = 8;
    const std::string location = functionLocation(usage);
    const std::string function = functionName(usage);
    const size_t name = displayWidth(function);
    if (displayWidth(location) <= width || usage.file.empty()) {
        return elideMiddle(location, width);
    }
    if (name + 5 + kMinFileTail <= width) {  // " at …"
        return function + " at …" + lastCells(reader::terminalSafe(usage.file), width - name - 5);
    }
    if (name + 3 <= width) {  // " …" and at least one cell of the file
        return function + " …" + lastCells(reader::terminalSafe(usage.file), width - name - 2);
    }
    return elideMiddle(function, width);
}

}  // namespace

std::string functionLocation(const FunctionUsage& usage)
{
    const std::string function = functionName(usage);
    return usage.file.empty() ? function : function + " at " + reader::terminalSafe(usage.file);
}

std::string renderSummaryTable(const std::vector<FunctionUsage>& functions, uint64_t snapshot_bytes,
                               const SummaryTableOptions& options)
{
    const size_t shown = options.max_rows == 0 ? functions.size() : std::min(functions.size(), options.max_rows);
    std::vector<Row> rows;
    rows.reserve(shown);
    for (size_t i = 0; i < shown; ++i) {
        rows.push_back(rowOf(functions[i], snapshot_bytes));
    }
    std::vector<Row> heading = headingRows(options.sort_column, false);
    std::array<size_t, kColumns> widths = columnWidths(heading, rows);
    if (options.max_width > 0 && tableWidth(widths) > options.max_width) {
        // Too wide for the terminal: headings on two lines narrow the figures' columns, then
        // the location gives up what is still missing.
        heading = headingRows(options.sort_column, true);
        widths = columnWidths(heading, rows);
        const size_t figures = tableWidth(widths) - widths[0];
        const size_t room = options.max_width > figures ? options.max_width - figures : 0;
        widths[0] = std::min(widths[0], std::max(room, kMinLocationWidth));
    }
    for (size_t i = 0; i < rows.size(); ++i) {
        rows[i][0].text = shortenLocation(functions[i], widths[0]);
    }

    const Painter paint(options.colour);
    TableWriter table(widths, paint);
    table.rule("┌", "┬", "┐");
    for (const Row& line : heading) {
        table.row(line, true);
    }
    table.rule("├", "┼", "┤");
    for (const Row& row : rows) {
        table.row(row, false);
    }
    table.rule("└", "┴", "┘");
    std::string out = std::move(table.text());
    if (shown < functions.size()) {
        const size_t rest = functions.size() - shown;
        out += paint.dim("… " + std::to_string(rest) + (rest == 1 ? " more function" : " more functions")
                         + " not shown (see -r/--max-rows)")
               + "\n";
    }
    return out;
}

}  // namespace memray::reporters
