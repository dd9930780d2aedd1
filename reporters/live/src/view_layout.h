// Where things go on the live view's screen: the rows of the header, the graph and the table
// for a window size, the table's columns, and the characters that differ without UTF-8.
// Internal to the view (view_screen.cpp, view_render.cpp).
#pragma once

#include "view_screen.h"

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace memray::live::view {

// The characters that differ between a UTF-8 terminal and a plain ASCII one.
struct Glyphs
{
    std::string_view ellipsis;
    std::string_view sort_marker;          // before the sorted column's heading
    std::array<std::string_view, 9> bars;  // a graph cell filled 0/8 .. 8/8 from the bottom
    std::string_view up, down, left, right;
};

const Glyphs& glyphsFor(bool utf8);

// Below this the screen shows only a few lines and says the window is too small.
constexpr int kMinColumns = 40;
constexpr int kMinLines = 10;
// Header rows under the title: PID/CMD, thread, snapshots, heap, status.
constexpr int kHeaderRows = 5;
// Longest a name is remembered as for the table's column widths.
constexpr int kMaxRememberedWidth = 80;

struct Layout
{
    bool compact = false;  // too small: a few lines and a word about it
    int header_limit = 0;  // the header's left block ends before this column
    int graph_x = 0;
    int graph_y = 0;
    int graph_width = 0;  // 0: no graph
    int graph_rows = 0;   // bar rows; the caption is the row below them
    int filter_y = -1;    // -1: no filter line
    int table_header_y = 0;
    int table_y = 0;
    int table_rows = 0;
    int footer_y = 0;
};

// `graph`: whether there is a heap graph to show (none before the first data).
Layout layoutOf(const ViewState& state, bool graph);

// Table columns, left to right.
enum class Column { Location, Total, TotalShare, Own, OwnShare, Allocations, File };

struct PlacedColumn
{
    Column id;
    std::string heading;  // with the sort marker in front when sorted
    bool sorted = false;
    int x = 0;
    int width = 0;
};

// Which columns fit in `columns` cells, where, and how wide. Figures keep their width; the
// location and the file share what is left, the location first (up to `location_need` cells).
// Narrow windows lose the file, then the shares, then the counts (never the sorted column).
std::vector<PlacedColumn> placeColumns(int columns, SortColumn sort, int location_need, int file_need, const Glyphs& glyphs);

// The shown frame's rows, filtered and in order.
struct LiveScreen::Table
{
    std::shared_ptr<const LiveFrame> frame;
    SortColumn sort;
    std::string filter;
    std::vector<const LiveRow*> rows;
};

}  // namespace memray::live::view
