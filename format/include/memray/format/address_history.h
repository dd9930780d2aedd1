// The recent-address history that allocation and deallocation records name addresses by.
//
// find() and nearest() run for nearly every record the payload writes, so each has a portable
// version (SSE2, which every x86-64 has) and an AVX2 one, chosen once per process from what the
// CPU offers. The payload is never compiled for AVX2 outright: an instruction the CPU lacks
// would kill the process being profiled. Both versions give the same answer for every input.
#pragma once

#include "memray/format/capture_format.h"

#include <bit>
#include <cstdint>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace memray::format {

namespace address_history_detail {

#if defined(__x86_64__)
inline bool cpuHasAvx2()
{
    // Also checks that the OS saves the YMM registers. Called explicitly: this may run from a
    // constructor before libgcc's own CPU detection has.
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}
#else
inline bool cpuHasAvx2()
{
    return false;
}
#endif

// Read on every call; set before main() (or before dlopen returns, in the payload).
inline const bool kUseAvx2 = cpuHasAvx2();

}  // namespace address_history_detail

// The addresses of the stream's latest allocation and deallocation records, most recent first.
// A block is usually freed soon after it is allocated, and pymalloc and glibc hand a freed block
// out again first, so most records name an address seen a few records before: a slot in this
// list (in the opcode) replaces the address delta, and the move-to-front order keeps the slot
// sequences of a loop repetitive, which LZ4 then folds. The writer and RecordDecoder keep one
// each and update it identically for every allocation and deallocation record.
class AddressHistory
{
  public:
    // The slot of `address`, or kRecentAddresses if it is not among the recent ones. Does not
    // change the history.
    unsigned find(uint64_t address) const
    {
        // One pass sets a bit per matching slot; the lowest set bit is the lowest slot (an
        // address can be there twice). No branch depends on the data: a running minimum
        // compiles to a branch per entry, and the hit among them is mispredicted about once
        // per record on the allocation hot path.
        const uint32_t slots = address_history_detail::kUseAvx2 ? matchingPositionsAvx2(address)
                                                                 : matchingPositionsPortable(address);
        return slots != 0 ? static_cast<unsigned>(std::countr_zero(slots)) : kRecentAddresses;
    }
    uint64_t at(unsigned slot) const { return storage_[slot]; }

    // The slot of the recent address closest to `address`, which a new address is written as a
    // delta from. An allocator serves a size class from one pool, so a new block usually lies a
    // few blocks away from one named lately, even when the previous record's address is in
    // another pool: the delta is short and, in a loop, repeats. Does not change the history.
    unsigned nearest(uint64_t address) const
    {
        return address_history_detail::kUseAvx2 ? nearestAvx2(address) : nearestPortable(address);
    }

    // Makes `address`, found at `slot` (kRecentAddresses: not found), the most recent one: the
    // entries above `slot` move down one (a new address pushes the oldest one out).
    void use(uint64_t address, unsigned slot)
    {
        if (address_history_detail::kUseAvx2) {
            useAvx2(address, slot);
        } else {
            usePortable(address, slot);
        }
    }

    // Both versions, whatever this CPU has, for the tests that hold them to the same answers.
    // (The AVX2 ones must only be called where the CPU has AVX2.)
    uint32_t matchingPositionsPortable(uint64_t address) const;
    uint32_t matchingPositionsAvx2(uint64_t address) const;
    unsigned nearestPortable(uint64_t address) const;
    unsigned nearestAvx2(uint64_t address) const;
    void usePortable(uint64_t address, unsigned slot);
    void useAvx2(uint64_t address, unsigned slot);

  private:
    // nearest() ranks entries by one key: the entry's distance above its slot, so the smallest
    // key is the closest entry and, among equals, the lowest slot. The distance is that of the
    // wrapped 64-bit delta, which is what the delta's encoding costs. Distances of 2^59 and more
    // (no two user-space addresses are that far apart) count as equal, which keeps every key
    // below 2^63: AVX2 has only signed 64-bit compares.
    static constexpr uint64_t kFar = (uint64_t{1} << 59) - 1;

    static_assert(kRecentAddresses == 16, "the vector versions take entries in pairs and fours, and nearest() keeps a slot in 4 bits");

    // The entries in slot order, most recent first. A move to the front is a fixed sequence
    // of vector loads, blends and stores (useAvx2), where a ring with a moving head made it a
    // loop of one step per slot passed: hits land around slot 8 on a busy loop, and that loop
    // was the payload's costliest line. The AVX2 versions only load and store whole aligned
    // fours, so each load is forwarded from one earlier store. All slots start as address 0.
    alignas(32) uint64_t storage_[kRecentAddresses] = {};
};

// Bit i set where slot i holds `address`.
inline uint32_t AddressHistory::matchingPositionsPortable(uint64_t address) const
{
#if defined(__SSE2__)
    // Two entries at a time: equal 32-bit halves, ANDed with their swapped pair, mark equal
    // 64-bit entries. Half the instructions of the scalar loop.
    const __m128i needle = _mm_set1_epi64x(static_cast<long long>(address));
    uint32_t positions = 0;
    for (unsigned i = 0; i < kRecentAddresses; i += 2) {
        const __m128i halves = _mm_cmpeq_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(&storage_[i])), needle);
        const __m128i entries = _mm_and_si128(halves, _mm_shuffle_epi32(halves, _MM_SHUFFLE(2, 3, 0, 1)));
        positions |= static_cast<uint32_t>(_mm_movemask_pd(_mm_castsi128_pd(entries))) << i;
    }
    return positions;
#else
    uint32_t positions = 0;
    for (unsigned i = 0; i < kRecentAddresses; ++i) {
        positions |= static_cast<uint32_t>(storage_[i] == address) << i;
    }
    return positions;
#endif
}

inline unsigned AddressHistory::nearestPortable(uint64_t address) const
{
    // Four running minima, not one: a single minimum makes every entry wait for the compare
    // of the one before.
    uint64_t best[4] = {~uint64_t{0}, ~uint64_t{0}, ~uint64_t{0}, ~uint64_t{0}};
    for (unsigned i = 0; i < kRecentAddresses; ++i) {
        const uint64_t up = address - storage_[i];
        const uint64_t down = storage_[i] - address;
        const uint64_t distance = up < down ? up : down;
        const uint64_t key = (distance < kFar ? distance : kFar) << 4 | i;
        best[i % 4] = key < best[i % 4] ? key : best[i % 4];
    }
    const uint64_t low = best[0] < best[1] ? best[0] : best[1];
    const uint64_t high = best[2] < best[3] ? best[2] : best[3];
    return static_cast<unsigned>((low < high ? low : high) & (kRecentAddresses - 1));
}

inline void AddressHistory::usePortable(uint64_t address, unsigned slot)
{
    for (unsigned i = slot < kRecentAddresses ? slot : kRecentAddresses - 1; i > 0; --i) {
        storage_[i] = storage_[i - 1];
    }
    storage_[0] = address;
}

#if defined(__x86_64__)

[[gnu::target("avx2")]] inline uint32_t AddressHistory::matchingPositionsAvx2(uint64_t address) const
{
    const __m256i needle = _mm256_set1_epi64x(static_cast<long long>(address));
    uint32_t positions = 0;
    for (unsigned i = 0; i < kRecentAddresses; i += 4) {
        const __m256i entries = _mm256_load_si256(reinterpret_cast<const __m256i*>(&storage_[i]));
        const __m256i equal = _mm256_cmpeq_epi64(entries, needle);
        positions |= static_cast<uint32_t>(_mm256_movemask_pd(_mm256_castsi256_pd(equal))) << i;
    }
    return positions;
}

// The same keys as nearestPortable(), four entries per instruction (about a quarter of its
// instructions; this runs for most frees and many allocations).
[[gnu::target("avx2")]] inline unsigned AddressHistory::nearestAvx2(uint64_t address) const
{
    const __m256i needle = _mm256_set1_epi64x(static_cast<long long>(address));
    const __m256i zero = _mm256_setzero_si256();
    const __m256i far = _mm256_set1_epi64x(static_cast<long long>(kFar));
    // Every key is at most 2^63 - 1 (kFar's, in slot 15), so this start is no smaller than any.
    __m256i best = _mm256_set1_epi64x(INT64_MAX);
    for (unsigned i = 0; i < kRecentAddresses; i += 4) {
        const __m256i entries = _mm256_load_si256(reinterpret_cast<const __m256i*>(&storage_[i]));
        // |address - entry| as a signed 64-bit value: the smaller of the two wrapped deltas,
        // except for a delta of exactly 2^63, which stays negative and is caught as far below.
        const __m256i delta = _mm256_sub_epi64(needle, entries);
        const __m256i negative = _mm256_cmpgt_epi64(zero, delta);
        const __m256i distance = _mm256_sub_epi64(_mm256_xor_si256(delta, negative), negative);
        const __m256i is_far = _mm256_or_si256(_mm256_cmpgt_epi64(distance, far), _mm256_cmpgt_epi64(zero, distance));
        const __m256i clamped = _mm256_blendv_epi8(distance, far, is_far);
        const __m256i slots = _mm256_setr_epi64x(i, i + 1, i + 2, i + 3);
        const __m256i keys = _mm256_or_si256(_mm256_slli_epi64(clamped, 4), slots);
        // Keys are below 2^63, so the signed compare orders them.
        best = _mm256_blendv_epi8(best, keys, _mm256_cmpgt_epi64(best, keys));
    }
    // The smallest of the four lanes.
    __m128i pair = _mm256_castsi256_si128(best);
    const __m128i upper = _mm256_extracti128_si256(best, 1);
    pair = _mm_blendv_epi8(pair, upper, _mm_cmpgt_epi64(pair, upper));
    const __m128i swapped = _mm_unpackhi_epi64(pair, pair);
    pair = _mm_blendv_epi8(pair, swapped, _mm_cmpgt_epi64(pair, swapped));
    return static_cast<unsigned>(static_cast<uint64_t>(_mm_cvtsi128_si64(pair)) & (kRecentAddresses - 1));
}

// The same moves as usePortable() in a fixed sequence, whatever the slot: each entry up to
// `slot` takes the value of the entry before it (slot 0 takes `address`). The entries before
// are shifted in registers from aligned loads, not read with loads one word lower: those span
// two of the previous call's stores, which the CPU cannot forward to a load, so each waited
// for the stores to reach the cache (this function then cost twice its share of cycles).
[[gnu::target("avx2")]] inline void AddressHistory::useAvx2(uint64_t address, unsigned slot)
{
    // Entry i moves when i <= slot, that is when slot + 1 > i.
    const __m256i limit = _mm256_set1_epi64x(static_cast<long long>(slot) + 1);
    __m256i previous = _mm256_set1_epi64x(static_cast<long long>(address));  // its last lane goes first
    __m256i moved[kRecentAddresses / 4];
    for (unsigned i = 0; i < kRecentAddresses; i += 4) {
        const __m256i current = _mm256_load_si256(reinterpret_cast<const __m256i*>(&storage_[i]));
        // [previous 2, previous 3, current 0, current 1], then per 128-bit half, one entry over:
        // [previous 3, current 0, current 1, current 2].
        const __m256i straddle = _mm256_permute2x128_si256(current, previous, 0x03);
        const __m256i before = _mm256_alignr_epi8(current, straddle, 8);
        const __m256i moves = _mm256_cmpgt_epi64(limit, _mm256_setr_epi64x(i, i + 1, i + 2, i + 3));
        moved[i / 4] = _mm256_blendv_epi8(current, before, moves);
        previous = current;
    }
    for (unsigned i = 0; i < kRecentAddresses; i += 4) {
        _mm256_store_si256(reinterpret_cast<__m256i*>(&storage_[i]), moved[i / 4]);
    }
}

#else

inline uint32_t AddressHistory::matchingPositionsAvx2(uint64_t address) const
{
    return matchingPositionsPortable(address);
}

inline unsigned AddressHistory::nearestAvx2(uint64_t address) const
{
    return nearestPortable(address);
}

inline void AddressHistory::useAvx2(uint64_t address, unsigned slot)
{
    usePortable(address, slot);
}

#endif

}  // namespace memray::format
