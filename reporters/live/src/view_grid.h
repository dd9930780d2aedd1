// The live view's screen as a grid of cells, before curses sees it.
//
// The screen model (view_screen.h) draws into a Grid; the terminal loop (view_terminal.cpp)
// copies the grid to curses, and the tests read it as text. Every write is clipped to the grid,
// so nothing the model computes can land outside the window, however small it is.
//
// Widths are counted in terminal cells without the C library's wcwidth (which depends on the
// locale, and the tests run in "C"): East Asian wide characters take two cells, combining marks
// join the cell before them, and invisible format characters (zero-width spaces, bidi
// overrides) are dropped. In ASCII mode (a terminal without UTF-8) every code point outside
// ASCII is drawn as '?'.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace memray::live::view {

// Cell attributes, combined with |.
enum Attr : uint16_t {
    kPlain = 0,
    kBold = 1 << 0,
    kUnderline = 1 << 1,
    kReverse = 1 << 2,
    kDim = 1 << 3,
    kRed = 1 << 4,
    kYellow = 1 << 5,
    kGreen = 1 << 6,
    kCyan = 1 << 7,
};

struct Cell
{
    std::string glyph = " ";    // one character (UTF-8), plus any combining marks; "" after a wide one
    uint16_t attr = kPlain;
    bool wide = false;          // takes this cell and the next (whose glyph is "")
};

struct CursorPosition
{
    int line = 0;
    int column = 0;
};

// Appends code point `cp` to `out` in UTF-8.
void appendUtf8(std::string& out, char32_t cp);

// Cells `text` takes on the screen (see above).
int textWidth(std::string_view text);

// `text` cut to at most `width` cells: its start and `ellipsis` (the location of a function:
// its name's start matters), or `ellipsis` and its end (a file: its name is at the end).
std::string fitEnd(std::string_view text, int width, std::string_view ellipsis);
std::string fitStart(std::string_view text, int width, std::string_view ellipsis);

class Grid
{
  public:
    Grid(int columns, int lines, bool utf8);

    int columns() const { return columns_; }
    int lines() const { return lines_; }
    bool utf8() const { return utf8_; }

    // Writes `text` from (line, column), cells at or after `limit` (default: the right edge)
    // left untouched; returns the column after the last cell written.
    int put(int line, int column, std::string_view text, uint16_t attr = kPlain, int limit = -1);
    // `text` ending just before `right` (exclusive), clipped on its left at `left`.
    void putRight(int line, int right, std::string_view text, uint16_t attr = kPlain, int left = 0);
    // Adds `attr` to the cells [from, to) of a line (a bar in reverse video, an underline).
    void addAttr(int line, int from, int to, uint16_t attr);

    const Cell& at(int line, int column) const { return cells_[static_cast<size_t>(line * columns_ + column)]; }
    // A line's text (wide characters once), trailing spaces removed.
    std::string lineText(int line) const;
    // Every line's text, each ended by '\n'.
    std::string text() const;

    // Where the terminal's cursor should stand (the filter prompt), if it should show.
    std::optional<CursorPosition> cursor;

  private:
    Cell& cell(int line, int column) { return cells_[static_cast<size_t>(line * columns_ + column)]; }

    int columns_;
    int lines_;
    bool utf8_;
    std::vector<Cell> cells_;
};

}  // namespace memray::live::view
