// An open-addressing hash map keyed by address: the table of live malloc-family allocations.
//
// Replaying a capture inserts and erases tens of millions of addresses. A node-based map
// spends most of that time in the allocator and chasing pointers; here one flat array with
// linear probing keeps each operation to a cache line or two. Deletion shifts the following
// entries back instead of leaving tombstones, so probe chains never degrade however much churn
// a capture has. Fibonacci hashing spreads the aligned (low-bits-zero) addresses.
//
// Address 0 cannot be a slot key (0 marks an empty slot), so it lives in a side slot: a
// corrupted or hand-made capture can name it, and the table must not misbehave when it does.
#pragma once

#include "memray/format/huge_page_allocator.h"
#include "memray/format/prefetch.h"

#include <bit>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace memray::format {

template <typename Value>
class AddressMap
{
  public:
    AddressMap() { resize(kInitialCapacity); }

    size_t size() const { return size_ + (has_zero_ ? 1 : 0); }
    bool empty() const { return size() == 0; }

    Value* find(uint64_t address)
    {
        if (address == 0) {
            return has_zero_ ? &zero_value_ : nullptr;
        }
        for (size_t i = home(address);; i = (i + 1) & mask_) {
            Slot& slot = slots_[i];
            if (slot.key == address) {
                return &slot.value;
            }
            if (slot.key == kEmpty) {
                return nullptr;
            }
        }
    }

    // Inserts `value` unless `address` is present. Returns the stored value and whether it was
    // inserted (false: the existing value, untouched).
    std::pair<Value*, bool> tryInsert(uint64_t address, const Value& value)
    {
        if (address == 0) {
            if (has_zero_) {
                return {&zero_value_, false};
            }
            has_zero_ = true;
            zero_value_ = value;
            return {&zero_value_, true};
        }
        if ((size_ + 1) * 4 > slots_.size() * 3) {
            resize(slots_.size() * 2);
        }
        for (size_t i = home(address);; i = (i + 1) & mask_) {
            Slot& slot = slots_[i];
            if (slot.key == address) {
                return {&slot.value, false};
            }
            if (slot.key == kEmpty) {
                slot.key = address;
                slot.value = value;
                ++size_;
                return {&slot.value, true};
            }
        }
    }

    // Starts loading the slot where a lookup of `address` begins. Replaying a batch of records
    // prefetches all their slots first, so the cache misses overlap instead of queueing.
    void prefetch(uint64_t address) const { format::prefetch(&slots_[home(address)]); }

    // Removes `address`; false if it was not present. The removed value goes to `*erased`.
    bool erase(uint64_t address, Value* erased = nullptr)
    {
        if (address == 0) {
            if (!has_zero_) {
                return false;
            }
            if (erased) {
                *erased = zero_value_;
            }
            has_zero_ = false;
            return true;
        }
        size_t i = home(address);
        for (;; i = (i + 1) & mask_) {
            if (slots_[i].key == address) {
                break;
            }
            if (slots_[i].key == kEmpty) {
                return false;
            }
        }
        if (erased) {
            *erased = slots_[i].value;
        }
        // Backward-shift: pull later entries of the chain into the hole when the hole lies
        // between their home slot and where they sit, so lookups never stop early.
        for (size_t j = i;;) {
            j = (j + 1) & mask_;
            if (slots_[j].key == kEmpty) {
                break;
            }
            const size_t home_to_j = (j - home(slots_[j].key)) & mask_;
            const size_t hole_to_j = (j - i) & mask_;
            if (home_to_j >= hole_to_j) {
                slots_[i] = slots_[j];
                i = j;
            }
        }
        slots_[i].key = kEmpty;
        --size_;
        return true;
    }

    // Calls f(address, value) for every entry, in no particular order.
    template <typename F>
    void forEach(F&& f) const
    {
        if (has_zero_) {
            f(uint64_t{0}, zero_value_);
        }
        for (const Slot& slot : slots_) {
            if (slot.key != kEmpty) {
                f(slot.key, slot.value);
            }
        }
    }

    // Empties the map and gives back its memory.
    void clear()
    {
        has_zero_ = false;
        size_ = 0;
        slots_ = std::vector<Slot, HugePageAllocator<Slot>>();
        resize(kInitialCapacity);
    }

  private:
    static constexpr uint64_t kEmpty = 0;
    static constexpr size_t kInitialCapacity = 1024;

    struct Slot
    {
        uint64_t key = kEmpty;
        Value value{};
    };

    size_t home(uint64_t address) const
    {
        return static_cast<size_t>((address * 0x9E3779B97F4A7C15ull) >> shift_);
    }

    void resize(size_t capacity)
    {
        std::vector<Slot, HugePageAllocator<Slot>> old = std::move(slots_);
        slots_.assign(capacity, Slot{});
        mask_ = capacity - 1;
        shift_ = 64 - static_cast<unsigned>(std::countr_zero(capacity));
        for (const Slot& slot : old) {
            if (slot.key != kEmpty) {
                size_t i = home(slot.key);
                while (slots_[i].key != kEmpty) {
                    i = (i + 1) & mask_;
                }
                slots_[i] = slot;
            }
        }
    }

    std::vector<Slot, HugePageAllocator<Slot>> slots_;
    size_t mask_ = 0;
    unsigned shift_ = 64;
    size_t size_ = 0;  // entries in slots_ (not counting the side slot)
    bool has_zero_ = false;
    Value zero_value_{};
};

}  // namespace memray::format
