#include "memray/reader/terminal_text.h"

namespace memray::reader {

namespace {

constexpr char kHex[] = "0123456789abcdef";

bool isC0OrDel(unsigned char byte)
{
    return byte < 0x20 || byte == 0x7f;
}

// A C1 control (U+0080-U+009F) starts at text[i]: 0xc2 then 0x80-0x9f.
bool isC1(std::string_view text, size_t i)
{
    return static_cast<unsigned char>(text[i]) == 0xc2 && i + 1 < text.size()
           && (static_cast<unsigned char>(text[i + 1]) & 0xe0) == 0x80;
}

}  // namespace

void appendTerminalSafe(std::string& out, std::string_view text, std::string_view quoted)
{
    size_t plain = 0;  // start of the run of bytes that need no escape
    for (size_t i = 0; i < text.size(); ++i) {
        const auto byte = static_cast<unsigned char>(text[i]);
        const bool c1 = byte == 0xc2 && isC1(text, i);
        if (!c1 && !isC0OrDel(byte) && quoted.find(text[i]) == std::string_view::npos) {
            continue;
        }
        out.append(text, plain, i - plain);
        if (c1) {
            const auto code = static_cast<unsigned char>(text[++i]);
            out += "\\u00";
            out += kHex[code >> 4];
            out += kHex[code & 0xf];
        } else if (isC0OrDel(byte)) {
            out += "\\x";
            out += kHex[byte >> 4];
            out += kHex[byte & 0xf];
        } else {
            out += '\\';
            out += text[i];
        }
        plain = i + 1;
    }
    out.append(text, plain, text.size() - plain);
}

std::string terminalSafe(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    appendTerminalSafe(out, text);
    return out;
}

}  // namespace memray::reader
