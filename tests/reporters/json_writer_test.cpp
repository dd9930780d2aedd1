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

}  // namespace
}  // namespace memray::reporters
