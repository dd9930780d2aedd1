// The live view's cell grid (reporters/live/src/view_grid.h): widths, cutting, clipping.
#include "view_grid.h"

#include <gtest/gtest.h>

namespace memray::live::view {
namespace {

TEST(ViewGrid, Widths)
{
    EXPECT_EQ(textWidth(""), 0);
    EXPECT_EQ(textWidth("abc"), 3);
    EXPECT_EQ(textWidth("größe"), 5);
    EXPECT_EQ(textWidth("漢字"), 4);
    EXPECT_EQ(textWidth("e\xCC\x81"), 1);          // e + combining acute
    EXPECT_EQ(textWidth("a\xE2\x80\x8B" "b"), 2);  // zero-width space
    EXPECT_EQ(textWidth("\xFF\xFE"), 2);           // invalid bytes: one cell each
}

TEST(ViewGrid, FitEndKeepsTheStart)
{
    EXPECT_EQ(fitEnd("function", 8, "…"), "function");
    EXPECT_EQ(fitEnd("function", 5, "…"), "func…");
    EXPECT_EQ(fitEnd("function", 1, "…"), "…");
    EXPECT_EQ(fitEnd("function", 0, "…"), "");
    EXPECT_EQ(fitEnd("function", 2, "..."), "fu");
    EXPECT_EQ(fitEnd("漢字漢字", 5, "…"), "漢字…");
    EXPECT_EQ(fitEnd("漢字漢字", 4, "…"), "漢…");
}

TEST(ViewGrid, FitStartKeepsTheEnd)
{
    EXPECT_EQ(fitStart("app/module.py", 13, "…"), "app/module.py");
    EXPECT_EQ(fitStart("app/module.py", 10, "…"), "…module.py");
    EXPECT_EQ(fitStart("app/module.py", 1, "~"), "~");
    EXPECT_EQ(fitStart("漢字漢字", 4, "…"), "…字");
    EXPECT_EQ(fitStart("abc", 0, "…"), "");
}

TEST(ViewGrid, PutClipsToTheLimitAndTheWindow)
{
    Grid grid(10, 2, true);
    EXPECT_EQ(grid.put(0, 2, "abcdef", kBold, 5), 5);
    EXPECT_EQ(grid.lineText(0), "  abc");
    EXPECT_TRUE(grid.at(0, 2).attr & kBold);
    EXPECT_FALSE(grid.at(0, 5).attr & kBold);
    grid.put(1, 7, "abcdef");
    EXPECT_EQ(grid.lineText(1), "       abc");
    grid.put(1, -2, "xyz");
    EXPECT_EQ(grid.lineText(1), "z      abc");
    grid.put(2, 0, "beyond");  // no such line
    grid.put(-1, 0, "beyond");
    EXPECT_EQ(grid.text(), "  abc\nz      abc\n");
}

TEST(ViewGrid, WideCharactersNeverHangOverTheEdge)
{
    Grid grid(5, 1, true);
    grid.put(0, 0, "漢字漢");
    EXPECT_EQ(grid.lineText(0), "漢字");
    EXPECT_TRUE(grid.at(0, 0).wide);
    EXPECT_EQ(grid.at(0, 1).glyph, "");
    // Writing over half of a wide character blanks its other half.
    grid.put(0, 1, "x");
    EXPECT_EQ(grid.lineText(0), " x字");
    grid.put(0, 2, "y");
    EXPECT_EQ(grid.lineText(0), " xy");
}

TEST(ViewGrid, PutRightAlignsAndCutsOnTheLeft)
{
    Grid grid(10, 1, true);
    grid.putRight(0, 10, "12.5MB");
    EXPECT_EQ(grid.lineText(0), "    12.5MB");
    Grid narrow(10, 1, true);
    narrow.putRight(0, 8, "123456789", kPlain, 4);
    EXPECT_EQ(narrow.lineText(0), "    6789");
}

TEST(ViewGrid, ControlCharactersAreNeverDrawn)
{
    Grid grid(10, 1, true);
    grid.put(0, 0, "a\x1b[2Jb\n");
    EXPECT_EQ(grid.lineText(0), "a?[2Jb?");
}

TEST(ViewGrid, AsciiModeDrawsOnlyAscii)
{
    Grid grid(12, 1, false);
    grid.put(0, 0, "größe 漢 e\xCC\x81");
    EXPECT_EQ(grid.lineText(0), "gr??e ? e");
}

TEST(ViewGrid, CombiningMarksJoinTheirCharacter)
{
    Grid grid(4, 1, true);
    grid.put(0, 0, "e\xCC\x81x");
    EXPECT_EQ(grid.at(0, 0).glyph, "e\xCC\x81");
    EXPECT_EQ(grid.lineText(0), "e\xCC\x81x");
}

TEST(ViewGrid, EmptyGrids)
{
    Grid grid(0, 0, true);
    EXPECT_EQ(grid.put(0, 0, "x"), 0);
    grid.putRight(0, 0, "x");
    grid.addAttr(0, 0, 5, kBold);
    EXPECT_EQ(grid.text(), "");
}

}  // namespace
}  // namespace memray::live::view
