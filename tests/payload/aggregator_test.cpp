// The payload's aggregator against the reader's way of getting the same figures: replay the
// heap events with HeapTracker up to the peak (and to the end) and group the live allocations
// by location. Random event sequences cover munmap splits and trims, mappings over mappings,
// blocks replaced at a live address, frees of unknown addresses and ties at the peak.
#include "aggregator.h"

#include "memray/format/heap_tracker.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <tuple>
#include <vector>

namespace memray::payload {
namespace {

using format::Allocator;
using format::Deallocator;

struct Event
{
    bool allocation = true;
    LocationKey key;  // allocations
    Deallocator deallocator{};
    uint64_t address = 0;
    uint64_t size = 0;
};

using KeyTuple = std::tuple<uint64_t, uint64_t, uint64_t, uint8_t>;

KeyTuple tupleOf(uint64_t tid, uint64_t stack, uint64_t native, Allocator allocator)
{
    return {tid, stack, native, static_cast<uint8_t>(allocator)};
}

struct Figures
{
    uint64_t bytes = 0;
    uint64_t count = 0;
    bool operator==(const Figures&) const = default;
};

// The reader's way: replay `count` events, then group what is live by location.
std::map<KeyTuple, Figures> replayAndGroup(const std::vector<Event>& events, size_t count)
{
    format::HeapTracker<KeyTuple> heap;
    for (size_t i = 0; i < count; ++i) {
        const Event& event = events[i];
        if (event.allocation) {
            heap.allocate(event.key.allocator, event.address, event.size,
                          tupleOf(event.key.tid, event.key.stack_id, event.key.native_stack_id, event.key.allocator));
        } else {
            heap.deallocate(event.deallocator, event.address, event.size);
        }
    }
    std::map<KeyTuple, Figures> grouped;
    heap.forEachLive([&](uint64_t, uint64_t size, const KeyTuple& key) {
        grouped[key].bytes += size;
        grouped[key].count += 1;
    });
    return grouped;
}

struct ReplayedPeak
{
    uint64_t peak_events = 0;
    uint64_t peak_bytes = 0;
    uint64_t events = 0;
};

ReplayedPeak replayPeak(const std::vector<Event>& events)
{
    format::HeapTracker<> heap;
    for (const Event& event : events) {
        if (event.allocation) {
            heap.allocate(event.key.allocator, event.address, event.size);
        } else {
            heap.deallocate(event.deallocator, event.address, event.size);
        }
    }
    return {heap.peakEvents(), heap.peakBytes(), heap.events()};
}

std::vector<Event> randomEvents(std::mt19937_64& rng, size_t count)
{
    constexpr uint64_t kPage = 4096;
    constexpr uint64_t kMapBase = 0x7f0000000000;
    std::vector<Event> events;
    std::vector<uint64_t> live_blocks;
    auto pick = [&](uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng); };
    static constexpr Allocator kBlockAllocators[] = {Allocator::Malloc, Allocator::Calloc, Allocator::Realloc};
    for (size_t i = 0; i < count; ++i) {
        Event event;
        const uint64_t what = pick(100);
        if (what < 40) {
            // A block; few addresses and sizes, so that live addresses come back (a missed free
            // replaced) and the heap returns to the same totals (ties at the peak).
            event.key = {1 + pick(3), 1 + pick(4), pick(2), kBlockAllocators[pick(3)]};
            event.address = 0x1000 + 16 * pick(40);
            event.size = 16 * pick(5);
            live_blocks.push_back(event.address);
        } else if (what < 55) {
            event.key = {1 + pick(2), 1 + pick(3), 0, Allocator::Mmap};
            event.address = kMapBase + kPage * pick(64);
            event.size = kPage * (1 + pick(8));
        } else if (what < 85) {
            event.allocation = false;
            event.deallocator = pick(2) ? Deallocator::Free : Deallocator::PymallocFree;
            if (!live_blocks.empty() && pick(5) != 0) {
                event.address = live_blocks[pick(live_blocks.size())];
            } else {
                event.address = 0x900000 + 16 * pick(1000);  // never allocated
            }
        } else {
            event.allocation = false;
            event.deallocator = Deallocator::Munmap;
            event.address = kMapBase + kPage * pick(72);
            event.size = kPage * pick(6);  // 0 is a no-op, still an event
        }
        events.push_back(event);
    }
    return events;
}

// Applies the events to an aggregator, merging its checkpoints as a reader does (a location
// record replaces the earlier one) at random points and at the end.
struct Checkpointed
{
    std::map<KeyTuple, format::AggregateLocation> locations;
    format::AggregateTotals totals;
};

Checkpointed aggregate(const std::vector<Event>& events, std::mt19937_64& rng, Aggregator& aggregator)
{
    Checkpointed result;
    auto checkpoint = [&] {
        result.totals = aggregator.totals();
        aggregator.takeChanged([&](const format::AggregateLocation& location) {
            result.locations[tupleOf(location.tid, location.stack_id, location.native_stack_id, location.allocator)] =
                    location;
        });
        EXPECT_EQ(aggregator.changedCount(), 0u);
    };
    for (const Event& event : events) {
        if (event.allocation) {
            aggregator.allocate(event.key, event.address, event.size);
        } else {
            aggregator.deallocate(event.deallocator, event.address, event.size);
        }
        if (std::uniform_int_distribution<int>(0, 30)(rng) == 0) {
            checkpoint();
        }
    }
    checkpoint();
    return result;
}

void expectMatchesReplay(const std::vector<Event>& events, const Checkpointed& got)
{
    const ReplayedPeak peak = replayPeak(events);
    ASSERT_EQ(got.totals.events, events.size());
    ASSERT_EQ(got.totals.events, peak.events);
    ASSERT_EQ(got.totals.peak_events, peak.peak_events);
    ASSERT_EQ(got.totals.peak_bytes, peak.peak_bytes);

    const auto at_peak = replayAndGroup(events, peak.peak_events);
    const auto at_end = replayAndGroup(events, events.size());
    std::map<KeyTuple, Figures> got_at_peak, got_at_end;
    uint64_t end_bytes = 0;
    for (const auto& [key, location] : got.locations) {
        Figures peak_figures{location.bytesAtPeak(got.totals.peak_events), location.countAtPeak(got.totals.peak_events)};
        Figures end_figures{location.live_bytes, location.live_count};
        if (peak_figures.count != 0 || peak_figures.bytes != 0) {
            got_at_peak[key] = peak_figures;
        }
        if (end_figures.count != 0 || end_figures.bytes != 0) {
            got_at_end[key] = end_figures;
        }
        end_bytes += location.live_bytes;
    }
    EXPECT_EQ(got_at_peak, at_peak);
    EXPECT_EQ(got_at_end, at_end);
    EXPECT_EQ(end_bytes, got.totals.current_bytes);
}

TEST(Aggregator, RandomSequencesMatchReplayingTheHeapAndGrouping)
{
    std::mt19937_64 rng(20261124);
    for (int round = 0; round < 300; ++round) {
        const std::vector<Event> events = randomEvents(rng, 10 + round * 5);
        Aggregator aggregator;
        SCOPED_TRACE("round " + std::to_string(round));
        expectMatchesReplay(events, aggregate(events, rng, aggregator));
        if (HasFatalFailure() || HasNonfatalFailure()) {
            return;
        }
    }
}

// The memory samples' heap: the highest since the previous sample, or the heap now.
TEST(Aggregator, SampleHighWaterIsTheHighestHeapSinceThePreviousSample)
{
    Aggregator aggregator;
    const LocationKey key{1, 1, 0, Allocator::Malloc};
    EXPECT_EQ(aggregator.takeSampleHighWater(), 0u);
    aggregator.allocate(key, 0x1000, 10'000'000);  // lives between two samples
    aggregator.deallocate(Deallocator::Free, 0x1000, 0);
    aggregator.allocate(key, 0x2000, 100);
    EXPECT_EQ(aggregator.takeSampleHighWater(), 10'000'000u);
    EXPECT_EQ(aggregator.takeSampleHighWater(), 100u);  // only what is live now
    aggregator.allocate(key, 0x3000, 50);
    aggregator.deallocate(Deallocator::Free, 0x2000, 0);
    EXPECT_EQ(aggregator.takeSampleHighWater(), 150u);
    aggregator.reset();
    EXPECT_EQ(aggregator.takeSampleHighWater(), 0u);
}

TEST(Aggregator, ResetStartsAFreshCapture)
{
    std::mt19937_64 rng(7);
    Aggregator aggregator;
    aggregate(randomEvents(rng, 500), rng, aggregator);
    aggregator.reset();
    EXPECT_EQ(aggregator.locationCount(), 0u);
    EXPECT_EQ(aggregator.heapBytes(), 0u);
    const std::vector<Event> events = randomEvents(rng, 500);
    expectMatchesReplay(events, aggregate(events, rng, aggregator));
}

TEST(Aggregator, UnmapInTheMiddleCountsTwoPieces)
{
    constexpr uint64_t kPage = 4096;
    Aggregator aggregator;
    const LocationKey key{1, 5, 0, Allocator::Mmap};
    aggregator.allocate(key, 0x10000, 10 * kPage);            // event 1: peak 10 pages
    aggregator.deallocate(Deallocator::Munmap, 0x10000 + 2 * kPage, kPage);  // event 2: a hole
    aggregator.deallocate(Deallocator::Munmap, 0x10000, kPage);  // event 3: trims the first piece
    aggregator.deallocate(Deallocator::Free, 0x1234, 0);         // event 4: unknown, still counted
    std::vector<format::AggregateLocation> changed;
    aggregator.takeChanged([&](const format::AggregateLocation& location) { changed.push_back(location); });
    ASSERT_EQ(changed.size(), 1u);
    const format::AggregateTotals totals = aggregator.totals();
    EXPECT_EQ(totals.events, 4u);
    EXPECT_EQ(totals.peak_events, 1u);
    EXPECT_EQ(totals.allocations, 1u);
    EXPECT_EQ(totals.allocated_bytes, 10 * kPage);
    EXPECT_EQ(changed[0].live_bytes, 8 * kPage);
    EXPECT_EQ(changed[0].live_count, 2u);
    EXPECT_EQ(changed[0].last_change_event, 3u);
    EXPECT_EQ(changed[0].bytesAtPeak(totals.peak_events), 10 * kPage);
    EXPECT_EQ(changed[0].countAtPeak(totals.peak_events), 1u);
}

TEST(Aggregator, TiesAtThePeakGoToTheLaterEvent)
{
    Aggregator aggregator;
    const LocationKey a{1, 1, 0, Allocator::Malloc};
    const LocationKey b{1, 2, 0, Allocator::Malloc};
    aggregator.allocate(a, 0x100, 64);                      // 1: 64, peak
    aggregator.deallocate(Deallocator::Free, 0x100, 0);     // 2: 0
    aggregator.allocate(b, 0x200, 64);                      // 3: 64 again: the peak is here
    std::map<uint64_t, format::AggregateLocation> by_stack;
    aggregator.takeChanged([&](const format::AggregateLocation& location) { by_stack[location.stack_id] = location; });
    const uint64_t peak_events = aggregator.totals().peak_events;
    EXPECT_EQ(peak_events, 3u);
    EXPECT_EQ(by_stack[1].bytesAtPeak(peak_events), 0u);
    EXPECT_EQ(by_stack[2].bytesAtPeak(peak_events), 64u);
}

}  // namespace
}  // namespace memray::payload
