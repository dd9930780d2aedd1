// A hash map from a small key to a uint32_t index, with open addressing: one array of slots
// probed linearly, no node per entry. For the tables that map millions of keys to dense
// indices (call tree nodes), where std::unordered_map's per-node allocation, pointer chasing
// and node-by-node teardown dominate.
#pragma once

#include "memray/format/prefetch.h"

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace memray::reader {

// Key must be equality-comparable and default-constructible; Hash(key) must mix well (the
// table uses its low bits). Entries are never removed.
template <typename Key, typename Hash>
class FlatIndexMap
{
  public:
    static constexpr uint32_t kAbsent = UINT32_MAX;  // no index stored (marks a free slot)

    FlatIndexMap() { slots_.resize(kInitialSlots); }

    // The index stored for `key`, or kAbsent.
    uint32_t find(const Key& key) const { return slotOf(slots_, key).index; }

    // Starts loading the slot where a lookup of `key` begins (format/prefetch.h).
    void prefetch(const Key& key) const { format::prefetch(&slots_[Hash()(key) & (slots_.size() - 1)]); }

    // Stores `index` (not kAbsent) for `key` unless it has one. Returns the stored index and
    // whether it was inserted.
    std::pair<uint32_t, bool> tryInsert(const Key& key, uint32_t index)
    {
        if ((size_ + 1) * 10 > slots_.size() * 7) {  // at most 70% full: probes stay short
            grow();
        }
        Slot& slot = slotOf(slots_, key);
        if (slot.index != kAbsent) {
            return {slot.index, false};
        }
        slot = Slot{key, index};
        ++size_;
        return {index, true};
    }

  private:
    static constexpr size_t kInitialSlots = 1024;

    struct Slot
    {
        Key key{};
        uint32_t index = kAbsent;
    };

    // The slot holding `key`, or the free slot where it would go.
    template <typename Slots>
    static auto& slotOf(Slots& slots, const Key& key)
    {
        const size_t mask = slots.size() - 1;
        for (size_t i = Hash()(key) & mask;; i = (i + 1) & mask) {
            if (slots[i].index == kAbsent || slots[i].key == key) {
                return slots[i];
            }
        }
    }

    void grow()
    {
        std::vector<Slot> bigger(slots_.size() * 2);
        for (const Slot& slot : slots_) {
            if (slot.index != kAbsent) {
                slotOf(bigger, slot.key) = slot;
            }
        }
        slots_.swap(bigger);
    }

    std::vector<Slot> slots_;
    size_t size_ = 0;
};

}  // namespace memray::reader
