// Gives every distinct LocationKey a small dense index, so that live allocations can carry a
// 4-byte tag instead of the whole key, and totals can live in plain arrays.
#pragma once

#include "memray/reader/allocation_snapshot.h"

#include <cstdint>
#include <unordered_map>
#include <vector>

namespace memray::reader {

class LocationInterner
{
  public:
    uint32_t intern(const LocationKey& key)
    {
        // Consecutive allocations very often come from the same place: skip the hash lookup.
        if (!keys_.empty() && key == keys_[last_]) {
            return last_;
        }
        auto [it, inserted] = index_.try_emplace(key, static_cast<uint32_t>(keys_.size()));
        if (inserted) {
            keys_.push_back(key);
        }
        last_ = it->second;
        return last_;
    }

    const LocationKey& key(uint32_t index) const { return keys_[index]; }
    const std::vector<LocationKey>& keys() const { return keys_; }
    size_t size() const { return keys_.size(); }

  private:
    struct KeyHash
    {
        size_t operator()(const LocationKey& key) const
        {
            uint64_t h = key.stack_id * 0x9e3779b97f4a7c15ull;
            h ^= (key.native_stack_id + 0x632be59bd9b4e019ull) * 0xbf58476d1ce4e5b9ull;
            h ^= (key.thread_id << 8 | static_cast<uint64_t>(key.allocator)) * 0x94d049bb133111ebull;
            return static_cast<size_t>(h ^ (h >> 31));
        }
    };

    std::unordered_map<LocationKey, uint32_t, KeyHash> index_;
    std::vector<LocationKey> keys_;
    uint32_t last_ = 0;
};

inline LocationKey locationOf(const format::Record& allocation, bool split_threads)
{
    return LocationKey{allocation.stack_id, allocation.native_stack_id, split_threads ? allocation.tid : 0,
                       allocation.allocator};
}

}  // namespace memray::reader
