// A hash map from a small key to (bytes, count) totals, with open addressing: one array of
// slots probed linearly, no node per entry. For tables of millions of entries updated once per
// record, where std::unordered_map's per-node allocation and pointer chasing dominate.
#pragma once

#include <cstdint>
#include <vector>

namespace memray::reader {

struct ByteCountTotals
{
    uint64_t bytes = 0;
    uint64_t count = 0;
};

// Key must be equality-comparable and default-constructible; Hash(key) must mix well (the
// table uses its low bits). Every lookup must be followed by adding a non-zero byte or count
// to the totals it returns (see Slot).
template <typename Key, typename Hash>
class FlatCounterMap
{
  public:
    FlatCounterMap() { slots_.resize(kInitialSlots); }

    ByteCountTotals& operator[](const Key& key)
    {
        if ((size_ + 1) * 10 > slots_.size() * 7) {  // at most 70% full: probes stay short
            grow();
        }
        Slot& slot = find(slots_, key);
        if (!slot.used()) {
            slot.key = key;
            ++size_;
        }
        return slot.totals;
    }

    size_t size() const { return size_; }

    // f(key, totals) for every entry, in no particular order.
    template <typename F>
    void forEach(F&& f) const
    {
        for (const Slot& slot : slots_) {
            if (slot.used()) {
                f(slot.key, slot.totals);
            }
        }
    }

  private:
    static constexpr size_t kInitialSlots = 1024;

    // A slot is free while its totals are zero: callers always add something (a byte or a
    // count) to the totals they look up, which saves a flag and its padding in every slot.
    struct Slot
    {
        Key key{};
        ByteCountTotals totals;
        bool used() const { return totals.bytes != 0 || totals.count != 0; }
    };

    static Slot& find(std::vector<Slot>& slots, const Key& key)
    {
        const size_t mask = slots.size() - 1;
        for (size_t i = Hash()(key) & mask;; i = (i + 1) & mask) {
            if (!slots[i].used() || slots[i].key == key) {
                return slots[i];
            }
        }
    }

    void grow()
    {
        std::vector<Slot> bigger(slots_.size() * 2);
        for (const Slot& slot : slots_) {
            if (slot.used()) {
                find(bigger, slot.key) = slot;
            }
        }
        slots_.swap(bigger);
    }

    std::vector<Slot> slots_;
    size_t size_ = 0;
};

}  // namespace memray::reader
