// The live tracked heap while a capture is replayed, and its high-water mark.
//
// "Heap" means what the capture can see: the sum of the requested sizes of live allocations,
// not RSS. Malloc-family allocations (including pymalloc's when traced) are keyed by address;
// mmap'd regions are address ranges that munmap can trim or split. A free of an address the
// capture never saw allocated (memory from before tracking started) is ignored. realloc
// reaches us as a free of the old block followed by an allocation, so it needs no case here.
//
// The peak is the latest event at which the heap reached its maximum: ties go to the later
// point, so a snapshot taken there includes everything that was live at the maximum last.
//
// `Tag` is what a reporter wants to remember about each live allocation (its stack, its
// thread...). Stats needs nothing, hence the empty default that takes no space.
#pragma once

#include "memray/format/capture_format.h"
#include "memray/format/record_codec.h"
#include "memray/reader/address_map.h"
#include "memray/reader/range_map.h"

#include <cstdint>

namespace memray::reader {

struct NoTag
{
};

template <typename Tag = NoTag>
class HeapTracker
{
  public:
    struct LiveAllocation
    {
        uint64_t size = 0;
        [[no_unique_address]] Tag tag{};
    };

    void allocate(format::Allocator allocator, uint64_t address, uint64_t size, const Tag& tag = {})
    {
        if (allocator == format::Allocator::Mmap) {
            const uint64_t end = RangeMap<Tag>::rangeEnd(address, size);
            current_ -= mappings_.insert(address, end, tag);
            current_ += end - address;
        } else {
            auto [entry, inserted] = blocks_.tryInsert(address, LiveAllocation{size, tag});
            if (!inserted) {
                // The capture missed this block's free: the new allocation replaces it.
                current_ -= entry->size;
                *entry = LiveAllocation{size, tag};
            }
            current_ += size;
        }
        endEvent();
    }

    // `size` is used by Munmap only.
    void deallocate(format::Deallocator deallocator, uint64_t address, uint64_t size)
    {
        deallocate(deallocator, address, size, [](uint64_t, const Tag&, bool) {});
    }

    // The same, calling removed(bytes, tag, whole) for what it frees: the block, or each piece
    // of a mapping that munmap removes (`whole`: nothing of that mapping is left).
    template <typename F>
    void deallocate(format::Deallocator deallocator, uint64_t address, uint64_t size, F&& removed)
    {
        if (deallocator == format::Deallocator::Munmap) {
            current_ -= mappings_.erase(address, RangeMap<Tag>::rangeEnd(address, size),
                                        [&](uint64_t start, uint64_t end, const Tag& tag, bool whole) {
                                            removed(end - start, tag, whole);
                                        });
        } else {
            LiveAllocation freed;
            if (blocks_.erase(address, &freed)) {
                current_ -= freed.size;
                removed(freed.size, freed.tag, true);
            }
        }
        endEvent();
    }

    // Applies an Allocation or Deallocation record; other records are not heap events.
    void apply(const format::Record& record, const Tag& tag = {})
    {
        if (record.kind == format::Record::Kind::Allocation) {
            allocate(record.allocator, record.address, record.size, tag);
        } else if (record.kind == format::Record::Kind::Deallocation) {
            deallocate(record.deallocator, record.address, record.size);
        }
    }

    // Hints that a record touching `address` is coming (see AddressMap::prefetch).
    void prefetch(uint64_t address) const { blocks_.prefetch(address); }

    uint64_t currentBytes() const { return current_; }
    uint64_t peakBytes() const { return peak_; }
    // Heap events (allocations + deallocations) applied so far, and how many had been applied
    // when the peak was reached: replaying that many events reproduces the peak's heap.
    uint64_t events() const { return events_; }
    uint64_t peakEvents() const { return peak_events_; }

    size_t liveBlocks() const { return blocks_.size(); }
    size_t liveMappings() const { return mappings_.size(); }

    // Calls f(address, size, tag) for every live allocation: blocks in no particular order, then
    // mapped ranges (as they are now, after any partial unmaps) in address order.
    template <typename F>
    void forEachLive(F&& f) const
    {
        blocks_.forEach([&](uint64_t address, const LiveAllocation& live) { f(address, live.size, live.tag); });
        mappings_.forEach([&](uint64_t start, uint64_t end, const Tag& tag) { f(start, end - start, tag); });
    }

  private:
    void endEvent()
    {
        ++events_;
        if (current_ >= peak_) {
            peak_ = current_;
            peak_events_ = events_;
        }
    }

    AddressMap<LiveAllocation> blocks_;
    RangeMap<Tag> mappings_;
    uint64_t current_ = 0;
    uint64_t peak_ = 0;
    uint64_t events_ = 0;
    uint64_t peak_events_ = 0;
};

}  // namespace memray::reader
