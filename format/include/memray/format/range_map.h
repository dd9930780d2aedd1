// Disjoint address ranges with a value each: the live mmap'd regions of a capture.
//
// munmap can release any part of a mapping (its start, its end, or a hole in its middle that
// splits it in two), and one munmap can span several mappings, so mappings are not keyed by
// their start address alone but kept as ranges that erase() trims and splits. A new mapping
// over mapped addresses replaces what was there, as MAP_FIXED does. Mappings are few compared
// with malloc-family allocations, so an ordered map is fast enough.
#pragma once

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <limits>
#include <map>

namespace memray::format {

template <typename Value>
class RangeMap
{
  public:
    // [start, start + size), clamped so that a bogus size cannot wrap around the address space.
    static uint64_t rangeEnd(uint64_t start, uint64_t size)
    {
        return size > std::numeric_limits<uint64_t>::max() - start ? std::numeric_limits<uint64_t>::max()
                                                                  : start + size;
    }

    size_t size() const { return ranges_.size(); }

    // Removes [start, end) from every range it overlaps, calling removed(piece_start, piece_end,
    // value, whole) for each removed piece, `whole` telling whether the piece was all that was
    // left of its range. Returns the bytes removed.
    template <typename F>
    uint64_t erase(uint64_t start, uint64_t end, F&& removed)
    {
        uint64_t bytes = 0;
        if (start < end) {
            eraseRange(start, end, &bytes, removed);
        }
        return bytes;
    }

    // Whether erase(start, end) would cut a hole in one range, leaving a piece of it on each
    // side (one range becoming two).
    bool splits(uint64_t start, uint64_t end) const
    {
        if (start >= end) {
            return false;
        }
        auto it = ranges_.upper_bound(start);
        if (it == ranges_.begin()) {
            return false;
        }
        --it;
        return it->first < start && it->second.end > end;
    }

    uint64_t erase(uint64_t start, uint64_t end)
    {
        return erase(start, end, [](uint64_t, uint64_t, const Value&, bool) {});
    }

    // Adds [start, end) with `value`. Returns the bytes of earlier ranges it replaced.
    uint64_t insert(uint64_t start, uint64_t end, const Value& value)
    {
        if (start >= end) {
            return 0;
        }
        uint64_t replaced = 0;
        // The erase ends where the new range goes: no second walk down the tree to find it.
        const auto next = eraseRange(start, end, &replaced, [](uint64_t, uint64_t, const Value&, bool) {});
        ranges_.emplace_hint(next, start, Range{end, value});
        return replaced;
    }

    // Calls f(start, end, value) for every range, in address order.
    template <typename F>
    void forEach(F&& f) const
    {
        for (const auto& [start, range] : ranges_) {
            f(start, range.end, range.value);
        }
    }

    void clear() { ranges_.clear(); }

  private:
    struct Range
    {
        uint64_t end;
        Value value;
    };
    using Ranges = std::map<uint64_t, Range>;

    // erase() for start < end, adding the bytes removed to *bytes. Returns the first range
    // starting at or after `end`: where a range [start, end) now belongs.
    template <typename F>
    typename Ranges::iterator eraseRange(uint64_t start, uint64_t end, uint64_t* bytes, F&& removed)
    {
        auto it = ranges_.upper_bound(start);
        if (it != ranges_.begin() && std::prev(it)->second.end > start) {
            --it;
        }
        while (it != ranges_.end() && it->first < end) {
            const uint64_t range_start = it->first;
            const uint64_t range_end = it->second.end;
            const Value value = it->second.value;
            const uint64_t cut_start = std::max(range_start, start);
            const uint64_t cut_end = std::min(range_end, end);
            *bytes += cut_end - cut_start;
            removed(cut_start, cut_end, value, range_start == cut_start && cut_end == range_end);
            it = ranges_.erase(it);
            if (range_start < cut_start) {
                ranges_.emplace_hint(it, range_start, Range{cut_start, value});
            }
            if (cut_end < range_end) {
                // This range outlives the cut, so nothing after it can overlap [start, end).
                return ranges_.emplace_hint(it, cut_end, Range{range_end, value});
            }
        }
        return it;
    }

    Ranges ranges_;
};

}  // namespace memray::format
