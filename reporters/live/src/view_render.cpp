// Drawing the live view's screen into a Grid (view_screen.h): title, header and graph, filter
// line, table or help, key line.
#include "memray/reader/call_tree.h"
#include "memray/reader/size_format.h"
#include "memray/reader/terminal_text.h"
#include "memray/reporters/text_layout.h"
#include "view_layout.h"
#include "view_screen.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace memray::live::view {
namespace {

std::string locationText(const LiveRow& row)
{
    std::string text = row.native ? std::string(reader::kNativeFrameMarker) + " " : std::string();
    reader::appendTerminalSafe(text, row.function);
    return text;
}

std::string formatDuration(uint64_t ms)
{
    char text[48];
    std::snprintf(text, sizeof(text), "%.1f s", static_cast<double>(ms) / 1000.0);
    return text;
}

// "41 s", "3.5 min", "2.0 h".
std::string formatSpan(uint64_t ms)
{
    char text[48];
    const double seconds = static_cast<double>(ms) / 1000.0;
    if (seconds < 60) {
        std::snprintf(text, sizeof(text), "%.0f s", seconds);
    } else if (seconds < 3600) {
        std::snprintf(text, sizeof(text), "%.1f min", seconds / 60);
    } else {
        std::snprintf(text, sizeof(text), "%.1f h", seconds / 3600);
    }
    return text;
}

// One line of labelled fields and plain text, drawn left to right up to a limit.
class LineWriter
{
  public:
    LineWriter(Grid& grid, int y, int x, int limit)
    : grid_(grid)
    , y_(y)
    , x_(x)
    , limit_(limit)
    {
    }

    LineWriter& text(std::string_view text, uint16_t attr = kPlain)
    {
        x_ = grid_.put(y_, x_, text, attr, limit_);
        return *this;
    }
    // "Label: value", after two spaces unless it is the first field; a value too long for
    // the rest of the line ends in `ellipsis` when one is given.
    LineWriter& field(std::string_view label, std::string_view value, uint16_t attr = kPlain,
                      std::string_view ellipsis = {})
    {
        if (fields_++ > 0) {
            text("  ");
        }
        text(label, kBold).text(": ");
        return text(ellipsis.empty() ? std::string(value) : fitEnd(value, room(), ellipsis), attr);
    }
    int x() const { return x_; }
    int room() const { return std::max(limit_ - x_, 0); }

  private:
    Grid& grid_;
    int y_;
    int x_;
    int limit_;
    int fields_ = 0;
};

struct Hint
{
    std::string key;
    std::string label;
    int priority;  // 0 first kept
};

// The key line: the hints that fit, by priority, in their order; `right` at the right end if it
// still fits.
void drawHints(Grid& grid, int y, const std::vector<Hint>& hints, std::string_view right)
{
    const auto widthOf = [](const Hint& hint) { return textWidth(hint.key) + 1 + textWidth(hint.label); };
    std::vector<size_t> order(hints.size());
    for (size_t i = 0; i < order.size(); ++i) {
        order[i] = i;
    }
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return hints[a].priority < hints[b].priority; });
    std::vector<bool> kept(hints.size(), false);
    int used = 1;
    for (size_t i : order) {
        const int width = widthOf(hints[i]) + (used > 1 ? 2 : 0);
        if (used + width <= grid.columns()) {
            kept[i] = true;
            used += width;
        }
    }
    int x = 1;
    bool first = true;
    for (size_t i = 0; i < hints.size(); ++i) {
        if (!kept[i]) {
            continue;
        }
        x = grid.put(y, first ? x : x + 2, hints[i].key, kReverse | kBold);
        x = grid.put(y, x, " " + hints[i].label);
        first = false;
    }
    const int right_width = textWidth(right);
    if (!right.empty() && x + 2 + right_width < grid.columns()) {
        grid.putRight(y, grid.columns() - 1, right, kDim);
    }
}


// Below this, being behind the writer is not worth a word (a chunk in flight).
constexpr uint64_t kBacklogShown = 256 * 1024;

struct Part
{
    std::string text;
    uint16_t attr = kPlain;
};

// What the status line says: pause, where the stream is, the caller's note, the backlog.
std::vector<Part> statusParts(const LiveFrame& frame, bool paused, std::string_view note)
{
    std::vector<Part> parts;
    if (paused) {
        parts.push_back({"Table updates paused", kYellow | kBold});
    }
    // The session's words follow the state's own, so that the line always starts with what
    // matters: "Ended abruptly: the capture stopped without its end: ...".
    std::string status = reader::terminalSafe(frame.status);
    switch (frame.state) {
        case StreamState::Waiting:
            if (!status.empty() && status[0] >= 'a' && status[0] <= 'z') {
                status[0] = static_cast<char>(status[0] - 'a' + 'A');
            }
            parts.push_back({status.empty() ? "Waiting for the capture stream" : status, kYellow});
            break;
        case StreamState::Following:
            break;
        case StreamState::Ended:
            parts.push_back({status.empty() ? "The program has ended" : "The program has ended: " + status, kBold});
            break;
        case StreamState::EndedAbruptly:
            parts.push_back({status.empty() ? "Ended abruptly" : "Ended abruptly: " + status, kRed | kBold});
            break;
        case StreamState::Error:
            parts.push_back({status.empty() ? "Error: the capture stream cannot be read" : "Error: " + status, kRed | kBold});
            break;
    }
    if (!note.empty()) {
        parts.push_back({reader::terminalSafe(note), kBold});
    }
    if (frame.backlog_bytes >= kBacklogShown) {
        parts.push_back({"behind by " + reader::formatSize(frame.backlog_bytes), kYellow});
    }
    return parts;
}

void drawStatus(Grid& grid, int y, int x, int limit, const std::vector<Part>& parts, const Glyphs& glyphs)
{
    if (parts.empty()) {
        return;
    }
    LineWriter line(grid, y, x, limit);
    line.text("Status:", kBold);
    for (size_t i = 0; i < parts.size(); ++i) {
        const std::string_view separator = i == 0 ? " " : "  ";
        line.text(separator).text(fitEnd(parts[i].text, line.room(), glyphs.ellipsis), parts[i].attr);
    }
}

// Cells the status line takes ("Status: a  b").
int statusWidth(const std::vector<Part>& parts)
{
    if (parts.empty()) {
        return 0;
    }
    int width = textWidth("Status:");
    for (const Part& part : parts) {
        width += 2 + textWidth(part.text);
    }
    return width - 1;
}

// `text` in lines of at most `width` cells, broken at spaces where it can be.
std::vector<std::string> wrap(std::string_view text, int width)
{
    std::vector<std::string> lines;
    std::string line;
    size_t at = 0;
    while (at < text.size() && width > 0) {
        const size_t space = text.find(' ', at);
        std::string word(text.substr(at, space == std::string_view::npos ? std::string_view::npos : space - at));
        at = space == std::string_view::npos ? text.size() : space + 1;
        while (!word.empty()) {
            const int room = width - textWidth(line) - (line.empty() ? 0 : 1);
            if (textWidth(word) <= room) {
                line += (line.empty() ? "" : " ") + word;
                word.clear();
            } else if (!line.empty()) {
                lines.push_back(std::move(line));
                line.clear();
            } else {  // a word longer than a line: cut it
                const std::string head = fitEnd(word, width, "");
                if (head.empty()) {
                    break;  // (a character wider than the line)
                }
                lines.push_back(head);
                word.erase(0, head.size());
            }
        }
    }
    if (!line.empty()) {
        lines.push_back(std::move(line));
    }
    return lines;
}

void drawTitle(Grid& grid, std::string_view title, std::string_view clock, const Glyphs& glyphs)
{
    if (grid.lines() < 1) {
        return;
    }
    grid.addAttr(0, 0, grid.columns(), kReverse);
    const int end = grid.put(0, 1, fitEnd(reader::terminalSafe(title), grid.columns() - 2, glyphs.ellipsis), kReverse | kBold);
    const int clock_x = grid.columns() - 1 - textWidth(clock);
    if (!clock.empty() && clock_x >= end + 2) {
        grid.put(0, clock_x, clock, kReverse);
    }
}

// The heap over time: one column per history point, or per run of points when there are more
// than columns (the highest of the run), newest at the right; scaled to the highest heap seen.
void drawGraph(Grid& grid, const Layout& layout, const LiveFrame& frame, uint64_t scale, const Glyphs& glyphs,
               bool caption)
{
    const int width = layout.graph_width;
    const int rows = layout.graph_rows;
    const std::vector<uint64_t>& history = frame.heap_history;
    std::vector<uint64_t> values;
    if (history.size() <= static_cast<size_t>(width)) {
        values = history;
    } else {
        const size_t per = (history.size() + static_cast<size_t>(width) - 1) / static_cast<size_t>(width);
        for (size_t from = 0; from < history.size(); from += per) {
            const auto to = history.begin() + static_cast<std::ptrdiff_t>(std::min(from + per, history.size()));
            values.push_back(*std::max_element(history.begin() + static_cast<std::ptrdiff_t>(from), to));
        }
    }
    const int first_x = layout.graph_x + width - static_cast<int>(values.size());
    for (size_t i = 0; i < values.size() && scale > 0; ++i) {
        const double share = static_cast<double>(values[i]) / static_cast<double>(scale);
        const int level = std::clamp(static_cast<int>(std::ceil(share * rows * 8)), 0, rows * 8);
        for (int row = 0; row < rows; ++row) {
            const int fill = std::clamp(level - (rows - 1 - row) * 8, 0, 8);
            grid.put(layout.graph_y + row, first_x + static_cast<int>(i), glyphs.bars[static_cast<size_t>(fill)], kCyan);
        }
    }
    if (!caption) {
        return;
    }
    const int caption_y = layout.graph_y + rows;
    const int right = layout.graph_x + width;
    const std::string max = scale > 0 ? "max " + reader::formatSize(scale) : std::string("no data yet");
    // What the graph spans, when the session says how far apart its points are.
    const uint64_t span_ms = frame.history_interval_ms * history.size();
    const std::string name = span_ms > 0 ? "Heap over " + formatSpan(span_ms) : std::string("Heap over time");
    if (textWidth(name) + 2 + textWidth(max) <= width) {
        grid.put(caption_y, layout.graph_x, name, kDim);
    }
    grid.putRight(caption_y, right, max, kDim, layout.graph_x);
}

void drawTable(Grid& grid, const Layout& layout, const std::vector<const LiveRow*>& rows, const LiveFrame& frame,
               const ViewState& state, int location_need, int file_need, const Glyphs& glyphs)
{
    const std::vector<PlacedColumn> columns = placeColumns(grid.columns(), state.sort, location_need, file_need, glyphs);
    const int heading_y = layout.table_header_y;
    grid.addAttr(heading_y, 0, grid.columns(), kReverse);
    for (const PlacedColumn& column : columns) {
        const uint16_t attr = kReverse | (column.sorted ? kBold | kUnderline : kPlain);
        if (column.id == Column::Location || column.id == Column::File) {
            grid.put(heading_y, column.x, column.heading, attr, column.x + column.width);
        } else {
            grid.putRight(heading_y, column.x + column.width, column.heading, attr, column.x);
        }
    }

    const size_t page = static_cast<size_t>(std::max(layout.table_rows, 0));
    if (rows.empty()) {
        // Say why; a status too long for the header's line is shown whole here.
        std::string why = !frame.rows.empty() ? "No function or file matches the filter"
                          : frame.snapshots == 0 ? "No data yet"
                                                 : "No live allocations";
        if (frame.state != StreamState::Following && !frame.status.empty()) {
            why = reader::terminalSafe(frame.status);
        }
        int y = layout.table_y;
        for (const std::string& line : wrap(why, grid.columns() - 2)) {
            if (y >= layout.table_y + layout.table_rows) {
                break;
            }
            grid.put(y++, 1, line, frame.state == StreamState::Following ? kDim : kPlain);
        }
        return;
    }
    const size_t first = rows.size() > page ? std::min(state.scroll, rows.size() - page) : 0;
    for (size_t i = 0; i < page && first + i < rows.size(); ++i) {
        const LiveRow& row = *rows[first + i];
        const int y = layout.table_y + static_cast<int>(i);
        for (const PlacedColumn& column : columns) {
            const int right = column.x + column.width;
            const auto figure = [&](const std::string& text) { grid.putRight(y, right, text, kPlain, column.x); };
            switch (column.id) {
                case Column::Location:
                    grid.put(y, column.x, fitEnd(locationText(row), column.width, glyphs.ellipsis), kPlain, right);
                    if (row.native) {
                        const int marker = static_cast<int>(reader::kNativeFrameMarker.size());
                        grid.addAttr(y, column.x, column.x + std::min(marker, column.width), kCyan);
                    }
                    break;
                case Column::Total:
                    figure(reader::formatSize(row.total_bytes));
                    break;
                case Column::TotalShare:
                    figure(reporters::formatPercent(row.total_bytes, frame.heap_bytes));
                    break;
                case Column::Own:
                    figure(reader::formatSize(row.own_bytes));
                    break;
                case Column::OwnShare:
                    figure(reporters::formatPercent(row.own_bytes, frame.heap_bytes));
                    break;
                case Column::Allocations:
                    figure(std::to_string(row.total_count));
                    break;
                case Column::File:
                    grid.put(y, column.x, fitStart(reader::terminalSafe(row.file), column.width, glyphs.ellipsis), kPlain, right);
                    break;
            }
        }
    }
}

// The keys, in place of the table.
void drawHelp(Grid& grid, const Layout& layout, const Glyphs& glyphs, std::chrono::milliseconds refresh)
{
    struct Entry
    {
        std::string keys;
        std::string what;
    };
    const auto join = [](std::initializer_list<std::string_view> words) {
        std::string out;
        for (std::string_view word : words) {
            out += out.empty() ? "" : " ";
            out += word;
        }
        return out;
    };
    const std::vector<Entry> entries = {
            {"t o a", "sort by Total, Own or Allocations"},
            {"m", "merge threads, or one at a time"},
            {join({"<", ">", glyphs.left, glyphs.right}), "previous / next thread"},
            {"space", "pause the table (header goes on)"},
            {join({glyphs.up, glyphs.down, "PgUp", "PgDn"}), "scroll the table"},
            {"Home End", "first / last rows"},
            {"/", "filter by function or file name"},
            {"", "(Enter keeps it, Esc clears it)"},
            {"+ -", "refresh every " + formatRefresh(refresh) + ": longer / shorter"},
            {"Ctrl-L", "redraw the screen"},
            {"?", "show or hide this help"},
            {"q Esc", "quit"},
    };
    int keys_width = 0;
    for (const Entry& entry : entries) {
        keys_width = std::max(keys_width, textWidth(entry.keys));
    }
    int y = layout.table_header_y;
    grid.addAttr(y, 0, grid.columns(), kReverse);
    grid.put(y, 1, "Keys", kReverse | kBold);
    for (const Entry& entry : entries) {
        if (++y >= layout.footer_y) {
            break;
        }
        grid.put(y, 2, entry.keys, kBold);
        grid.put(y, 2 + keys_width + 3, entry.what);
    }
}

std::string countText(size_t count, std::string_view one, std::string_view many)
{
    return std::to_string(count) + " " + std::string(count == 1 ? one : many);
}

}  // namespace

Grid LiveScreen::render(std::string_view title, std::string_view clock, std::string_view note) const
{
    Grid grid(state_.columns, state_.lines, state_.utf8);
    const Glyphs& glyphs = glyphsFor(state_.utf8);
    const Layout layout = layoutOf(state_, graph_max_ > 0);
    const LiveFrame& now = latest();
    const LiveFrame& table_frame = shown();
    drawTitle(grid, title, clock, glyphs);
    const std::vector<Part> status = statusParts(now, state_.paused, note);

    if (layout.compact) {
        // Too small for the table: the heap, the status, and why there is no more.
        if (layout.footer_y >= 1) {
            drawHints(grid, layout.footer_y, {{"q", "Quit", 0}}, {});
        }
        int y = 1;
        const auto next = [&]() { return y < layout.footer_y ? y++ : -1; };
        LineWriter(grid, next(), 1, grid.columns())
                .field("Heap", reader::formatSize(now.heap_bytes))
                .field("Peak", reader::formatSize(now.peak_heap_bytes));
        if (!status.empty()) {
            drawStatus(grid, next(), 1, grid.columns(), status, glyphs);
        }
        LineWriter(grid, next(), 1, grid.columns()).text("Window too small", kBold);
        return grid;
    }

    // Header.
    const int limit = layout.header_limit;
    LineWriter(grid, 1, 1, limit)
            .field("PID", now.pid ? std::to_string(now.pid) : "???")
            .field("CMD", now.command_line.empty() ? "???" : reader::terminalSafe(now.command_line), kPlain, glyphs.ellipsis);
    {
        LineWriter line(grid, 2, 1, limit);
        if (!table_frame.thread) {
            line.field("TID", "*").text("  All threads");
        } else {
            const auto& threads = now.threads;
            const auto it = std::find_if(threads.begin(), threads.end(),
                                         [&](const LiveThread& t) { return t.tid == *table_frame.thread; });
            if (it == threads.end()) {
                line.field("TID", "?").text("  Thread " + std::to_string(*table_frame.thread) + " (not seen yet)");
            } else {
                line.field("TID", it->os_tid ? std::to_string(it->os_tid) : "?")
                        .text("  Thread " + std::to_string(it - threads.begin() + 1) + " of " + std::to_string(threads.size()));
                if (!it->name.empty()) {
                    line.text(" (" + reader::terminalSafe(it->name) + ")");
                }
            }
        }
    }
    LineWriter(grid, 3, 1, limit)
            .field("Snapshots", std::to_string(now.snapshots))
            .field("Duration", formatDuration(now.capture_ms))
            .field("Refresh", formatRefresh(state_.refresh));
    LineWriter(grid, 4, 1, limit)
            .field("Heap", reader::formatSize(now.heap_bytes))
            .field("Peak", reader::formatSize(now.peak_heap_bytes))
            .field("RSS", now.rss_bytes ? reader::formatSize(now.rss_bytes) : "???");
    // A status too long for the header's side takes the graph's caption row as well.
    const bool wide_status = layout.graph_y == 1 && statusWidth(status) > limit - 1;
    drawStatus(grid, 5, 1, wide_status ? grid.columns() : limit, status, glyphs);
    if (layout.graph_width > 0) {
        drawGraph(grid, layout, now, graph_max_, glyphs, !wide_status);
    }

    const Table& rows = table();
    if (layout.filter_y >= 0) {
        LineWriter line(grid, layout.filter_y, 1, grid.columns());
        line.text("Filter:", kBold).text(" ").text(state_.filter, kUnderline);
        if (state_.editing_filter) {
            grid.cursor = CursorPosition{layout.filter_y, std::min(line.x(), grid.columns() - 1)};
        }
        line.text("  (" + std::to_string(rows.rows.size()) + " of " + countText(table_frame.rows.size(), "function)", "functions)"), kDim);
    }

    if (state_.help) {
        drawHelp(grid, layout, glyphs, state_.refresh);
    } else {
        drawTable(grid, layout, rows.rows, table_frame, state_, location_width_, file_width_, glyphs);
    }

    // Key line.
    std::vector<Hint> hints;
    std::string where;
    if (state_.editing_filter) {
        hints = {{"Enter", "Keep filter", 0}, {"Esc", "Clear filter", 0}};
    } else if (state_.help) {
        hints = {{"?", "Close help", 0}, {"q", "Quit", 0}};
    } else {
        hints.push_back({"q", "Quit", 0});
        hints.push_back({"t/o/a", "Sort", 4});
        hints.push_back({"m", state_.split ? "Merge" : "Split", 3});
        if (state_.split) {
            hints.push_back({"</>", "Thread", 5});
        }
        hints.push_back({"space", state_.paused ? "Resume" : "Pause", 2});
        hints.push_back({"/", "Filter", 6});
        hints.push_back({"+/-", "Refresh", 7});
        hints.push_back({"?", "Help", 1});
    }
    const size_t page = static_cast<size_t>(std::max(layout.table_rows, 0));
    if (!state_.help && rows.rows.size() > page && page > 0) {
        const size_t first = std::min(state_.scroll, rows.rows.size() - page);
        where = std::to_string(first + 1) + "-" + std::to_string(first + page) + " of " + std::to_string(rows.rows.size());
    }
    drawHints(grid, layout.footer_y, hints, where);
    return grid;
}

}  // namespace memray::live::view
