// The report's JSON writer: strings must come out as valid JSON whatever bytes they hold.
#include "json_writer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>

namespace memray::reporters {
namespace {

std::string written(std::string_view text)
{
    std::string out;
    JsonWriter(out).string(text);
    return out;
}

TEST(JsonWriter, EscapesQuotesBackslashesAndControlCharacters)
{
    EXPECT_EQ(written("plain"), "\"plain\"");
    EXPECT_EQ(written("a\"b\\c"), R"("a\"b\\c")");
    EXPECT_EQ(written("line\nnext\ttab\r"), R"("line\nnext\ttab\r")");
    EXPECT_EQ(written(std::string_view("\x01\x1f", 2)), R"("\u0001\u001f")");
    EXPECT_EQ(written(std::string_view("nul\0x", 5)), R"("nul\u0000x")");
}

TEST(JsonWriter, RoundTripsThroughAParser)
{
    const std::string text = "<module> \"q\" \\ \x7f é 🔥 \x02";
    std::string out;
    JsonWriter json(out);
    json.raw("{").key("s", true).string(text);
    json.key("n").number(std::numeric_limits<uint64_t>::max());
    json.key("a").array(3, [&](size_t i) { json.number(static_cast<int64_t>(i) - 1); });
    json.key("b").boolean(true).raw("}");
    const auto parsed = nlohmann::json::parse(out);
    EXPECT_EQ(parsed["s"], text);
    EXPECT_EQ(parsed["n"].get<uint64_t>(), std::numeric_limits<uint64_t>::max());
    EXPECT_EQ(parsed["a"], nlohmann::json::array({-1, 0, 1}));
    EXPECT_EQ(parsed["b"], true);
}

// A capture's names and paths can hold any bytes (a damaged file, a non-UTF-8 file system): the
// reader fuzz found reports whose data did not parse. What is not well-formed UTF-8 becomes
// U+FFFD, one per byte, and well-formed text of every length is kept as it is.
TEST(JsonWriter, ReplacesBytesThatAreNotUtf8)
{
    EXPECT_EQ(written("\xff"), R"("\ufffd")");
    EXPECT_EQ(written("a\xc3"), R"("a\ufffd")");                    // cut short at the end
    EXPECT_EQ(written("\xc3(x"), R"("\ufffd(x")");                  // bad continuation
    EXPECT_EQ(written("\xc0\xaf"), R"("\ufffd\ufffd")");            // overlong '/'
    EXPECT_EQ(written("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");  // a surrogate
    EXPECT_EQ(written("\xf4\x90\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd")");  // above U+10FFFF
    EXPECT_EQ(written("\x80</script>"), R"("\ufffd</script>")");
    EXPECT_EQ(written("\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5 \xef\xbf\xbf"), "\"\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5 \xef\xbf\xbf\"");

    // Every byte string of up to two bytes, and random longer ones: always valid JSON.
    for (unsigned a = 0; a < 256; ++a) {
        for (unsigned b = 0; b < 256; b += 7) {
            const char text[2] = {static_cast<char>(a), static_cast<char>(b)};
            const std::string out = written(std::string_view(text, 2));
            EXPECT_TRUE(nlohmann::json::accept(out)) << a << " " << b;
        }
    }
}

}  // namespace
}  // namespace memray::reporters
