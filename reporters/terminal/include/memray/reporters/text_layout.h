// Laying out plain text in columns: widths in terminal cells, padding, shortening, percentages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace memray::reporters {

// Terminal cells `text` takes: one per UTF-8 code point (function names and paths may be
// non-ASCII; wide characters are rare enough in them to count as one).
size_t displayWidth(std::string_view text);

// `text` padded with spaces to `width` cells, on the right (left-aligned) or the left.
std::string padRight(std::string_view text, size_t width);
std::string padLeft(std::string_view text, size_t width);

// `text` if it fits in `width` cells, else its start and end around "…", `width` cells in all
// (both ends matter in a location: the function at the start, the file name at the end).
std::string elideMiddle(std::string_view text, size_t width);

// The end of `text` that takes at most `cells` cells.
std::string lastCells(std::string_view text, size_t cells);

// `part` as a percentage of `whole` with two decimals ("66.67%"); "0.00%" when `whole` is 0.
std::string formatPercent(uint64_t part, uint64_t whole);
double percentOf(uint64_t part, uint64_t whole);

}  // namespace memray::reporters
