// Counts allocation sizes, then cuts them into about ten log-scale bins between the smallest
// and the largest size (the bins cannot be chosen before both are known).
//
// Sizes below kDirectSizes (most allocations) are counted in a plain array; larger ones in a
// hash table of exact sizes while the capture has at most kMaxExactSizes distinct large sizes,
// which real programs stay well under. Past that, so memory cannot grow with the capture's length,
// counts fold into log-linear buckets 1/256 of an octave wide: a size then lands in the bin of
// its bucket's lower bound, which can differ from its exact bin only within 0.4% of a bin edge.
// The minimum and maximum stay exact.
#pragma once

#include "memray/format/address_map.h"
#include "memray/format/huge_page_allocator.h"
#include "memray/format/prefetch.h"

#include <cstdint>
#include <vector>

namespace memray::reader {

struct SizeBin
{
    uint64_t min_bytes = 0;  // inclusive
    uint64_t max_bytes = 0;  // inclusive
    uint64_t count = 0;
};

class SizeHistogram
{
  public:
    static constexpr size_t kDirectSizes = size_t{1} << 16;
    static constexpr size_t kMaxExactSizes = size_t{1} << 20;

    SizeHistogram()
    : direct_(kDirectSizes, 0)
    {
    }
    static constexpr size_t kDefaultBins = 10;

    void add(uint64_t size)
    {
        if (total_ == 0 || size < min_) {
            min_ = size;
        }
        if (size > max_) {
            max_ = size;
        }
        ++total_;
        if (size < kDirectSizes) {
            // 32-bit counters keep the array small enough to stay in cache; the rare wrap is
            // carried into a side table.
            if (++direct_[static_cast<size_t>(size)] == 0) [[unlikely]] {
                *carries_.tryInsert(size, 0).first += uint64_t{1} << 32;
            }
            return;
        }
        if (approximate_) {
            ++buckets_[bucketOf(size)];
            return;
        }
        auto [count, inserted] = exact_.tryInsert(size, 0);
        ++*count;
        if (inserted && exact_.size() > kMaxExactSizes) {
            foldIntoBuckets();
        }
    }

    void prefetch(uint64_t size) const
    {
        if (size < kDirectSizes) {
            format::prefetch(&direct_[static_cast<size_t>(size)]);
        } else if (!approximate_) {
            exact_.prefetch(size);
        }
    }

    uint64_t total() const { return total_; }
    uint64_t minSize() const { return min_; }
    uint64_t maxSize() const { return max_; }
    bool approximate() const { return approximate_; }

    // Up to `bins` bins covering [min, max], each a non-empty range of whole sizes whose edges
    // grow geometrically (edges closer than one byte merge, so small ranges get fewer bins).
    // Empty when nothing was added.
    std::vector<SizeBin> bins(size_t bins = kDefaultBins) const;

  private:
    static constexpr unsigned kSubBucketBits = 8;
    static size_t bucketOf(uint64_t size);
    static uint64_t bucketLowerBound(size_t bucket);
    void foldIntoBuckets();

    uint64_t total_ = 0;
    uint64_t min_ = 0;
    uint64_t max_ = 0;
    bool approximate_ = false;
    std::vector<uint32_t, format::HugePageAllocator<uint32_t>> direct_;   // size -> count (mod 2^32), for sizes below kDirectSizes
    format::AddressMap<uint64_t> carries_;   // size -> what direct_ wrapped past 2^32
    format::AddressMap<uint64_t> exact_;     // size -> count, for larger sizes
    std::vector<uint64_t> buckets_;  // replaces exact_ once approximate_
};

}  // namespace memray::reader
