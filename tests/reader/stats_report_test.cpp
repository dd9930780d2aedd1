// `memray stats` output: the terminal text and the JSON document.
#include "memray/reader/stats_report.h"

#include "capture_fixture.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace memray::reader {
namespace {

using format::Allocator;
using synth::CaptureBuilder;

// Two locations: "work" allocates 3 x 1000 bytes, "tiny" 2 x 10 bytes; peak 3010.
void buildCapture(CaptureBuilder& b)
{
    b.threadStart(1, testing::kTestPid);
    b.switchTo(1);
    const uint64_t work = testing::defineStack(b, "work", "/app/job.py", 12);
    const uint64_t tiny = testing::defineStack(b, "tiny", "/usr/lib/python3.11/json/encoder.py", 5);
    for (uint64_t i = 0; i < 3; ++i) {
        b.allocate(Allocator::Malloc, 0x1000 * (i + 1), 1000, work);
    }
    b.allocate(Allocator::PymallocMalloc, 0x10, 10, tiny);
    b.allocate(Allocator::PymallocMalloc, 0x20, 10, tiny);
    b.trailer(2500000);
}

TEST(StatsReport, Text)
{
    testing::CaptureFile capture(buildCapture);
    CaptureReader reader(capture.path());
    const std::string text = renderStatsText(computeStats(reader, 5), 5);
    EXPECT_NE(text.find("📏 Total allocations:\n\t5\n"), std::string::npos) << text;
    EXPECT_NE(text.find("📦 Total memory allocated:\n\t3.020kB\n"), std::string::npos) << text;
    EXPECT_NE(text.find("📈 Peak memory usage:\n\t3.020kB\n"), std::string::npos) << text;
    EXPECT_NE(text.find("\tmin: 10.000B\n"), std::string::npos) << text;
    EXPECT_NE(text.find("\tmax: 1.000kB\n"), std::string::npos) << text;
    EXPECT_NE(text.find("\t MALLOC: 3\n\t PYMALLOC_MALLOC: 2\n"), std::string::npos) << text;
    EXPECT_NE(text.find("🥇 Top 5 largest allocating locations (by size):\n\t- work:/app/job.py:12 -> 3.000kB\n"
                        "\t- tiny:/usr/lib/python3.11/json/encoder.py:5 -> 20.000B\n"),
              std::string::npos)
            << text;
    EXPECT_NE(text.find("(by number of allocations):\n\t- work:/app/job.py:12 -> 3\n"), std::string::npos) << text;
    EXPECT_NE(text.find("🥇 Top 5 allocating modules (by size):\n\t- job: 3.000kB total | 3 allocations\n"
                        "\t- json.encoder: 20.000B total | 2 allocations\n"),
              std::string::npos)
            << text;
    EXPECT_NE(text.find("🥇 Top 5 allocating modules (by number of allocations):\n\t- job: 3 allocations | 3.000kB total\n"),
              std::string::npos)
            << text;
    // The histogram: first bin holds the two 10-byte allocations, the last the three of 1000.
    EXPECT_NE(text.find("< 16.000B  : 2 ▇"), std::string::npos) << text;
    EXPECT_NE(text.find("<=1.000kB  : 3 ▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇▇\n"), std::string::npos) << text;
    EXPECT_FALSE(text.ends_with("\n\n")) << "no blank line at the end";
}

TEST(StatsReport, Json)
{
    testing::CaptureFile capture(buildCapture);
    CaptureReader reader(capture.path());
    const CaptureStats stats = computeStats(reader, 1);
    const auto doc = nlohmann::json::parse(renderStatsJson(stats, reader));
    EXPECT_EQ(doc["total_num_allocations"], 5);
    EXPECT_EQ(doc["total_bytes_allocated"], 3020);
    EXPECT_EQ(doc["peak_memory"], 3020);
    ASSERT_TRUE(doc["allocation_size_histogram"].is_array());
    uint64_t binned = 0;
    for (const auto& bin : doc["allocation_size_histogram"]) {
        EXPECT_TRUE(bin.contains("min_bytes") && bin.contains("max_bytes") && bin.contains("count"));
        binned += bin["count"].get<uint64_t>();
    }
    EXPECT_EQ(binned, 5u);
    EXPECT_EQ(doc["allocation_size_histogram"][0]["min_bytes"], 10);
    EXPECT_EQ(doc["allocator_type_distribution"], (nlohmann::json{{"MALLOC", 3}, {"PYMALLOC_MALLOC", 2}}));
    ASSERT_EQ(doc["top_allocations_by_size"].size(), 1u);
    EXPECT_EQ(doc["top_allocations_by_size"][0]["location"], "work:/app/job.py:12");
    EXPECT_EQ(doc["top_allocations_by_size"][0]["size"], 3000);
    EXPECT_EQ(doc["top_allocations_by_count"][0]["count"], 3);
    EXPECT_EQ(doc["top_modules_by_allocation_size"][0]["module"], "job");
    EXPECT_EQ(doc["top_modules_by_allocation_count"][0]["count"], 3);
    const auto& metadata = doc["metadata"];
    EXPECT_EQ(metadata["pid"], testing::kTestPid);
    EXPECT_EQ(metadata["command_line"], "test.py --flag");
    EXPECT_EQ(metadata["python_allocator"], "pymalloc");
    EXPECT_EQ(metadata["start_time"], "2023-11-14T22:13:20.000000+00:00");
    EXPECT_EQ(metadata["end_time"], "2023-11-14T22:13:22.500000+00:00");
    EXPECT_EQ(metadata["has_native_traces"], false);
    EXPECT_EQ(metadata["capture_complete"], true);
    EXPECT_EQ(metadata["main_thread_id"], 1);
}

TEST(StatsReport, JsonSurvivesInvalidUtf8InNames)
{
    testing::CaptureFile capture([](CaptureBuilder& b) {
        b.switchTo(1);
        const uint64_t stack = testing::defineStack(b, "bad\xff\xfe", "/app/\xc3.py", 1);
        b.allocate(Allocator::Malloc, 0x10, 1, stack);
    });
    CaptureReader reader(capture.path());
    const CaptureStats stats = computeStats(reader, 5);
    std::string json;
    ASSERT_NO_THROW(json = renderStatsJson(stats, reader));
    EXPECT_TRUE(nlohmann::json::accept(json));
    EXPECT_EQ(nlohmann::json::parse(json)["metadata"]["capture_complete"], false);
}

TEST(StatsReport, IsoTimestamps)
{
    EXPECT_EQ(isoTimestamp(0), "1970-01-01T00:00:00.000000+00:00");
    EXPECT_EQ(isoTimestamp(1700000000123456ull), "2023-11-14T22:13:20.123456+00:00");
    EXPECT_FALSE(isoTimestamp(UINT64_MAX).empty());
}

}  // namespace
}  // namespace memray::reader
