// Source lines for the reports' tooltips come from paths the capture names, so any path must
// give a line or nothing: never an exception out of the report, never a wait on a FIFO.
#include "source_lines.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace memray::reporters {
namespace {

class SourceLinesTest : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        char pattern[] = "/tmp/memray-source-lines-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

    std::string dir_;
};

TEST_F(SourceLinesTest, ReadsLinesOfARegularFile)
{
    const std::string path = dir_ + "/app.py";
    std::FILE* file = std::fopen(path.c_str(), "w");
    ASSERT_NE(file, nullptr);
    std::fputs("import os\n    x = [1] * 10   \nlast", file);
    std::fclose(file);
    SourceLines lines;
    EXPECT_EQ(lines.line(path, 1), "import os");
    EXPECT_EQ(lines.line(path, 2), "x = [1] * 10");
    EXPECT_EQ(lines.line(path, 3), "last");
    EXPECT_EQ(lines.line(path, 0), "");
    EXPECT_EQ(lines.line(path, 4), "");
    EXPECT_EQ(lines.line(path, UINT64_MAX), "");
}

// The reader fuzz found /proc/self/mem in a code record failing `memray flamegraph` with
// "basic_filebuf::underflow error reading the file": it is a regular file whose read fails.
TEST_F(SourceLinesTest, PathsThatCannotBeReadHaveNoLines)
{
    const std::string fifo = dir_ + "/fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    SourceLines lines;
    for (const std::string path : {"/proc/self/mem", "/dev/zero", "/dev/stdin", "/proc/kcore", fifo.c_str(),
                                   dir_.c_str(), "/", "", "<frozen importlib._bootstrap>", "/no/such/file"})
    {
        EXPECT_EQ(lines.line(path, 1), "") << path;
        EXPECT_EQ(lines.line(path, 2), "") << path;
    }
    // /proc files claim a size they do not have: read to the end, not to st_size.
    EXPECT_NE(lines.line("/proc/self/status", 1), "");
}

}  // namespace
}  // namespace memray::reporters
