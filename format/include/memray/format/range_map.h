// Disjoint address ranges with a value each: the live mmap'd regions of a capture.
//
// munmap can release any part of a mapping (its start, its end, or a hole in its middle that
// splits it in two), and one munmap can span several mappings, so mappings are not keyed by
// their start address alone but kept as ranges that erase() trims and splits. A new mapping
// over mapped addresses replaces what was there, as MAP_FIXED does.
//
// The ranges are kept sorted in blocks of at most kBlockRanges, with a separate array of each
// block's first start. A lookup is two binary searches over contiguous memory (the small
// array of firsts stays in cache), where a balanced tree took a cache miss per level: a program
// that keeps tens of thousands of mappings made that walk a tenth of a stats run's heap work.
// An insertion or erasure moves at most one block's entries.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <vector>

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

    size_t size() const { return size_; }

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
        const Position after = upperBound(start);
        if (isBegin(after)) {
            return false;
        }
        const Range& range = at(previous(after));
        return range.start < start && range.end > end;
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
        // The erase ends where the new range goes: no second search to find it.
        const Position next = eraseRange(start, end, &replaced, [](uint64_t, uint64_t, const Value&, bool) {});
        insertAt(next, Range{start, end, value});
        return replaced;
    }

    // Calls f(start, end, value) for every range, in address order.
    template <typename F>
    void forEach(F&& f) const
    {
        for (const Block& block : blocks_) {
            for (const Range& range : block) {
                f(range.start, range.end, range.value);
            }
        }
    }

    void clear()
    {
        blocks_.clear();
        firsts_.clear();
        size_ = 0;
    }

  private:
    struct Range
    {
        uint64_t start;
        uint64_t end;
        [[no_unique_address]] Value value;
    };
    using Block = std::vector<Range>;  // sorted, never empty

    // A block holding more splits in two. Moving up to this many ranges per insertion or
    // erasure costs less than the cache misses a deeper structure would take.
    static constexpr size_t kBlockRanges = 128;

    // A range's place: blocks_[block][index], or the end (block == blocks_.size(), index 0).
    struct Position
    {
        size_t block;
        size_t index;
    };

    bool isBegin(Position p) const { return p.block == 0 && p.index == 0; }
    bool isEnd(Position p) const { return p.block == blocks_.size(); }
    Range& at(Position p) { return blocks_[p.block][p.index]; }
    const Range& at(Position p) const { return blocks_[p.block][p.index]; }
    Position previous(Position p) const
    {
        return p.index > 0 ? Position{p.block, p.index - 1} : Position{p.block - 1, blocks_[p.block - 1].size() - 1};
    }
    Position next(Position p) const
    {
        return p.index + 1 < blocks_[p.block].size() ? Position{p.block, p.index + 1} : Position{p.block + 1, 0};
    }

    // The first range starting after `address`.
    Position upperBound(uint64_t address) const
    {
        const size_t after = static_cast<size_t>(std::upper_bound(firsts_.begin(), firsts_.end(), address) - firsts_.begin());
        if (after == 0) {
            return Position{0, 0};
        }
        const Block& block = blocks_[after - 1];
        const auto it = std::upper_bound(block.begin(), block.end(), address,
                                         [](uint64_t a, const Range& range) { return a < range.start; });
        return it == block.end() ? Position{after, 0} : Position{after - 1, static_cast<size_t>(it - block.begin())};
    }

    // Removes the range at `p`; returns the position of the one after it.
    Position eraseAt(Position p)
    {
        Block& block = blocks_[p.block];
        block.erase(block.begin() + static_cast<std::ptrdiff_t>(p.index));
        --size_;
        if (block.empty()) {
            blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(p.block));
            firsts_.erase(firsts_.begin() + static_cast<std::ptrdiff_t>(p.block));
            return Position{p.block, 0};
        }
        if (p.index == 0) {
            firsts_[p.block] = block.front().start;
        }
        return p.index < block.size() ? p : Position{p.block + 1, 0};
    }

    // Inserts `range` before the one at `p` (which must keep the order); returns its position.
    Position insertAt(Position p, const Range& range)
    {
        ++size_;
        if (blocks_.empty()) {
            blocks_.push_back(Block{range});
            firsts_.push_back(range.start);
            return Position{0, 0};
        }
        if (isEnd(p)) {
            p = Position{blocks_.size() - 1, blocks_.back().size()};
        }
        Block& block = blocks_[p.block];
        block.insert(block.begin() + static_cast<std::ptrdiff_t>(p.index), range);
        if (p.index == 0) {
            firsts_[p.block] = range.start;
        }
        if (block.size() > kBlockRanges) {
            const size_t half = block.size() / 2;
            Block upper(block.begin() + static_cast<std::ptrdiff_t>(half), block.end());
            block.resize(half);
            firsts_.insert(firsts_.begin() + static_cast<std::ptrdiff_t>(p.block + 1), upper.front().start);
            blocks_.insert(blocks_.begin() + static_cast<std::ptrdiff_t>(p.block + 1), std::move(upper));
            if (p.index >= half) {
                p = Position{p.block + 1, p.index - half};
            }
        }
        return p;
    }

    // erase() for start < end, adding the bytes removed to *bytes. Returns the position of the
    // first range starting at or after `end`: where a range [start, end) now belongs.
    template <typename F>
    Position eraseRange(uint64_t start, uint64_t end, uint64_t* bytes, F&& removed)
    {
        Position p = upperBound(start);
        if (!isBegin(p) && at(previous(p)).end > start) {
            p = previous(p);
        }
        while (!isEnd(p) && at(p).start < end) {
            const Range range = at(p);
            const uint64_t cut_start = std::max(range.start, start);
            const uint64_t cut_end = std::min(range.end, end);
            *bytes += cut_end - cut_start;
            removed(cut_start, cut_end, range.value, range.start == cut_start && cut_end == range.end);
            if (cut_end < range.end) {
                // This range outlives the cut, so nothing after it can overlap [start, end).
                if (range.start < cut_start) {
                    at(p).end = cut_start;  // a hole: the head stays, the tail becomes a range
                    return insertAt(next(p), Range{cut_end, range.end, range.value});
                }
                at(p).start = cut_end;
                if (p.index == 0) {
                    firsts_[p.block] = cut_end;
                }
                return p;
            }
            if (range.start < cut_start) {
                at(p).end = cut_start;
                p = next(p);
            } else {
                p = eraseAt(p);
            }
        }
        return p;
    }

    std::vector<Block> blocks_;
    std::vector<uint64_t> firsts_;  // blocks_[i].front().start
    size_t size_ = 0;
};

}  // namespace memray::format
