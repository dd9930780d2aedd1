// Size bins and size formatting.
#include "memray/reader/size_format.h"
#include "memray/reader/size_histogram.h"

#include <gtest/gtest.h>

#include <random>

namespace memray::reader {
namespace {

uint64_t totalCount(const std::vector<SizeBin>& bins)
{
    uint64_t total = 0;
    for (const SizeBin& bin : bins) {
        total += bin.count;
    }
    return total;
}

void expectContiguous(const std::vector<SizeBin>& bins, uint64_t min, uint64_t max)
{
    ASSERT_FALSE(bins.empty());
    EXPECT_EQ(bins.front().min_bytes, min);
    EXPECT_EQ(bins.back().max_bytes, max);
    for (size_t i = 0; i < bins.size(); ++i) {
        EXPECT_LE(bins[i].min_bytes, bins[i].max_bytes) << "bin " << i << " is not empty";
        if (i > 0) {
            EXPECT_EQ(bins[i].min_bytes, bins[i - 1].max_bytes + 1);
        }
    }
}

TEST(SizeHistogram, EmptyHasNoBins)
{
    EXPECT_TRUE(SizeHistogram().bins().empty());
}

TEST(SizeHistogram, OneSizeIsOneBin)
{
    SizeHistogram histogram;
    histogram.add(64);
    histogram.add(64);
    const auto bins = histogram.bins();
    ASSERT_EQ(bins.size(), 1u);
    EXPECT_EQ(bins[0].min_bytes, 64u);
    EXPECT_EQ(bins[0].max_bytes, 64u);
    EXPECT_EQ(bins[0].count, 2u);
}

TEST(SizeHistogram, NarrowRangesGetFewerWholeByteBins)
{
    SizeHistogram histogram;
    for (uint64_t size : {1, 2, 3, 4}) {
        histogram.add(size);
    }
    const auto bins = histogram.bins();
    EXPECT_LE(bins.size(), 4u);
    expectContiguous(bins, 1, 4);
    EXPECT_EQ(totalCount(bins), 4u);
}

TEST(SizeHistogram, ZeroSizedAllocationsLandInTheFirstBin)
{
    SizeHistogram histogram;
    histogram.add(0);
    histogram.add(1000000);
    const auto bins = histogram.bins();
    expectContiguous(bins, 0, 1000000);
    EXPECT_EQ(bins.front().count, 1u);
    EXPECT_EQ(bins.back().count, 1u);
    EXPECT_EQ(bins.size(), 10u);
}

TEST(SizeHistogram, BinsGrowGeometrically)
{
    // min 2500, max 1.5e6: the first edge is 2500 * 600^(1/10) = 4739.3 -> 4740.
    SizeHistogram histogram;
    histogram.add(2500);
    histogram.add(4739);
    histogram.add(4740);
    histogram.add(1500000);
    const auto bins = histogram.bins();
    ASSERT_EQ(bins.size(), 10u);
    EXPECT_EQ(bins[0].max_bytes, 4739u);
    EXPECT_EQ(bins[0].count, 2u);
    EXPECT_EQ(bins[1].min_bytes, 4740u);
    EXPECT_EQ(bins[1].count, 1u);
    EXPECT_EQ(bins[9].count, 1u);
    expectContiguous(bins, 2500, 1500000);
}

TEST(SizeHistogram, HugeSizesDoNotOverflow)
{
    SizeHistogram histogram;
    histogram.add(1);
    histogram.add(UINT64_MAX);
    histogram.add(UINT64_MAX - 1);
    const auto bins = histogram.bins();
    expectContiguous(bins, 1, UINT64_MAX);
    EXPECT_EQ(totalCount(bins), 3u);
}

TEST(SizeHistogram, ManyDistinctLargeSizesFoldIntoBucketsAndStayClose)
{
    std::mt19937_64 random(5);
    SizeHistogram exact;
    SizeHistogram folded;
    std::vector<uint64_t> sizes;
    for (size_t i = 0; i < SizeHistogram::kMaxExactSizes + 50000; ++i) {
        sizes.push_back(SizeHistogram::kDirectSizes + random() % (uint64_t{1} << 40));
    }
    for (size_t i = 0; i < 200000; ++i) {
        exact.add(sizes[i]);
    }
    for (uint64_t size : sizes) {
        folded.add(size);
    }
    EXPECT_FALSE(exact.approximate());
    EXPECT_TRUE(folded.approximate());
    EXPECT_EQ(folded.total(), sizes.size());
    const auto bins = folded.bins();
    expectContiguous(bins, folded.minSize(), folded.maxSize());
    EXPECT_EQ(totalCount(bins), sizes.size());
}

TEST(SizeFormat, SiUnitsWithThreeDecimals)
{
    EXPECT_EQ(formatSize(0), "0.000B");
    EXPECT_EQ(formatSize(4), "4.000B");
    EXPECT_EQ(formatSize(999), "999.000B");
    EXPECT_EQ(formatSize(1000), "1.000kB");
    EXPECT_EQ(formatSize(2500), "2.500kB");
    EXPECT_EQ(formatSize(72486000), "72.486MB");
    EXPECT_EQ(formatSize(999999), "999.999kB");
    EXPECT_EQ(formatSize(999999500), "1.000GB") << "never 1000.000MB after rounding";
    EXPECT_EQ(formatSize(1500000000), "1.500GB");
    EXPECT_EQ(formatSize(UINT64_MAX), "18.447EB");
}

}  // namespace
}  // namespace memray::reader
