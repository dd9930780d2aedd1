// AddressMap, RangeMap and FlatIndexMap against simple reference models, under random churn.
#include "memray/format/address_map.h"
#include "memray/format/range_map.h"

#include "../../reader/src/flat_index_map.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <unordered_map>

namespace memray::format {
namespace {

TEST(AddressMap, MatchesAnUnorderedMapUnderChurn)
{
    std::mt19937_64 random(1);
    AddressMap<uint64_t> map;
    std::unordered_map<uint64_t, uint64_t> model;
    // Few distinct keys, so inserts, hits and erases all happen often; the keys are aligned to
    // large powers of two (the worst case for a weak hash) and include 0.
    auto key = [&] { return (random() % 5000) << (random() % 2 ? 4 : 20); };
    for (int i = 0; i < 300000; ++i) {
        const uint64_t k = key();
        switch (random() % 3) {
            case 0: {
                auto [value, inserted] = map.tryInsert(k, i);
                auto [it, model_inserted] = model.try_emplace(k, i);
                ASSERT_EQ(inserted, model_inserted);
                ASSERT_EQ(*value, it->second);
                break;
            }
            case 1: {
                uint64_t erased = 0;
                const bool found = map.erase(k, &erased);
                auto it = model.find(k);
                ASSERT_EQ(found, it != model.end());
                if (found) {
                    ASSERT_EQ(erased, it->second);
                    model.erase(it);
                }
                break;
            }
            default: {
                uint64_t* value = map.find(k);
                auto it = model.find(k);
                ASSERT_EQ(value != nullptr, it != model.end());
                if (value) {
                    ASSERT_EQ(*value, it->second);
                }
            }
        }
        ASSERT_EQ(map.size(), model.size());
    }
    std::unordered_map<uint64_t, uint64_t> listed;
    map.forEach([&](uint64_t k, uint64_t v) { listed[k] = v; });
    EXPECT_EQ(listed, model);
}

TEST(AddressMap, GrowsAndEmptiesCompletely)
{
    AddressMap<int> map;
    for (uint64_t i = 0; i < 100000; ++i) {
        ASSERT_TRUE(map.tryInsert(i * 16, static_cast<int>(i)).second);
    }
    EXPECT_EQ(map.size(), 100000u);
    for (uint64_t i = 0; i < 100000; ++i) {
        ASSERT_NE(map.find(i * 16), nullptr);
        ASSERT_EQ(*map.find(i * 16), static_cast<int>(i));
    }
    for (uint64_t i = 0; i < 100000; i += 2) {
        ASSERT_TRUE(map.erase(i * 16));
    }
    for (uint64_t i = 0; i < 100000; ++i) {
        ASSERT_EQ(map.find(i * 16) != nullptr, i % 2 == 1) << i;
    }
    for (uint64_t i = 1; i < 100000; i += 2) {
        ASSERT_TRUE(map.erase(i * 16));
    }
    EXPECT_TRUE(map.empty());
    EXPECT_FALSE(map.erase(16));
}

// A page-granular model: the set of mapped pages and each page's value. `pages` pages, maps
// and unmaps of up to `max_run` pages, the whole map compared with the model every
// `check_every` steps. Returns the most ranges the map held at once.
size_t checkAgainstPageModel(uint64_t pages_in_space, uint64_t max_run, int steps, int check_every)
{
    constexpr uint64_t kPage = 4096;
    std::mt19937_64 random(2);
    RangeMap<int> ranges;
    std::map<uint64_t, int> pages;
    size_t most_ranges = 0;
    for (int i = 0; i < steps; ++i) {
        const uint64_t first = random() % pages_in_space;
        const uint64_t count = 1 + random() % max_run;
        const uint64_t start = first * kPage;
        const uint64_t end = (first + count) * kPage;
        if (random() % 2) {
            uint64_t model_replaced = 0;
            for (uint64_t page = first; page < first + count; ++page) {
                model_replaced += pages.count(page) * kPage;
                pages[page] = i;
            }
            EXPECT_EQ(ranges.insert(start, end, i), model_replaced);
        } else {
            // A hole in one range: the pages on both sides of it are mapped, with one value
            // (each insert has its own, and the pieces of one range are never adjacent).
            bool model_splits = first > 0 && pages.count(first - 1);
            for (uint64_t page = first; model_splits && page <= first + count; ++page) {
                model_splits = pages.count(page) && pages[page] == pages[first - 1];
            }
            EXPECT_EQ(ranges.splits(start, end), model_splits) << "at step " << i;
            uint64_t model_removed = 0;
            for (uint64_t page = first; page < first + count; ++page) {
                model_removed += pages.erase(page) * kPage;
            }
            uint64_t reported = 0;
            EXPECT_EQ(ranges.erase(start, end, [&](uint64_t s, uint64_t e, int, bool) { reported += e - s; }), model_removed);
            EXPECT_EQ(reported, model_removed);
        }
        most_ranges = std::max(most_ranges, ranges.size());
        if (i % check_every != 0 && i + 1 != steps) {
            continue;
        }
        // The ranges must be disjoint, sorted, non-empty, and cover exactly the mapped pages.
        std::map<uint64_t, int> covered;
        uint64_t previous_end = 0;
        size_t seen = 0;
        ranges.forEach([&](uint64_t s, uint64_t e, int value) {
            EXPECT_LT(s, e);
            EXPECT_GE(s, previous_end);
            previous_end = e;
            ++seen;
            for (uint64_t page = s / kPage; page < e / kPage; ++page) {
                covered[page] = value;
            }
        });
        EXPECT_EQ(seen, ranges.size());
        EXPECT_EQ(covered, pages) << "after step " << i;
        if (::testing::Test::HasFailure()) {
            break;
        }
    }
    return most_ranges;
}

TEST(RangeMap, MatchesAPageModelUnderRandomMapsAndUnmaps)
{
    checkAgainstPageModel(256, 16, 20000, 1);
}

// Thousands of ranges: lookups, insertions and erasures cross the blocks the map keeps them in,
// and blocks split and empty out.
TEST(RangeMap, MatchesAPageModelWithThousandsOfRanges)
{
    EXPECT_GT(checkAgainstPageModel(1 << 16, 6, 60000, 997), 2000u);
}

TEST(RangeMap, EmptyAndInvertedRangesAreNoOps)
{
    RangeMap<int> ranges;
    EXPECT_EQ(ranges.insert(100, 100, 1), 0u);
    EXPECT_EQ(ranges.insert(200, 100, 1), 0u);
    EXPECT_EQ(ranges.size(), 0u);
    ranges.insert(0, 100, 1);
    EXPECT_EQ(ranges.erase(50, 50), 0u);
    EXPECT_EQ(ranges.erase(60, 10), 0u);
    EXPECT_EQ(ranges.size(), 1u);
    EXPECT_EQ(RangeMap<int>::rangeEnd(UINT64_MAX - 5, 100), UINT64_MAX);
    EXPECT_EQ(RangeMap<int>::rangeEnd(10, 5), 15u);
}

}  // namespace
}  // namespace memray::format

namespace memray::reader {
namespace {

struct PairKey
{
    uint64_t a = 0;
    uint64_t b = 0;
    bool operator==(const PairKey&) const = default;
};

// A deliberately weak hash (few distinct values): long probe chains and wrap-around at the
// end of the table get exercised.
struct WeakPairHash
{
    size_t operator()(const PairKey& key) const { return static_cast<size_t>((key.a + key.b) % 97 * 37); }
};

TEST(FlatIndexMap, MatchesAnUnorderedMapThroughGrowth)
{
    std::mt19937_64 random(2);
    FlatIndexMap<PairKey, WeakPairHash> map;
    std::map<std::pair<uint64_t, uint64_t>, uint32_t> model;
    for (uint32_t i = 0; i < 20000; ++i) {
        const PairKey key{random() % 3000, random() % 4};
        if (random() % 2) {
            auto [index, inserted] = map.tryInsert(key, i);
            auto [it, model_inserted] = model.try_emplace({key.a, key.b}, i);
            ASSERT_EQ(inserted, model_inserted);
            ASSERT_EQ(index, it->second);
        } else {
            auto it = model.find({key.a, key.b});
            ASSERT_EQ(map.find(key), it == model.end() ? map.kAbsent : it->second);
        }
    }
    ASSERT_GT(model.size(), 5000u);  // well past the initial 1024 slots
    for (const auto& [key, index] : model) {
        EXPECT_EQ(map.find(PairKey{key.first, key.second}), index);
    }
    EXPECT_EQ(map.find(PairKey{5000, 0}), map.kAbsent);
}

}  // namespace
}  // namespace memray::reader
