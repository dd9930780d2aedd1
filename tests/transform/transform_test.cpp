// The transform writers on a hand-built capture whose every figure is known: exact files,
// including what the consumers' tests cannot easily provoke (a thread name csv must quote, an
// allocation without a stack, allocators apart, threads merged, lines merged by gprof2dot).
#include "memray/reporters/transform/transform.h"

#include "capture_fixture.h"

#include <gtest/gtest.h>

namespace memray::reporters::transform {
namespace {

using format::Allocator;

// <module> f.py:10 -> outer f.py:5 -> leaf f.py:2 (and leaf at f.py:3 from the same outer).
//   thread 1 "MainThread": malloc 100 and calloc 50 at leaf:2, malloc 7 with no stack
//   thread 2 'worker, "x"': malloc 300 at leaf:2
//   thread 3 (no name):     malloc 60 at leaf:3
// Nothing is freed: the peak and the leaks are all of it.
class TransformTest : public ::testing::Test
{
  protected:
    TransformTest()
    : capture_([](synth::CaptureBuilder& b) {
        b.threadStart(1, testing::kTestPid);
        b.threadName(1, "MainThread");
        b.threadStart(2, testing::kTestPid + 1);
        b.threadName(2, "worker, \"x\"");
        b.threadStart(3, testing::kTestPid + 2);
        b.switchTo(1);
        const uint64_t module = testing::defineStack(b, "<module>", "f.py", 10);
        const uint64_t outer = testing::defineStack(b, "outer", "f.py", 5, module);
        const uint64_t leaf2 = testing::defineStack(b, "leaf", "f.py", 2, outer);
        const uint64_t leaf3 = b.stack(outer, b.frame(b.code("leaf", "f.py", 1), 3));
        b.allocate(Allocator::Malloc, 0x1000, 100, leaf2);
        b.allocate(Allocator::Calloc, 0x2000, 50, leaf2);
        b.allocate(Allocator::Malloc, 0x3000, 7, 0);
        b.switchTo(2);
        b.allocate(Allocator::Malloc, 0x4000, 300, leaf2);
        b.switchTo(3);
        b.allocate(Allocator::Malloc, 0x5000, 60, leaf3);
        b.trailer(1000);
    })
    {
    }

    std::string render(Format format, reader::ReportKind kind = reader::ReportKind::Leaks)
    {
        reader::SnapshotOptions options;
        options.kind = kind;
        options.split_threads = wantsSplitThreads(format);
        const reader::AnalysedCapture analysed = reader::analyseCapture(capture_.path(), options);
        TransformOptions transform;
        transform.exporter = "memray@test";
        return renderTransform(format, analysed, transform);
    }

    testing::CaptureFile capture_;
};

TEST_F(TransformTest, CsvRowsPerStackAndAllocatorNameTheBiggestThreadAndQuoteLikePython)
{
    EXPECT_EQ(render(Format::Csv),
              "allocator,num_allocations,size,tid,thread_name,stack_trace\r\n"
              "MALLOC,2,400,2,\"0x2 (worker, \"\"x\"\")\",leaf;f.py;2|outer;f.py;5|<module>;f.py;10\r\n"
              "MALLOC,1,60,3,0x3,leaf;f.py;3|outer;f.py;5|<module>;f.py;10\r\n"
              "CALLOC,1,50,1,0x1 (MainThread),leaf;f.py;2|outer;f.py;5|<module>;f.py;10\r\n"
              "MALLOC,1,7,1,0x1 (MainThread),\r\n");
    // The peak of a capture that frees nothing is the same set.
    EXPECT_EQ(render(Format::Csv, reader::ReportKind::Peak), render(Format::Csv));
}

TEST_F(TransformTest, Gprof2dotFunctionsIgnoreLinesAndStacklessAllocationsAreLeftOut)
{
    EXPECT_EQ(render(Format::Gprof2dot),
              "{\"version\":0,\"costs\":[{\"description\":\"Memory\",\"unit\":\"bytes\"}],"
              "\"events\":[{\"callchain\":[0,1,2],\"cost\":[400]},{\"callchain\":[0,1,2],\"cost\":[60]},"
              "{\"callchain\":[0,1,2],\"cost\":[50]}],"
              "\"functions\":[{\"name\":\"leaf\",\"module\":\"f.py\"},{\"name\":\"outer\",\"module\":\"f.py\"},"
              "{\"name\":\"<module>\",\"module\":\"f.py\"}]}\n");
}

TEST_F(TransformTest, SpeedscopeMergesAllocatorsOfOneStackIntoOneSample)
{
    EXPECT_EQ(render(Format::Speedscope),
              "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\","
              "\"shared\":{\"frames\":[{\"name\":\"<module>\",\"file\":\"f.py\",\"line\":10},"
              "{\"name\":\"outer\",\"file\":\"f.py\",\"line\":5},{\"name\":\"leaf\",\"file\":\"f.py\",\"line\":2},"
              "{\"name\":\"leaf\",\"file\":\"f.py\",\"line\":3}]},"
              "\"profiles\":[{\"type\":\"sampled\",\"name\":\"Memory\",\"unit\":\"bytes\",\"startValue\":0,"
              "\"endValue\":510,\"samples\":[[0,1,2],[0,1,3]],\"weights\":[450,60]},"
              "{\"type\":\"sampled\",\"name\":\"Allocations\",\"unit\":\"none\",\"startValue\":0,"
              "\"endValue\":4,\"samples\":[[0,1,2],[0,1,3]],\"weights\":[3,1]}],"
              "\"name\":\"test.py --flag\",\"activeProfileIndex\":0,\"exporter\":\"memray@test\"}\n");
}

TEST_F(TransformTest, MergedThreadsGiveMemraysMergedThreadRow)
{
    reader::SnapshotOptions options;
    options.kind = reader::ReportKind::Leaks;
    const reader::AnalysedCapture analysed = reader::analyseCapture(capture_.path(), options);
    const std::string csv = renderTransform(Format::Csv, analysed, TransformOptions{});
    EXPECT_NE(csv.find("MALLOC,2,400,-1,merged thread,leaf;f.py;2|"), std::string::npos) << csv;
}

TEST(TransformCsv, BytesThatAreNotUtf8BecomeReplacementCharacters)
{
    const testing::CaptureFile capture([](synth::CaptureBuilder& b) {
        b.threadStart(1, testing::kTestPid);
        b.switchTo(1);
        b.allocate(Allocator::Malloc, 0x1000, 10, testing::defineStack(b, "caf\xc3\xa9\xff", "d\xe9j\xe0.py", 2));
        b.trailer(1000);
    });
    reader::SnapshotOptions options;
    options.kind = reader::ReportKind::Leaks;
    options.split_threads = true;
    const std::string csv = renderTransform(Format::Csv, reader::analyseCapture(capture.path(), options), {});
    EXPECT_NE(csv.find(",caf\xc3\xa9\xef\xbf\xbd;d\xef\xbf\xbdj\xef\xbf\xbd.py;2\r\n"), std::string::npos) << csv;
}

TEST(TransformFormats, NamesWhateverTheCaseAndMemraysSuffixes)
{
    EXPECT_EQ(formatNamed("CSV"), Format::Csv);
    EXPECT_EQ(formatNamed("gProf2Dot"), Format::Gprof2dot);
    EXPECT_EQ(formatNamed("speedscope"), Format::Speedscope);
    EXPECT_EQ(formatNamed("speedscop"), std::nullopt);
    EXPECT_EQ(formatNamed(""), std::nullopt);
    EXPECT_EQ(formatInfo(Format::Csv).suffix, ".csv");
    EXPECT_EQ(formatInfo(Format::Gprof2dot).suffix, ".json");
    EXPECT_EQ(formatInfo(Format::Speedscope).suffix, ".speedscope.json");
    EXPECT_EQ(formats().size(), 3u);
}

}  // namespace
}  // namespace memray::reporters::transform
