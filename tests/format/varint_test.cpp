// LEB128 varints and zigzag: the edges where encodings change length or sign handling breaks.
#include "memray/format/varint.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <limits>
#include <vector>

namespace memray::format {
namespace {

size_t encodedLength(uint64_t value)
{
    uint8_t buffer[kMaxVarintBytes];
    return static_cast<size_t>(writeVarint(buffer, value) - buffer);
}

uint64_t roundTrip(uint64_t value)
{
    uint8_t buffer[kMaxVarintBytes];
    uint8_t* end = writeVarint(buffer, value);
    const uint8_t* cursor = buffer;
    uint64_t decoded = ~value;
    EXPECT_TRUE(readVarint(&cursor, end, &decoded));
    EXPECT_EQ(cursor, end) << "the decoder must consume exactly the encoding of " << value;
    return decoded;
}

TEST(Varint, LengthsChangeAtPowersOf128)
{
    EXPECT_EQ(encodedLength(0), 1u);
    EXPECT_EQ(encodedLength(127), 1u);
    EXPECT_EQ(encodedLength(128), 2u);
    EXPECT_EQ(encodedLength(16383), 2u);
    EXPECT_EQ(encodedLength(16384), 3u);
    EXPECT_EQ(encodedLength((uint64_t{1} << 63) - 1), 9u);
    EXPECT_EQ(encodedLength(uint64_t{1} << 63), 10u);
    EXPECT_EQ(encodedLength(std::numeric_limits<uint64_t>::max()), kMaxVarintBytes);
}

TEST(Varint, RoundTripsEdgeValues)
{
    std::vector<uint64_t> values = {0, 1, 127, 128, 255, 256, 16383, 16384, 0xffffffffull, 0x100000000ull,
                                    std::numeric_limits<uint64_t>::max() - 1, std::numeric_limits<uint64_t>::max()};
    for (unsigned bit = 0; bit < 64; ++bit) {
        values.push_back(uint64_t{1} << bit);
        values.push_back((uint64_t{1} << bit) - 1);
    }
    for (uint64_t value : values) {
        EXPECT_EQ(roundTrip(value), value);
    }
}

TEST(Varint, DecodesTheSameWithMoreBytesAfterIt)
{
    // With 8 bytes or more left the decoder reads a whole word at once: each encoding length,
    // followed by bytes that would continue a varint (0xff) or end one (0x00), must decode to
    // the value and stop exactly at its end.
    for (unsigned bit = 0; bit < 64; ++bit) {
        for (uint64_t value : {uint64_t{1} << bit, (uint64_t{1} << bit) - 1, (uint64_t{1} << bit) | 0x55}) {
            for (uint8_t filler : {uint8_t{0xff}, uint8_t{0x00}, uint8_t{0x80}}) {
                uint8_t buffer[kMaxVarintBytes + 8];
                std::fill(std::begin(buffer), std::end(buffer), filler);
                uint8_t* end = writeVarint(buffer, value);
                const uint8_t* cursor = buffer;
                uint64_t decoded = ~value;
                ASSERT_TRUE(readVarint(&cursor, std::end(buffer), &decoded)) << value;
                EXPECT_EQ(decoded, value);
                EXPECT_EQ(cursor, end) << value;
            }
        }
    }
}

TEST(Varint, KnownEncoding)
{
    uint8_t buffer[kMaxVarintBytes];
    uint8_t* end = writeVarint(buffer, 300);
    ASSERT_EQ(end - buffer, 2);
    EXPECT_EQ(buffer[0], 0xac);
    EXPECT_EQ(buffer[1], 0x02);
}

TEST(Varint, TruncatedInputFailsAndLeavesCursor)
{
    uint8_t buffer[kMaxVarintBytes];
    uint8_t* end = writeVarint(buffer, std::numeric_limits<uint64_t>::max());
    for (uint8_t* cut = buffer; cut < end; ++cut) {
        const uint8_t* cursor = buffer;
        uint64_t value = 42;
        EXPECT_FALSE(readVarint(&cursor, cut, &value)) << "cut at " << (cut - buffer);
        EXPECT_EQ(cursor, buffer);
        EXPECT_EQ(value, 42u) << "a failed read must not write the output";
    }
}

TEST(Varint, OverlongEncodingIsRejected)
{
    // Eleven continuation bytes can never be a 64-bit value: the decoder must stop, not read on.
    std::vector<uint8_t> bytes(11, 0x80);
    bytes.push_back(0x00);
    const uint8_t* cursor = bytes.data();
    uint64_t value = 0;
    EXPECT_FALSE(readVarint(&cursor, bytes.data() + bytes.size(), &value));
    EXPECT_EQ(cursor, bytes.data());
}

TEST(Zigzag, MapsSmallMagnitudesToSmallCodes)
{
    EXPECT_EQ(zigzagEncode(0), 0u);
    EXPECT_EQ(zigzagEncode(-1), 1u);
    EXPECT_EQ(zigzagEncode(1), 2u);
    EXPECT_EQ(zigzagEncode(-2), 3u);
    EXPECT_EQ(zigzagEncode(std::numeric_limits<int64_t>::max()), std::numeric_limits<uint64_t>::max() - 1);
    EXPECT_EQ(zigzagEncode(std::numeric_limits<int64_t>::min()), std::numeric_limits<uint64_t>::max());
}

TEST(Zigzag, RoundTripsExtremes)
{
    for (int64_t value : {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{63}, int64_t{-64}, int64_t{64},
                          std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min(),
                          std::numeric_limits<int64_t>::min() + 1})
    {
        EXPECT_EQ(zigzagDecode(zigzagEncode(value)), value);
        uint8_t buffer[kMaxVarintBytes];
        uint8_t* end = writeSignedVarint(buffer, value);
        const uint8_t* cursor = buffer;
        int64_t decoded = 0;
        ASSERT_TRUE(readSignedVarint(&cursor, end, &decoded));
        EXPECT_EQ(decoded, value);
    }
}

TEST(Zigzag, AddressDeltasWrapAroundLikeTheCodecs)
{
    // The codec stores address deltas as signed differences of unsigned values; going from a
    // high address to a low one and back must be exact across the whole 64-bit range.
    const uint64_t high = 0xfffffffffffff000ull;
    const uint64_t low = 0x10;
    const int64_t down = static_cast<int64_t>(low - high);
    const int64_t up = static_cast<int64_t>(high - low);
    EXPECT_EQ(high + static_cast<uint64_t>(zigzagDecode(zigzagEncode(down))), low);
    EXPECT_EQ(low + static_cast<uint64_t>(zigzagDecode(zigzagEncode(up))), high);
}

}  // namespace
}  // namespace memray::format
