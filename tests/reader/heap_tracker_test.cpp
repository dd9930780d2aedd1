// The live heap and its high-water mark: malloc-family blocks, mmap ranges with partial and
// split unmaps, realloc, frees of unknown addresses, and which point wins a tie.
#include "memray/format/heap_tracker.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

namespace memray::format {
namespace {

using format::Allocator;
using format::Deallocator;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kMapA = 0x7f0000000000;
constexpr uint64_t kMapB = 0x7f1000000000;

TEST(HeapTracker, MmapTwoPagesUnmapOneMmapTenPeaksAtElevenPages)
{
    HeapTracker<> heap;
    heap.allocate(Allocator::Mmap, kMapA, 2 * kPage);
    heap.deallocate(Deallocator::Munmap, kMapA + kPage, kPage);
    EXPECT_EQ(heap.currentBytes(), kPage);
    heap.allocate(Allocator::Mmap, kMapB, 10 * kPage);
    EXPECT_EQ(heap.peakBytes(), 11 * kPage);
    EXPECT_EQ(heap.currentBytes(), 11 * kPage);
    EXPECT_EQ(heap.peakEvents(), 3u);
}

TEST(HeapTracker, UnmapInTheMiddleSplitsTheRange)
{
    HeapTracker<uint64_t> heap;
    heap.allocate(Allocator::Mmap, kMapA, 3 * kPage, 7);
    heap.deallocate(Deallocator::Munmap, kMapA + kPage, kPage);  // a hole in the middle
    EXPECT_EQ(heap.currentBytes(), 2 * kPage);
    EXPECT_EQ(heap.liveMappings(), 2u);

    std::map<uint64_t, std::pair<uint64_t, uint64_t>> live;  // address -> (size, tag)
    heap.forEachLive([&](uint64_t address, uint64_t size, uint64_t tag) { live[address] = {size, tag}; });
    EXPECT_EQ(live, (std::map<uint64_t, std::pair<uint64_t, uint64_t>>{{kMapA, {kPage, 7}}, {kMapA + 2 * kPage, {kPage, 7}}}));

    heap.allocate(Allocator::Mmap, kMapB, 10 * kPage, 8);
    EXPECT_EQ(heap.peakBytes(), 12 * kPage);

    // One munmap across both pieces and the hole between them removes only what is mapped.
    heap.deallocate(Deallocator::Munmap, kMapA, 3 * kPage);
    EXPECT_EQ(heap.currentBytes(), 10 * kPage);
    EXPECT_EQ(heap.liveMappings(), 1u);
}

TEST(HeapTracker, UnmapHeadTailAndAcrossSeveralMappings)
{
    HeapTracker<> heap;
    heap.allocate(Allocator::Mmap, kMapA, 10 * kPage);
    heap.deallocate(Deallocator::Munmap, kMapA, 2 * kPage);               // head
    heap.deallocate(Deallocator::Munmap, kMapA + 8 * kPage, 4 * kPage);   // tail, running past the end
    EXPECT_EQ(heap.currentBytes(), 6 * kPage);
    heap.allocate(Allocator::Mmap, kMapA + 20 * kPage, 4 * kPage);
    heap.deallocate(Deallocator::Munmap, kMapA + 5 * kPage, 17 * kPage);  // tail of one, head of the next
    EXPECT_EQ(heap.currentBytes(), 3 * kPage + 2 * kPage);
    EXPECT_EQ(heap.peakBytes(), 10 * kPage);
}

TEST(HeapTracker, MappingOverAMappingReplacesIt)
{
    HeapTracker<> heap;
    heap.allocate(Allocator::Mmap, kMapA, 4 * kPage);
    heap.allocate(Allocator::Mmap, kMapA + 2 * kPage, 4 * kPage);  // MAP_FIXED over the last two pages
    EXPECT_EQ(heap.currentBytes(), 6 * kPage);
    EXPECT_EQ(heap.peakBytes(), 6 * kPage);
}

TEST(HeapTracker, RangesNearTheTopOfTheAddressSpaceDoNotWrap)
{
    HeapTracker<> heap;
    const uint64_t top = UINT64_MAX - kPage + 1;
    heap.allocate(Allocator::Mmap, top, 10 * kPage);  // claims more than fits: clamped
    EXPECT_EQ(heap.currentBytes(), kPage - 1);
    heap.deallocate(Deallocator::Munmap, top, UINT64_MAX);
    EXPECT_EQ(heap.currentBytes(), 0u);
}

TEST(HeapTracker, TiesGoToTheLatestPoint)
{
    HeapTracker<> heap;
    heap.allocate(Allocator::Malloc, 0x1000, 100);  // event 1: 100
    heap.deallocate(Deallocator::Free, 0x1000, 0);  // event 2: 0
    heap.allocate(Allocator::Malloc, 0x2000, 60);   // event 3: 60
    heap.allocate(Allocator::Malloc, 0x3000, 40);   // event 4: 100 again -> the later one wins
    EXPECT_EQ(heap.peakBytes(), 100u);
    EXPECT_EQ(heap.peakEvents(), 4u);
    heap.deallocate(Deallocator::Free, 0x3000, 0);  // event 5: 60
    heap.allocate(Allocator::Malloc, 0x4000, 41);   // event 6: 101 -> a new peak
    EXPECT_EQ(heap.peakBytes(), 101u);
    EXPECT_EQ(heap.peakEvents(), 6u);
    heap.deallocate(Deallocator::Free, 0x4000, 0);
    EXPECT_EQ(heap.peakEvents(), 6u);
    EXPECT_EQ(heap.events(), 7u);
}

TEST(HeapTracker, ReallocIsAFreeThenAnAllocation)
{
    HeapTracker<> heap;
    heap.allocate(Allocator::Malloc, 0x1000, 100);
    heap.deallocate(Deallocator::Free, 0x1000, 0);
    heap.allocate(Allocator::Realloc, 0x5000, 300);  // grew and moved
    EXPECT_EQ(heap.currentBytes(), 300u);
    heap.deallocate(Deallocator::Free, 0x5000, 0);
    heap.allocate(Allocator::Realloc, 0x5000, 50);  // shrank in place
    EXPECT_EQ(heap.currentBytes(), 50u);
    EXPECT_EQ(heap.peakBytes(), 300u);
    EXPECT_EQ(heap.liveBlocks(), 1u);
}

TEST(HeapTracker, FreesOfUnknownAddressesAreIgnored)
{
    HeapTracker<> heap;
    heap.allocate(Allocator::Malloc, 0x1000, 100);
    heap.deallocate(Deallocator::Free, 0xdead0, 0);
    heap.deallocate(Deallocator::PymallocFree, 0xbeef0, 0);
    heap.deallocate(Deallocator::Munmap, kMapA, 100 * kPage);
    heap.deallocate(Deallocator::Free, 0x1000, 0);
    heap.deallocate(Deallocator::Free, 0x1000, 0);  // a double free counts once
    EXPECT_EQ(heap.currentBytes(), 0u);
    EXPECT_EQ(heap.peakBytes(), 100u);
}

TEST(HeapTracker, AnAllocationAtALiveAddressReplacesTheMissedBlock)
{
    HeapTracker<> heap;
    heap.allocate(Allocator::Malloc, 0x1000, 100);
    heap.allocate(Allocator::Malloc, 0x1000, 30);
    EXPECT_EQ(heap.currentBytes(), 30u);
    EXPECT_EQ(heap.liveBlocks(), 1u);
}

TEST(HeapTracker, AddressZeroIsAnOrdinaryAddress)
{
    HeapTracker<> heap;
    heap.allocate(Allocator::Malloc, 0, 10);
    heap.allocate(Allocator::Malloc, 16, 20);
    EXPECT_EQ(heap.currentBytes(), 30u);
    heap.deallocate(Deallocator::Free, 0, 0);
    EXPECT_EQ(heap.currentBytes(), 20u);
}

TEST(HeapTracker, BlocksAndMappingsAreSeparateTables)
{
    // free() of an mmap'd address is not an munmap, and munmap does not free blocks.
    HeapTracker<> heap;
    heap.allocate(Allocator::Mmap, kMapA, kPage);
    heap.allocate(Allocator::Malloc, 0x1000, 64);
    heap.deallocate(Deallocator::Free, kMapA, 0);
    heap.deallocate(Deallocator::Munmap, 0x1000, 64);
    EXPECT_EQ(heap.currentBytes(), kPage + 64);
}

}  // namespace
}  // namespace memray::format
