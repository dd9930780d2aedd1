#include "memray/reporters/summary_table.h"

#include "memray/reader/size_format.h"
#include "memray/reporters/text_layout.h"
#include "memray/reporters/text_style.h"

#include <algorithm>
#include <array>

namespace memray::reporters {
namespace {

constexpr size_t kColumns = 6;
constexpr std::array<const char*, kColumns> kHeadings = {
        "Location", "Total Memory", "Total Memory %", "Own Memory", "Own Memory %", "Allocation Count"};
// Locations are never shortened below this, however narrow the terminal.
constexpr size_t kMinLocationWidth = 20;

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

// The location in `width` cells: the function whole and the end of its file (where the file's
// name is) if that leaves room for enough of the file, else the start and end of it all.
std::string shortenLocation(const FunctionUsage& usage, size_t width)
{
    constexpr size_t kMinFileTail = 8;
    const std::string location = functionLocation(usage);
    const size_t head = displayWidth(usage.function) + 4;  // "function at "
    if (displayWidth(location) <= width || usage.file.empty() || head + 1 + kMinFileTail > width) {
        return elideMiddle(location, width);
    }
    return usage.function + " at …" + lastCells(usage.file, width - head - 1);
}

}  // namespace

std::string functionLocation(const FunctionUsage& usage)
{
    return usage.file.empty() ? usage.function : usage.function + " at " + usage.file;
}

std::string renderSummaryTable(const std::vector<FunctionUsage>& functions, uint64_t snapshot_bytes,
                               const SummaryTableOptions& options)
{
    const size_t shown = options.max_rows == 0 ? functions.size() : std::min(functions.size(), options.max_rows);
    Row heading;
    for (size_t column = 0; column < kColumns; ++column) {
        heading[column].text = kHeadings[column];
    }
    const auto sorted = static_cast<size_t>(options.sort_column);
    heading[sorted].text = "<" + heading[sorted].text + ">";

    std::vector<Row> rows;
    rows.reserve(shown);
    std::array<size_t, kColumns> widths{};
    for (size_t column = 0; column < kColumns; ++column) {
        widths[column] = displayWidth(heading[column].text);
    }
    for (size_t i = 0; i < shown; ++i) {
        rows.push_back(rowOf(functions[i], snapshot_bytes));
        for (size_t column = 0; column < kColumns; ++column) {
            widths[column] = std::max(widths[column], displayWidth(rows.back()[column].text));
        }
    }
    if (options.max_width > 0) {
        // Each column takes its width plus 3 cells of border and padding, and the last border 1.
        size_t figures = 1;
        for (size_t column = 0; column < kColumns; ++column) {
            figures += widths[column] + 3;
        }
        figures -= widths[0];
        const size_t room = options.max_width > figures ? options.max_width - figures : 0;
        widths[0] = std::min(widths[0], std::max(room, std::max(kMinLocationWidth, displayWidth(heading[0].text))));
    }

    for (size_t i = 0; i < rows.size(); ++i) {
        rows[i][0].text = shortenLocation(functions[i], widths[0]);
    }

    const Painter paint(options.colour);
    TableWriter table(widths, paint);
    table.rule("┌", "┬", "┐");
    table.row(heading, true);
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
