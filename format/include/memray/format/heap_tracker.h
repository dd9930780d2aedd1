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
//
// `Observer` is told every change the heap undergoes, per tag, while the event that makes it is
// being applied (events() still counts the events before it): that is what lets the payload keep
// per-location figures of an aggregated capture incrementally, with exactly this model. The
// default observes nothing and costs nothing.
//
// The payload (aggregated captures) and the reader share this model: one copy of its rules.
#pragma once

#include "memray/format/capture_format.h"
#include "memray/format/record_codec.h"
#include "memray/format/address_map.h"
#include "memray/format/range_map.h"

#include <cstdint>
#include <type_traits>
#include <utility>

namespace memray::format {

struct NoTag
{
};

// What an observer of a HeapTracker implements. A live piece is one malloc-family block or one
// mapped range (as munmap has left it); the reader counts each as one live allocation.
struct NoHeapObserver
{
    // A new live piece of `bytes` with `tag`.
    template <typename Tag>
    void added(const Tag& /*tag*/, uint64_t /*bytes*/)
    {
    }
    // `bytes` of a piece with `tag` stopped being live; `pieces` is the change in the number of
    // live pieces: -1 (the piece is gone: freed, unmapped whole or replaced), 0 (munmap or a new
    // mapping trimmed it at one end), +1 (a hole cut in its middle left two pieces).
    template <typename Tag>
    void removed(const Tag& /*tag*/, uint64_t /*bytes*/, int /*pieces*/)
    {
    }
};

template <typename Tag = NoTag, typename Observer = NoHeapObserver>
class HeapTracker
{
    static constexpr bool kObserved = !std::is_same_v<Observer, NoHeapObserver>;

  public:
    struct LiveAllocation
    {
        uint64_t size = 0;
        [[no_unique_address]] Tag tag{};
    };

    HeapTracker() = default;
    explicit HeapTracker(Observer observer)
    : observer_(std::move(observer))
    {
    }

    void allocate(format::Allocator allocator, uint64_t address, uint64_t size, const Tag& tag = {})
    {
        if (allocator == format::Allocator::Mmap) {
            const uint64_t end = RangeMap<Tag>::rangeEnd(address, size);
            if constexpr (kObserved) {
                current_ -= unmap(address, end, [](uint64_t, const Tag&, bool) {});
                if (address < end) {
                    observer_.added(tag, end - address);
                }
            }
            current_ -= mappings_.insert(address, end, tag);
            current_ += end - address;
        } else {
            auto [entry, inserted] = blocks_.tryInsert(address, LiveAllocation{size, tag});
            if (!inserted) {
                // The capture missed this block's free: the new allocation replaces it.
                current_ -= entry->size;
                if constexpr (kObserved) {
                    observer_.removed(entry->tag, entry->size, -1);
                }
                *entry = LiveAllocation{size, tag};
            }
            if constexpr (kObserved) {
                observer_.added(tag, size);
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
            current_ -= unmap(address, RangeMap<Tag>::rangeEnd(address, size), removed);
        } else {
            LiveAllocation freed;
            if (blocks_.erase(address, &freed)) {
                current_ -= freed.size;
                if constexpr (kObserved) {
                    observer_.removed(freed.tag, freed.size, -1);
                }
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

    Observer& observer() { return observer_; }

  private:
    // Removes [start, end) from the mapped ranges, telling `removed` and the observer; returns
    // the bytes removed.
    template <typename F>
    uint64_t unmap(uint64_t start, uint64_t end, F&& removed)
    {
        // Only a range that contains [start, end) with room on both sides is split, and then it
        // is the only range touched.
        bool split = false;
        if constexpr (kObserved) {
            split = mappings_.splits(start, end);
        }
        return mappings_.erase(start, end, [&](uint64_t piece_start, uint64_t piece_end, const Tag& tag, bool whole) {
            if constexpr (kObserved) {
                observer_.removed(tag, piece_end - piece_start, whole ? -1 : split ? 1 : 0);
            }
            removed(piece_end - piece_start, tag, whole);
        });
    }

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
    [[no_unique_address]] Observer observer_{};
};

}  // namespace memray::format
