// LEB128 varints and zigzag signed encoding: the integer codec of the capture format.
//
// Both the payload (hot path) and the reader (tight decode loop) use these, so they are
// header-only and branch-light. Decoding is bounds-checked: a corrupted capture can never
// make the reader read past its buffer.
#pragma once

#include <cstddef>
#include <cstdint>

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
