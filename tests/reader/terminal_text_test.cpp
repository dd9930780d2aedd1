// Names from a capture printed by `tree`, `summary`, `stats` and `parse`: the reader fuzz found
// a function name's escape sequence (ESC [2J, ESC [31m, BEL) reaching the terminal as it was.
#include "memray/reader/terminal_text.h"

#include <gtest/gtest.h>

#include <string>

namespace memray::reader {
namespace {

TEST(TerminalText, EscapesEveryControlCharacter)
{
    EXPECT_EQ(terminalSafe("\x1b[2J\x1b[31mred\x07"), "\\x1b[2J\\x1b[31mred\\x07");
    EXPECT_EQ(terminalSafe("line one\nline two\r\t"), "line one\\x0aline two\\x0d\\x09");
    EXPECT_EQ(terminalSafe(std::string_view("nul\0byte\x7f", 9)), "nul\\x00byte\\x7f");
    EXPECT_EQ(terminalSafe("\xc2\x9b" "31m csi"), "\\u009b31m csi");  // C1 CSI as UTF-8
    EXPECT_EQ(terminalSafe("\xc2\x80\xc2\x9f"), "\\u0080\\u009f");
}

TEST(TerminalText, KeepsEverythingElse)
{
    for (const char* text : {"", "main", "<module>", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5", "\xc2\xa0nbsp",
                             "\xff\xfe not utf-8 \xc2", "a\\b\"c"})
    {
        EXPECT_EQ(terminalSafe(text), text);
    }
}

TEST(TerminalText, QuotedBytesAreEscapedToo)
{
    std::string out;
    appendTerminalSafe(out, "say \"hi\" \\ \n", "\"\\");
    EXPECT_EQ(out, "say \\\"hi\\\" \\\\ \\x0a");
}

}  // namespace
}  // namespace memray::reader
