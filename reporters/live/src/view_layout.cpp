#include "view_layout.h"

#include "view_grid.h"

#include <algorithm>

namespace memray::live::view {
namespace {

constexpr Glyphs kUtf8Glyphs{"…", "▼ ", {" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"}, "↑", "↓", "←", "→"};
constexpr Glyphs kAsciiGlyphs{"~", "v ", {" ", ".", ".", ".", ":", ":", ":", ":", "#"}, "Up", "Down", "Left", "Right"};

constexpr int kMaxGraphWidth = 60;
constexpr int kMinGraphWidth = 16;
constexpr int kHeaderTextWidth = 50;  // what the header's left block wants next to the graph
constexpr int kMinLocationWidth = 12;
constexpr int kMinFileWidth = 8;
constexpr int kComfortableLocationWidth = 24;

// The figures' columns: their headings (a short one for windows where the long one would
// squeeze the location) and the widest figure each shows.
struct ColumnSpec
{
    Column id;
    std::string_view heading;
    std::string_view short_heading;
    int figure_width;
    bool sortable;
};

constexpr std::array<ColumnSpec, 5> kFigureColumns = {{
        {Column::Total, "Total", "Total", 9, true},  // "999.999MB"
        {Column::TotalShare, "% Total", "% Total", 7, false},  // "100.00%"
        {Column::Own, "Own", "Own", 9, true},
        {Column::OwnShare, "% Own", "% Own", 7, false},
        {Column::Allocations, "Allocations", "Allocs", 9, true},  // up to 999,999,999
}};

// With less than this for the location and the file, the short headings.
constexpr int kRoomForLongHeadings = 40;

Column sortedColumn(SortColumn sort)
{
    switch (sort) {
        case SortColumn::Own:
            return Column::Own;
        case SortColumn::Allocations:
            return Column::Allocations;
        case SortColumn::Total:
            break;
    }
    return Column::Total;
}

}  // namespace

const Glyphs& glyphsFor(bool utf8)
{
    return utf8 ? kUtf8Glyphs : kAsciiGlyphs;
}

Layout layoutOf(const ViewState& state, bool graph)
{
    Layout layout;
    const int columns = state.columns;
    const int lines = state.lines;
    layout.footer_y = lines - 1;
    if (columns < kMinColumns || lines < kMinLines) {
        layout.compact = true;
        return layout;
    }
    int y = 1 + kHeaderRows;
    const int graph_width = graph ? std::min(kMaxGraphWidth, columns - kHeaderTextWidth - 1) : 0;
    if (graph_width >= kMinGraphWidth) {  // beside the header
        layout.graph_width = graph_width;
        layout.graph_x = columns - graph_width;
        layout.graph_y = 1;
        layout.graph_rows = kHeaderRows - 1;
        layout.header_limit = layout.graph_x - 1;
    } else {
        layout.header_limit = columns;
        if (graph && lines >= 22) {  // below it, two rows high, when the table keeps room
            layout.graph_width = columns - 2;
            layout.graph_x = 1;
            layout.graph_y = y;
            layout.graph_rows = 2;
            y += 3;
        }
    }
    if (state.editing_filter || !state.filter.empty()) {
        layout.filter_y = y++;
    }
    layout.table_header_y = y;
    layout.table_y = y + 1;
    layout.table_rows = std::max(0, layout.footer_y - layout.table_y);
    return layout;
}

std::vector<PlacedColumn> placeColumns(int columns, SortColumn sort, int location_need, int file_need, const Glyphs& glyphs)
{
    // Two spaces between columns, always: the screen read as text (tmux capture-pane, a
    // copy and paste) splits into its cells at runs of two or more.
    constexpr int gap = 2;
    const Column sorted = sortedColumn(sort);
    const auto figureColumns = [&](bool short_headings) {
        std::vector<PlacedColumn> figures;
        for (const ColumnSpec& spec : kFigureColumns) {
            PlacedColumn column{spec.id, std::string(short_headings ? spec.short_heading : spec.heading)};
            column.sorted = spec.id == sorted;
            // A column that can be sorted has room for the marker whether sorted or not, so
            // that a new sort moves no column.
            column.width = std::max(spec.figure_width,
                                    (spec.sortable ? textWidth(glyphs.sort_marker) : 0) + textWidth(column.heading));
            if (column.sorted) {
                column.heading = std::string(glyphs.sort_marker) + column.heading;
            }
            figures.push_back(column);
        }
        return figures;
    };
    std::vector<PlacedColumn> figures = figureColumns(false);
    const auto figuresWidth = [&] {
        int width = 0;
        for (const PlacedColumn& column : figures) {
            width += gap + column.width;
        }
        return width;
    };
    if (columns - figuresWidth() - gap < kRoomForLongHeadings) {
        figures = figureColumns(true);
    }
    for (Column drop : {Column::OwnShare, Column::TotalShare, Column::Allocations, Column::Own, Column::Total}) {
        if (columns - figuresWidth() >= kMinLocationWidth) {
            break;
        }
        if (drop != sorted) {
            std::erase_if(figures, [drop](const PlacedColumn& column) { return column.id == drop; });
        }
    }
    location_need = std::max(location_need, textWidth("Location"));
    file_need = std::max(file_need, textWidth("File/Module"));
    const int room = std::max(columns - figuresWidth(), 0);  // for the location, and the file
    int location = room;
    int file = 0;
    if (room - gap >= kMinLocationWidth + kMinFileWidth) {
        const int shared = room - gap;
        if (location_need + file_need <= shared) {
            // Room for both: the location gets a little more than it needs, to read apart.
            location = std::max(location_need, std::min(shared - file_need, kComfortableLocationWidth));
        } else {
            location = std::min(location_need, shared - std::min(file_need, shared * 2 / 5));
            location = std::max(location, kMinLocationWidth);
        }
        file = shared - location;
    }
    std::vector<PlacedColumn> placed;
    placed.push_back(PlacedColumn{Column::Location, "Location", false, 0, location});
    int x = location;
    for (PlacedColumn& column : figures) {
        column.x = x + gap;
        x = column.x + column.width;
        placed.push_back(column);
    }
    if (file > 0) {
        placed.push_back(PlacedColumn{Column::File, "File/Module", false, x + gap, file});
    }
    return placed;
}

}  // namespace memray::live::view
