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
            if (c >= 0x20 && c != '"' && c != '\\') continue;
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

  private:
    std::string& out_;
};

}  // namespace memray::reporters
