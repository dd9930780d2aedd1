#include "memray/reporters/text_layout.h"

#include <cstdio>

namespace memray::reporters {
namespace {

bool isContinuationByte(char c)
{
    return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

// The byte offset where the first `cells` code points of `text` end.
size_t prefixBytes(std::string_view text, size_t cells)
{
    size_t i = 0;
    for (size_t seen = 0; i < text.size(); ++i) {
        if (!isContinuationByte(text[i]) && seen++ == cells) {
            break;
        }
    }
    return i;
}

}  // namespace

size_t displayWidth(std::string_view text)
{
    size_t width = 0;
    for (char c : text) {
        width += isContinuationByte(c) ? 0 : 1;
    }
    return width;
}

std::string padRight(std::string_view text, size_t width)
{
    std::string out(text);
    const size_t used = displayWidth(text);
    if (used < width) {
        out.append(width - used, ' ');
    }
    return out;
}

std::string padLeft(std::string_view text, size_t width)
{
    const size_t used = displayWidth(text);
    std::string out(used < width ? width - used : 0, ' ');
    out.append(text);
    return out;
}

std::string elideMiddle(std::string_view text, size_t width)
{
    const size_t used = displayWidth(text);
    if (used <= width) {
        return std::string(text);
    }
    if (width == 0) {
        return "";
    }
    const size_t keep = width - 1;  // one cell for the ellipsis
    const size_t head = keep / 2;
    std::string out(text.substr(0, prefixBytes(text, head)));
    out.append("…");
    out.append(lastCells(text, keep - head));
    return out;
}

std::string lastCells(std::string_view text, size_t cells)
{
    const size_t used = displayWidth(text);
    return std::string(used <= cells ? text : text.substr(prefixBytes(text, used - cells)));
}

double percentOf(uint64_t part, uint64_t whole)
{
    return whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

std::string formatPercent(uint64_t part, uint64_t whole)
{
    char text[32];
    std::snprintf(text, sizeof(text), "%.2f%%", percentOf(part, whole));
    return text;
}

}  // namespace memray::reporters
