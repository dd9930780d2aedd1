// LEB128 varints and zigzag signed encoding: the integer codec of the capture format.
//
// Both the payload (hot path) and the reader (tight decode loop) use these, so they are
// header-only and branch-light. Decoding is bounds-checked: a corrupted capture can never
// make the reader read past its buffer.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace memray::format {

// The longest LEB128 encoding of a 64-bit value.
inline constexpr size_t kMaxVarintBytes = 10;

inline uint64_t zigzagEncode(int64_t value)
{
    return (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
}

inline int64_t zigzagDecode(uint64_t value)
{
    return static_cast<int64_t>(value >> 1) ^ -static_cast<int64_t>(value & 1);
}

// Writes `value` at `out` (which must have kMaxVarintBytes free) and returns the byte after it.
inline uint8_t* writeVarint(uint8_t* out, uint64_t value)
{
    while (value >= 0x80) {
        *out++ = static_cast<uint8_t>(value) | 0x80;
        value >>= 7;
    }
    *out++ = static_cast<uint8_t>(value);
    return out;
}

inline uint8_t* writeSignedVarint(uint8_t* out, int64_t value)
{
    return writeVarint(out, zigzagEncode(value));
}

// Reads a varint from [*cursor, end). On success advances *cursor and returns true; on a
// truncated or over-long encoding leaves *cursor untouched and returns false.
inline bool readVarint(const uint8_t** cursor, const uint8_t* end, uint64_t* value)
{
    const uint8_t* p = *cursor;
    if constexpr (std::endian::native == std::endian::little) {
        // With 8 bytes at hand, a varint of up to 8 bytes (every value below 2^56) is decoded
        // without a branch on its length: the reader's records are mostly varints of random
        // lengths (sizes, address deltas), and the byte loop mispredicted its exit on most of them.
        if (end - p >= 8) {
            uint64_t word;
            std::memcpy(&word, p, sizeof(word));
            const uint64_t last_bytes = ~word & 0x8080808080808080ull;  // a clear top bit ends it
            if (last_bytes != 0) {
                const unsigned bits = static_cast<unsigned>(std::countr_zero(last_bytes)) + 1;  // 8 per byte
                uint64_t x = word & (~uint64_t{0} >> (64 - bits)) & 0x7f7f7f7f7f7f7f7full;
                // Close the gaps between the 7-bit groups: pairs, then quads, then the eight.
                x = (x & 0x007f007f007f007full) | (x & 0x7f007f007f007f00ull) >> 1;
                x = (x & 0x00003fff00003fffull) | (x & 0x3fff00003fff0000ull) >> 2;
                x = (x & 0x000000000fffffffull) | (x & 0x0fffffff00000000ull) >> 4;
                *cursor = p + bits / 8;
                *value = x;
                return true;
            }
        }
    }
    uint64_t result = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (p == end) {
            return false;
        }
        uint8_t byte = *p++;
        result |= static_cast<uint64_t>(byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *cursor = p;
            *value = result;
            return true;
        }
    }
    return false;
}

inline bool readSignedVarint(const uint8_t** cursor, const uint8_t* end, int64_t* value)
{
    uint64_t raw;
    if (!readVarint(cursor, end, &raw)) {
        return false;
    }
    *value = zigzagDecode(raw);
    return true;
}

}  // namespace memray::format
