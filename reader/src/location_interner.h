// Gives every distinct LocationKey a small dense index, so that live allocations can carry a
// 4-byte tag instead of the whole key, and totals can live in plain arrays.
#pragma once

#include "flat_index_map.h"
#include "memray/reader/allocation_snapshot.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace memray::reader {

// splitmix64's finaliser: every input bit affects every output bit, so hash tables may index
// by the low bits of the result.
inline uint64_t mixBits(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

class LocationInterner
{
  public:
    uint32_t intern(const LocationKey& key)
    {
        // A stack is nearly always seen with the same thread, native stack and allocator as
        // the last time, so a plain array indexed by the (dense) stack id answers most lookups;
        // the hash table only the rest.
        if (key.stack_id < last_by_stack_.size()) {
            const uint32_t cached = last_by_stack_[key.stack_id];
            if (cached != 0 && keys_[cached - 1] == key) {
                return cached - 1;
            }
        } else if (key.stack_id < kMaxCachedStackId) {
            last_by_stack_.resize(std::max<size_t>(key.stack_id + 1, last_by_stack_.size() * 2));
        }
        auto [index, inserted] = index_.tryInsert(key, static_cast<uint32_t>(keys_.size()));
        if (inserted) {
            keys_.push_back(key);
        }
        if (key.stack_id < last_by_stack_.size()) {
            last_by_stack_[key.stack_id] = index + 1;
        }
        return index;
    }

    // Starts loading what intern(key) will look at: its cache entry, the key that entry names
    // (when it is already there) and its hash slot. For a caller interning every allocation
    // of a long batch, a little ahead: on a large table each of those is a cache miss.
    void prefetch(const LocationKey& key) const
    {
        if (key.stack_id < last_by_stack_.size()) {
            const uint32_t cached = last_by_stack_[key.stack_id];
            if (cached != 0) {
                format::prefetch(&keys_[cached - 1]);
            }
        }
        index_.prefetch(key);
    }

    const LocationKey& key(uint32_t index) const { return keys_[index]; }
    const std::vector<LocationKey>& keys() const { return keys_; }
    size_t size() const { return keys_.size(); }

  private:
    struct KeyHash
    {
        size_t operator()(const LocationKey& key) const
        {
            uint64_t h = mixBits(key.stack_id);
            h = mixBits(h ^ key.native_stack_id);
            return static_cast<size_t>(mixBits(h ^ (key.thread_id << 8 | static_cast<uint64_t>(key.allocator))));
        }
    };

    FlatIndexMap<LocationKey, KeyHash> index_;
    std::vector<LocationKey> keys_;
    // Stack ids are dense, but a hostile file could name a huge one: no cache beyond this.
    static constexpr uint64_t kMaxCachedStackId = uint64_t{1} << 26;
    std::vector<uint32_t> last_by_stack_;  // stack id -> 1 + index of its latest location
};

// A LocationKey in 16 bytes, to tag each live allocation while replaying: interning every
// allocation's location on the way costs a hash lookup (and its cache misses) per record, where
// grouping the survivors at the end costs one per allocation still live.
struct PackedLocation
{
    uint32_t stack_id = 0;
    uint32_t native_stack_id = 0;
    uint32_t thread_id = 0;
    format::Allocator allocator{};

    // `allocation` is a HeapEvent or a Record of an allocation.
    template <typename Allocation>
    static PackedLocation of(const Allocation& allocation, bool split_threads)
    {
        // Ids are dense counters; a capture with 2^32 distinct stacks or threads is not one
        // this reader can hold in memory anyway.
        return PackedLocation{static_cast<uint32_t>(allocation.stack_id), static_cast<uint32_t>(allocation.native_stack_id),
                              split_threads ? static_cast<uint32_t>(allocation.tid) : 0u,
                              static_cast<format::Allocator>(allocation.allocator)};
    }
    LocationKey key() const { return LocationKey{stack_id, native_stack_id, thread_id, allocator}; }
};

}  // namespace memray::reader
