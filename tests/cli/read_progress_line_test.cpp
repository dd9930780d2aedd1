// The progress bar's line (tools/memray/read_progress_bar.h): it fits any terminal width, keeps
// its length as it fills, and cuts names on character boundaries.
#include "read_progress_bar.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace {

using memray::cli::readProgressLine;

size_t columns(const std::string& text)
{
    return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    }));
}

bool validUtf8(const std::string& text)
{
    size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        const size_t length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        if (length == 0 || i + length > text.size()) return false;
        for (size_t k = 1; k < length; ++k) {
            if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
        }
        i += length;
    }
    return true;
}

TEST(ReadProgressLine, WideTerminalShowsNamePercentBarAndAmounts)
{
    const std::string line = readProgressLine("/data/memray-app.py.1234.bin", 1, 53'600'000, 119'100'000, 120);
    EXPECT_EQ(line.rfind("Reading memray-app.py.1234.bin   45% [", 0), 0u) << line;
    EXPECT_NE(line.find("]   53.6/119.1 MB"), std::string::npos) << line;
    EXPECT_EQ(line.find("/data/"), std::string::npos) << "the directory is left out: " << line;
}

TEST(ReadProgressLine, FitsEveryWidth)
{
    const std::string names[] = {"capture.bin", std::string(300, 'x') + ".bin", "données-été-\u6f22\u5b57.bin"};
    for (const std::string& name : names) {
        for (unsigned width = 0; width <= 200; ++width) {
            for (unsigned pass : {1u, 2u}) {
                const std::string line = readProgressLine(name, pass, 5'000'000, 10'000'000, width);
                EXPECT_LE(columns(line), width > 0 ? width - 1 : 0) << "width " << width << ": " << line;
                EXPECT_TRUE(validUtf8(line)) << "width " << width << ": " << line;
                if (width >= 12) {
                    EXPECT_NE(line.find("50%"), std::string::npos) << "the percentage stays: " << line;
                }
            }
        }
    }
}

TEST(ReadProgressLine, NarrowTerminalDropsTheBarThenCutsTheName)
{
    const std::string narrow = readProgressLine("capture.bin", 1, 1, 4, 40);
    EXPECT_EQ(narrow, "Reading capture.bin   25%");
    const std::string cut = readProgressLine(std::string(60, 'n') + ".bin", 1, 1, 4, 30);
    EXPECT_EQ(columns(cut), 29u) << cut;
    EXPECT_NE(cut.find("\u2026   25%"), std::string::npos) << cut;
}

TEST(ReadProgressLine, TheBarKeepsItsLengthAsItFills)
{
    const size_t empty = readProgressLine("capture.bin", 1, 0, 119'100'000, 100).size();
    for (uint64_t done : {1'000'000ull, 9'999'999ull, 99'000'000ull, 119'100'000ull}) {
        EXPECT_EQ(readProgressLine("capture.bin", 1, done, 119'100'000, 100).size(), empty) << done;
    }
}

TEST(ReadProgressLine, PassesAndOverrunsAreShownSanely)
{
    EXPECT_EQ(readProgressLine("capture.bin", 2, 3, 4, 40), "Reading capture.bin (pass 2)   75%");
    // A file that grew while being read never shows more than 100%.
    EXPECT_EQ(readProgressLine("capture.bin", 1, 9, 4, 40), "Reading capture.bin  100%");
}

}  // namespace
