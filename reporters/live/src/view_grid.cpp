#include "view_grid.h"

#include <algorithm>

namespace memray::live::view {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

// The next code point of `text` from byte `i` (advanced past it); a byte that does not start a
// valid UTF-8 sequence is U+FFFD, one byte long.
char32_t decode(std::string_view text, size_t& i)
{
    const auto byte = [&](size_t at) { return static_cast<unsigned char>(text[at]); };
    const unsigned char lead = byte(i);
    size_t length = 0;
    char32_t cp = 0;
    if (lead < 0x80) {
        ++i;
        return lead;
    } else if ((lead & 0xE0) == 0xC0) {
        length = 2;
        cp = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
        length = 3;
        cp = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
        length = 4;
        cp = lead & 0x07;
    } else {
        ++i;
        return kReplacement;
    }
    if (i + length > text.size()) {
        ++i;
        return kReplacement;
    }
    for (size_t k = 1; k < length; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80) {
            ++i;
            return kReplacement;
        }
        cp = (cp << 6) | (byte(i + k) & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not characters.
    static constexpr char32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kSmallest[length] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        ++i;
        return kReplacement;
    }
    i += length;
    return cp;
}

}  // namespace

void appendUtf8(std::string& out, char32_t cp)
{
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

namespace {

struct Range
{
    char32_t first;
    char32_t last;
};

template <size_t N>
bool inRanges(char32_t cp, const Range (&ranges)[N])
{
    return std::any_of(std::begin(ranges), std::end(ranges), [cp](const Range& r) { return cp >= r.first && cp <= r.last; });
}

// Invisible characters that would only confuse the layout (or reorder the line, for the bidi
// controls): never drawn.
constexpr Range kInvisible[] = {{0x200B, 0x200F}, {0x202A, 0x202E}, {0x2060, 0x206F}, {0xFEFF, 0xFEFF}};
// Combining marks: drawn in the cell of the character before them.
constexpr Range kCombining[] = {{0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05C7}, {0x0610, 0x061A},
                                {0x064B, 0x065F}, {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF}, {0x20D0, 0x20FF},
                                {0xFE00, 0xFE0F}, {0xFE20, 0xFE2F}, {0xE0100, 0xE01EF}};
// East Asian wide and full-width characters, and the emoji blocks terminals draw two cells wide.
constexpr Range kWide[] = {{0x1100, 0x115F},   {0x2E80, 0x303E},   {0x3041, 0x33FF},  {0x3400, 0x4DBF},
                           {0x4E00, 0x9FFF},   {0xA000, 0xA4CF},   {0xAC00, 0xD7A3},  {0xF900, 0xFAFF},
                           {0xFE30, 0xFE4F},   {0xFF00, 0xFF60},   {0xFFE0, 0xFFE6},  {0x1F300, 0x1F64F},
                           {0x1F900, 0x1F9FF}, {0x20000, 0x2FFFD}, {0x30000, 0x3FFFD}};

enum class Kind { Invisible, Combining, Narrow, Wide };

Kind kindOf(char32_t cp)
{
    if (cp < 0x300) {
        return Kind::Narrow;
    }
    if (inRanges(cp, kInvisible)) {
        return Kind::Invisible;
    }
    if (inRanges(cp, kCombining)) {
        return Kind::Combining;
    }
    return inRanges(cp, kWide) ? Kind::Wide : Kind::Narrow;
}

int widthOf(Kind kind)
{
    return kind == Kind::Wide ? 2 : kind == Kind::Narrow ? 1 : 0;
}

// Bytes of the longest start of `text` that takes at most `cells` cells (combining marks stay
// with their character).
size_t prefixBytes(std::string_view text, int cells)
{
    int used = 0;
    size_t i = 0;
    while (i < text.size()) {
        size_t next = i;
        const int width = widthOf(kindOf(decode(text, next)));
        if (used + width > cells) {
            break;
        }
        used += width;
        i = next;
    }
    return i;
}

}  // namespace

int textWidth(std::string_view text)
{
    int width = 0;
    for (size_t i = 0; i < text.size();) {
        width += widthOf(kindOf(decode(text, i)));
    }
    return width;
}

std::string fitEnd(std::string_view text, int width, std::string_view ellipsis)
{
    width = std::max(width, 0);
    if (textWidth(text) <= width) {
        return std::string(text);
    }
    const int mark = textWidth(ellipsis);
    if (mark > width) {
        return std::string(text.substr(0, prefixBytes(text, width)));
    }
    std::string out(text.substr(0, prefixBytes(text, width - mark)));
    out.append(ellipsis);
    return out;
}

std::string fitStart(std::string_view text, int width, std::string_view ellipsis)
{
    width = std::max(width, 0);
    const int total = textWidth(text);
    if (total <= width) {
        return std::string(text);
    }
    const int mark = std::min(textWidth(ellipsis), width);
    const int keep = width - mark;
    // Skip the code points that do not fit: the start of `text` beyond total - keep cells, and
    // the combining marks of a character cut off.
    int skipped = 0;
    size_t i = 0;
    while (i < text.size()) {
        size_t next = i;
        const int cell = widthOf(kindOf(decode(text, next)));
        if (skipped >= total - keep && cell > 0) {
            break;
        }
        skipped += cell;
        i = next;
    }
    std::string out(mark > 0 ? ellipsis : std::string_view());
    out.append(text.substr(i));
    return out;
}

Grid::Grid(int columns, int lines, bool utf8)
: columns_(std::max(columns, 0))
, lines_(std::max(lines, 0))
, utf8_(utf8)
, cells_(static_cast<size_t>(columns_) * static_cast<size_t>(lines_))
{
}

int Grid::put(int line, int column, std::string_view text, uint16_t attr, int limit)
{
    limit = limit < 0 ? columns_ : std::min(limit, columns_);
    if (line < 0 || line >= lines_) {
        return column;
    }
    int x = column;
    for (size_t i = 0; i < text.size();) {
        char32_t cp = decode(text, i);
        Kind kind = kindOf(cp);
        if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0)) {
            cp = '?';  // reader::terminalSafe escapes them before they get here; never draw one
            kind = Kind::Narrow;
        }
        if (!utf8_ && cp >= 0x80) {
            if (kind == Kind::Invisible || kind == Kind::Combining) {
                continue;
            }
            cp = '?';
            kind = Kind::Narrow;
        }
        if (kind == Kind::Invisible) {
            continue;
        }
        if (kind == Kind::Combining) {
            if (x - 1 >= 0 && x - 1 >= column && x - 1 < limit) {
                Cell& before = cell(line, x - 1).glyph.empty() && x - 2 >= 0 ? cell(line, x - 2) : cell(line, x - 1);
                appendUtf8(before.glyph, cp);
            }
            continue;
        }
        const int width = widthOf(kind);
        if (x + width > limit) {
            break;
        }
        if (x >= 0) {
            // A wide character partly overwritten leaves a blank in its other half.
            if (cell(line, x).glyph.empty() && x > 0) {
                cell(line, x - 1) = Cell{" ", cell(line, x - 1).attr, false};
            }
            const int end = x + width - 1;
            if (cell(line, end).wide && end + 1 < columns_) {
                cell(line, end + 1) = Cell{" ", cell(line, end + 1).attr, false};
            }
            Cell& target = cell(line, x);
            target.glyph.clear();
            appendUtf8(target.glyph, cp);
            target.attr = attr;
            target.wide = width == 2;
            if (width == 2) {
                cell(line, x + 1) = Cell{"", attr, false};
            }
        }
        x += width;
    }
    return x;
}

void Grid::putRight(int line, int right, std::string_view text, uint16_t attr, int left)
{
    right = std::min(right, columns_);
    left = std::max(left, 0);
    if (right <= left) {
        return;
    }
    const std::string shown = fitStart(text, right - left, "");
    put(line, right - textWidth(shown), shown, attr, right);
}

void Grid::addAttr(int line, int from, int to, uint16_t attr)
{
    if (line < 0 || line >= lines_) {
        return;
    }
    for (int x = std::max(from, 0); x < std::min(to, columns_); ++x) {
        cell(line, x).attr |= attr;
    }
}

std::string Grid::lineText(int line) const
{
    std::string out;
    for (int x = 0; x < columns_; ++x) {
        out += at(line, x).glyph;
    }
    out.erase(out.find_last_not_of(' ') + 1);
    return out;
}

std::string Grid::text() const
{
    std::string out;
    for (int line = 0; line < lines_; ++line) {
        out += lineText(line);
        out += '\n';
    }
    return out;
}

}  // namespace memray::live::view
