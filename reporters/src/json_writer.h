// A minimal streaming JSON writer into a std::string: the report data of 100,000-node trees is
// written in one pass without building a document in memory first.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace memray::reporters {

class JsonWriter
{
  public:
    explicit JsonWriter(std::string& out)
    : out_(out)
    {
    }

    JsonWriter& raw(std::string_view text)
    {
        out_ += text;
        return *this;
    }

    // `"name":`, preceded by a comma unless it is the object's first member.
    JsonWriter& key(std::string_view name, bool first = false)
    {
        if (!first) out_ += ',';
        string(name);
        out_ += ':';
        return *this;
    }

    JsonWriter& string(std::string_view text)
    {
        out_ += '"';
        size_t plain = 0;  // start of the run of characters that need no escape
        for (size_t i = 0; i < text.size(); ++i) {
            const unsigned char c = static_cast<unsigned char>(text[i]);
            if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') continue;
            if (c >= 0x80) {
                // Names and paths come from the capture, which may hold any bytes: a report
                // that is not UTF-8 is not JSON, so what is not well-formed UTF-8 becomes U+FFFD.
                if (const size_t length = utf8SequenceLength(text, i)) {
                    i += length - 1;
                    continue;
                }
                out_.append(text, plain, i - plain);
                plain = i + 1;
                out_ += "\\ufffd";
                continue;
            }
            out_.append(text, plain, i - plain);
            plain = i + 1;
            switch (c) {
                case '"': out_ += "\\\""; break;
                case '\\': out_ += "\\\\"; break;
                case '\n': out_ += "\\n"; break;
                case '\t': out_ += "\\t"; break;
                case '\r': out_ += "\\r"; break;
                default: {
                    static constexpr char kHex[] = "0123456789abcdef";
                    out_ += "\\u00";
                    out_ += kHex[c >> 4];
                    out_ += kHex[c & 15];
                }
            }
        }
        out_.append(text, plain, text.size() - plain);
        out_ += '"';
        return *this;
    }

    template <typename Integer>
    JsonWriter& number(Integer value)
    {
        char digits[24];
        const auto result = std::to_chars(digits, digits + sizeof(digits), value);
        out_.append(digits, result.ptr);
        return *this;
    }

    JsonWriter& boolean(bool value)
    {
        out_ += value ? "true" : "false";
        return *this;
    }

    // [f(0), f(1), ...f(n-1)] where f writes one value through this writer.
    template <typename F>
    JsonWriter& array(size_t n, F&& f)
    {
        out_ += '[';
        for (size_t i = 0; i < n; ++i) {
            if (i) out_ += ',';
            f(i);
        }
        out_ += ']';
        return *this;
    }

    // The length of the well-formed UTF-8 sequence starting at text[i] (a byte >= 0x80), or 0
    // when there is none: a stray continuation byte, an overlong form, a surrogate, a code
    // point above U+10FFFF, or a sequence cut short (RFC 3629).
    static size_t utf8SequenceLength(std::string_view text, size_t i)
    {
        const auto at = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
        const unsigned char lead = at(i);
        size_t length = 0;
        unsigned char low = 0x80, high = 0xbf;  // the allowed range of the second byte
        if (lead >= 0xc2 && lead <= 0xdf) {
            length = 2;
        } else if (lead >= 0xe0 && lead <= 0xef) {
            length = 3;
            low = lead == 0xe0 ? 0xa0 : 0x80;   // no overlong forms
            high = lead == 0xed ? 0x9f : 0xbf;  // no surrogates
        } else if (lead >= 0xf0 && lead <= 0xf4) {
            length = 4;
            low = lead == 0xf0 ? 0x90 : 0x80;
            high = lead == 0xf4 ? 0x8f : 0xbf;  // nothing above U+10FFFF
        } else {
            return 0;
        }
        if (text.size() - i < length || at(i + 1) < low || at(i + 1) > high) return 0;
        for (size_t k = 2; k < length; ++k) {
            if ((at(i + k) & 0xc0) != 0x80) return 0;
        }
        return length;
    }

  private:
    std::string& out_;
};

}  // namespace memray::reporters
