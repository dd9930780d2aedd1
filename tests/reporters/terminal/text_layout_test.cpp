// Column layout helpers, on ASCII and multi-byte text.
#include "memray/reporters/text_layout.h"

#include <gtest/gtest.h>

namespace memray::reporters {
namespace {

TEST(TextLayout, WidthCountsCodePoints)
{
    EXPECT_EQ(displayWidth(""), 0u);
    EXPECT_EQ(displayWidth("abc"), 3u);
    EXPECT_EQ(displayWidth("café"), 4u);
    EXPECT_EQ(displayWidth("─┬─"), 3u);
}

TEST(TextLayout, Padding)
{
    EXPECT_EQ(padRight("café", 6), "café  ");
    EXPECT_EQ(padLeft("café", 6), "  café");
    EXPECT_EQ(padLeft("toolong", 3), "toolong");
}

TEST(TextLayout, ElidingKeepsBothEnds)
{
    EXPECT_EQ(elideMiddle("abcdefghij", 10), "abcdefghij");
    EXPECT_EQ(elideMiddle("abcdefghij", 7), "abc…hij");
    EXPECT_EQ(elideMiddle("abcdefghij", 6), "ab…hij");
    EXPECT_EQ(elideMiddle("ééééé", 4), "é…éé");
    EXPECT_EQ(elideMiddle("abc", 1), "…");
    EXPECT_EQ(elideMiddle("abc", 0), "");
    EXPECT_EQ(lastCells("/a/b/ç.py", 6), "b/ç.py");
    EXPECT_EQ(lastCells("x.py", 6), "x.py");
}

TEST(TextLayout, Percentages)
{
    EXPECT_EQ(formatPercent(2, 3), "66.67%");
    EXPECT_EQ(formatPercent(3, 3), "100.00%");
    EXPECT_EQ(formatPercent(1, 0), "0.00%");
}

}  // namespace
}  // namespace memray::reporters
