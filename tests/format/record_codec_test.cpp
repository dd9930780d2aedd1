// Encoder -> RecordDecoder round trips for every record type, and the decoder's refusals.
#include "memray/format/record_codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace memray::format {
namespace {

// Writes records with the codec's free functions, keeping the writer's delta state.
class StreamWriter
{
  public:
    explicit StreamWriter(bool native = false)
    : native_(native)
    {
    }

    void switchTo(uint64_t tid)
    {
        current_ = tid;
        put(encodeThreadSwitch(room(), tid));
    }
    void allocate(Allocator allocator, uint64_t address, uint64_t size, uint64_t stack, uint64_t native = 0)
    {
        Deltas& deltas = deltas_[current_];
        put(encodeAllocation(room(), allocator, address, size, stack, &addresses_, &deltas.stack, native_, native,
                             &deltas.native));
    }
    void deallocate(Deallocator deallocator, uint64_t address, uint64_t size = 0)
    {
        put(encodeDeallocation(room(), deallocator, address, size, &addresses_));
    }
    template <typename Encode>
    void record(Encode encode)
    {
        put(encode(room()));
    }

    const std::vector<uint8_t>& bytes() const { return bytes_; }

  private:
    struct Deltas
    {
        uint64_t stack = 0;
        uint64_t native = 0;
    };
    uint8_t* room()
    {
        bytes_.resize(size_ + kMaxFixedRecordBytes + 2 * kMaxStringBytes + 16);
        return bytes_.data() + size_;
    }
    void put(uint8_t* end)
    {
        size_ = static_cast<size_t>(end - bytes_.data());
        bytes_.resize(size_);
    }

    bool native_;
    std::vector<uint8_t> bytes_;
    size_t size_ = 0;
    AddressHistory addresses_;
    uint64_t current_ = 0;
    std::unordered_map<uint64_t, Deltas> deltas_;
};

std::vector<Record> decodeAll(const std::vector<uint8_t>& bytes,
                              bool native = false,
                              std::string* error = nullptr,
                              bool aggregated = false)
{
    RecordDecoder decoder(native, aggregated);
    std::vector<Record> records;
    const uint8_t* cursor = bytes.data();
    const uint8_t* end = bytes.data() + bytes.size();
    for (;;) {
        Record record;
        auto status = decoder.next(&cursor, end, &record);
        if (status == RecordDecoder::Status::End) {
            break;
        }
        if (status == RecordDecoder::Status::Error) {
            if (error) {
                *error = decoder.error();
            }
            break;
        }
        records.push_back(record);
    }
    return records;
}

TEST(RecordCodec, EveryRecordTypeRoundTrips)
{
    StreamWriter writer;
    writer.record([](uint8_t* out) { return encodeThreadStart(out, 1, 4242); });
    writer.record([](uint8_t* out) { return encodeThreadName(out, 1, "MainThread"); });
    writer.switchTo(1);
    writer.record([](uint8_t* out) { return encodeCode(out, "handler", "/srv/app.py", 17); });
    writer.record([](uint8_t* out) { return encodeFrame(out, 1, 21); });
    writer.record([](uint8_t* out) { return encodeStack(out, 0, 1); });
    writer.allocate(Allocator::Malloc, 0x7f0000001000, 1024, 1);
    writer.deallocate(Deallocator::Free, 0x7f0000001000);
    writer.deallocate(Deallocator::Munmap, 0x7e0000000000, 8192);
    writer.record([](uint8_t* out) { return encodeMemory(out, 10, 123456789); });
    writer.record([](uint8_t* out) { return encodeThreadExit(out, 1); });
    writer.record([](uint8_t* out) { return encodeTrailer(out, 999999, 1); });

    const auto records = decodeAll(writer.bytes());
    ASSERT_EQ(records.size(), 12u);

    EXPECT_EQ(records[0].kind, Record::Kind::ThreadStart);
    EXPECT_EQ(records[0].tid, 1u);
    EXPECT_EQ(records[0].os_tid, 4242u);
    EXPECT_EQ(records[1].kind, Record::Kind::ThreadName);
    EXPECT_EQ(records[1].tid, 1u);
    EXPECT_EQ(records[2].kind, Record::Kind::ThreadSwitch);
    EXPECT_EQ(records[2].tid, 1u);
    EXPECT_EQ(records[3].kind, Record::Kind::Code);
    EXPECT_EQ(records[3].id, 1u);
    EXPECT_EQ(records[3].line, 17u);
    EXPECT_EQ(records[4].kind, Record::Kind::Frame);
    EXPECT_EQ(records[4].id, 1u);
    EXPECT_EQ(records[4].code_id, 1u);
    EXPECT_EQ(records[4].line, 21u);
    EXPECT_EQ(records[5].kind, Record::Kind::Stack);
    EXPECT_EQ(records[5].id, 1u);
    EXPECT_EQ(records[5].parent_id, 0u);
    EXPECT_EQ(records[5].frame_id, 1u);
    EXPECT_EQ(records[6].kind, Record::Kind::Allocation);
    EXPECT_EQ(records[6].tid, 1u);
    EXPECT_EQ(records[6].allocator, Allocator::Malloc);
    EXPECT_EQ(records[6].address, 0x7f0000001000u);
    EXPECT_EQ(records[6].size, 1024u);
    EXPECT_EQ(records[6].stack_id, 1u);
    EXPECT_EQ(records[7].kind, Record::Kind::Deallocation);
    EXPECT_EQ(records[7].deallocator, Deallocator::Free);
    EXPECT_EQ(records[7].address, 0x7f0000001000u);
    EXPECT_EQ(records[8].deallocator, Deallocator::Munmap);
    EXPECT_EQ(records[8].address, 0x7e0000000000u);
    EXPECT_EQ(records[8].size, 8192u);
    EXPECT_EQ(records[9].kind, Record::Kind::Memory);
    EXPECT_EQ(records[9].time, 10u);
    EXPECT_EQ(records[9].rss, 123456789u);
    EXPECT_EQ(records[10].kind, Record::Kind::ThreadExit);
    EXPECT_EQ(records[10].tid, 1u);
    EXPECT_EQ(records[11].kind, Record::Kind::Trailer);
    EXPECT_EQ(records[11].time, 999999u);
    EXPECT_EQ(records[11].count, 1u);

    // Strings are checked apart: their views point into the buffer, so compare the text.
    RecordDecoder decoder;
    const uint8_t* cursor = writer.bytes().data();
    const uint8_t* end = cursor + writer.bytes().size();
    Record record;
    std::vector<std::string> texts;
    while (decoder.next(&cursor, end, &record) == RecordDecoder::Status::Ok) {
        if (record.kind == Record::Kind::ThreadName) {
            texts.emplace_back(record.name);
        } else if (record.kind == Record::Kind::Code) {
            texts.emplace_back(record.name);
            texts.emplace_back(record.filename);
        }
    }
    EXPECT_EQ(texts, (std::vector<std::string>{"MainThread", "handler", "/srv/app.py"}));
}

TEST(RecordCodec, EveryAllocatorAndDeallocatorRoundTrips)
{
    StreamWriter writer;
    writer.record([](uint8_t* out) { return encodeCode(out, "f", "f.py", 1); });
    writer.record([](uint8_t* out) { return encodeFrame(out, 1, 1); });
    writer.record([](uint8_t* out) { return encodeStack(out, 0, 1); });
    writer.switchTo(7);
    for (uint8_t id = 1; id <= kMaxAllocator; ++id) {
        writer.allocate(static_cast<Allocator>(id), 0x1000 * id, id * 3, id % 2);
    }
    for (uint8_t id = 1; id <= kMaxDeallocator; ++id) {
        writer.deallocate(static_cast<Deallocator>(id), 0x1000 * id, id == 2 ? 4096 : 0);
    }
    const auto records = decodeAll(writer.bytes());
    ASSERT_EQ(records.size(), 4u + kMaxAllocator + kMaxDeallocator);
    for (uint8_t id = 1; id <= kMaxAllocator; ++id) {
        const Record& record = records[3 + id];
        EXPECT_EQ(record.kind, Record::Kind::Allocation);
        EXPECT_EQ(record.allocator, static_cast<Allocator>(id));
        EXPECT_EQ(record.address, 0x1000u * id);
        EXPECT_EQ(record.size, id * 3u);
        EXPECT_EQ(record.stack_id, id % 2u);
        EXPECT_EQ(record.tid, 7u);
    }
    for (uint8_t id = 1; id <= kMaxDeallocator; ++id) {
        const Record& record = records[3 + kMaxAllocator + id];
        EXPECT_EQ(record.deallocator, static_cast<Deallocator>(id));
        EXPECT_EQ(record.address, 0x1000u * id);
        EXPECT_EQ(record.size, id == 2 ? 4096u : 0u);
    }
}

TEST(RecordCodec, StackDeltasArePerThreadAndAddressDeltasAreStreamWide)
{
    StreamWriter writer(/*native=*/true);
    writer.record([](uint8_t* out) { return encodeCode(out, "f", "f.py", 1); });
    writer.record([](uint8_t* out) { return encodeFrame(out, 1, 1); });
    for (int i = 0; i < 5; ++i) {
        writer.record([](uint8_t* out) { return encodeStack(out, 0, 1, /*native=*/true, 0); });
    }
    for (uint64_t i = 0; i < 300; ++i) {
        writer.record([i](uint8_t* out) { return encodeNativeFrame(out, i, 0x401000 + i); });
    }
    // Interleave two threads with stacks and native ids going up and down, and addresses that
    // jump across the whole address space.
    struct Step
    {
        uint64_t tid, address, stack, native;
    };
    const std::vector<Step> steps = {
            {1, 0xffffffffffff0000ull, 5, 200}, {2, 0x10, 1, 3},      {1, 0x20, 2, 300},
            {2, 0xffffffffffff0000ull, 4, 0},    {1, 0x0, 0, 1},       {2, 0x7fff00000000ull, 3, 2},
    };
    for (const Step& step : steps) {
        writer.switchTo(step.tid);
        writer.allocate(Allocator::Calloc, step.address, 8, step.stack, step.native);
    }
    const auto records = decodeAll(writer.bytes(), /*native=*/true);
    std::vector<Record> allocations;
    for (const Record& record : records) {
        if (record.kind == Record::Kind::Allocation) {
            allocations.push_back(record);
        }
    }
    ASSERT_EQ(allocations.size(), steps.size());
    for (size_t i = 0; i < steps.size(); ++i) {
        EXPECT_EQ(allocations[i].tid, steps[i].tid) << i;
        EXPECT_EQ(allocations[i].address, steps[i].address) << i;
        EXPECT_EQ(allocations[i].stack_id, steps[i].stack) << i;
        EXPECT_EQ(allocations[i].native_stack_id, steps[i].native) << i;
    }
}

TEST(RecordCodec, NativeRecordsRoundTrip)
{
    StreamWriter writer(/*native=*/true);
    writer.record([](uint8_t* out) { return encodeCode(out, "f", "f.py", 1); });
    writer.record([](uint8_t* out) { return encodeFrame(out, 1, 1); });
    writer.record([](uint8_t* out) { return encodeStack(out, 0, 1, true, kStackFlagEntry); });
    writer.record([](uint8_t* out) { return encodeStack(out, 1, 1, true, 0); });
    writer.record([](uint8_t* out) { return encodeNativeFrame(out, 0, 0x7f1234567890ull); });
    writer.record([](uint8_t* out) { return encodeNativeFrame(out, 1, 0x401000); });
    writer.record([](uint8_t* out) { return encodeImageMap(out, 2); });
    writer.record([](uint8_t* out) { return encodeImage(out, "/usr/bin/python3", 0, std::string_view("\xab\x00\xcd", 3)); });
    writer.record([](uint8_t* out) { return encodeImageSegment(out, 0x400000, 0x1000); });
    writer.record([](uint8_t* out) { return encodeImageSegment(out, 0x401000, 0x9000); });
    writer.record([](uint8_t* out) { return encodeImage(out, "/lib/libc.so.6", 0x7f0000000000ull, ""); });
    writer.switchTo(1);
    writer.allocate(Allocator::Malloc, 0x1000, 10, 2, 2);
    writer.allocate(Allocator::Malloc, 0x2000, 10, 1, 1);

    RecordDecoder decoder(true);
    const uint8_t* cursor = writer.bytes().data();
    const uint8_t* end = cursor + writer.bytes().size();
    std::vector<Record> records;
    std::vector<std::string> paths, build_ids;
    Record record;
    while (decoder.next(&cursor, end, &record) == RecordDecoder::Status::Ok) {
        records.push_back(record);
        if (record.kind == Record::Kind::Image) {
            paths.emplace_back(record.name);
            build_ids.emplace_back(record.build_id);
        }
    }
    ASSERT_EQ(records.size(), 14u);
    EXPECT_EQ(records[2].flags, kStackFlagEntry);
    EXPECT_EQ(records[3].flags, 0u);
    EXPECT_EQ(records[4].kind, Record::Kind::NativeFrame);
    EXPECT_EQ(records[4].id, 1u);
    EXPECT_EQ(records[4].parent_id, 0u);
    EXPECT_EQ(records[4].address, 0x7f1234567890ull);
    EXPECT_EQ(records[5].id, 2u);
    EXPECT_EQ(records[5].parent_id, 1u);
    EXPECT_EQ(records[5].address, 0x401000u);
    EXPECT_EQ(records[6].kind, Record::Kind::ImageMap);
    EXPECT_EQ(records[6].count, 2u);
    EXPECT_EQ(records[7].kind, Record::Kind::Image);
    EXPECT_EQ(records[7].address, 0u);
    EXPECT_EQ(records[8].kind, Record::Kind::ImageSegment);
    EXPECT_EQ(records[8].address, 0x400000u);
    EXPECT_EQ(records[8].size, 0x1000u);
    EXPECT_EQ(records[9].address, 0x401000u);
    EXPECT_EQ(records[10].address, 0x7f0000000000ull);
    EXPECT_EQ(records[12].native_stack_id, 2u);
    EXPECT_EQ(records[13].native_stack_id, 1u);
    EXPECT_EQ(paths, (std::vector<std::string>{"/usr/bin/python3", "/lib/libc.so.6"}));
    EXPECT_EQ(build_ids, (std::vector<std::string>{std::string("\xab\x00\xcd", 3), ""}));
}

TEST(RecordCodec, LongStringsAreCutToTheLimit)
{
    StreamWriter writer;
    const std::string long_name(kMaxStringBytes + 100, 'x');
    writer.record([&](uint8_t* out) { return encodeCode(out, long_name, "f.py", 1); });
    RecordDecoder decoder;
    const uint8_t* cursor = writer.bytes().data();
    Record record;
    ASSERT_EQ(decoder.next(&cursor, cursor + writer.bytes().size(), &record), RecordDecoder::Status::Ok);
    EXPECT_EQ(record.name.size(), kMaxStringBytes);
}

std::string decodeError(const std::vector<uint8_t>& bytes, bool native = false)
{
    std::string error;
    decodeAll(bytes, native, &error);
    return error;
}

TEST(RecordDecoder, RejectsMalformedRecords)
{
    EXPECT_EQ(decodeError({0x00}), "unknown record type");
    EXPECT_EQ(decodeError({0x0e}), "aggregate checkpoint in a capture that is not aggregated");
    EXPECT_EQ(decodeError({0x31}), "unknown record type");
    EXPECT_EQ(decodeError({0x0a, 0x00, 0x01}), "native frame in a capture without native traces");
    EXPECT_EQ(decodeError({0x0a, 0x01, 0x01}, true), "native frame refers to an undefined parent");
    EXPECT_EQ(decodeError({0x0d, 0x00, 0x01}, true), "image segment outside an image");
    // Native stack 1 was never defined.
    EXPECT_EQ(decodeError({0x01, 0x01, 0x11, 0x00, 0x08, 0x00, 0x02}, true),
              "allocation refers to an undefined native stack");
    EXPECT_EQ(decodeError({0x30}), "aggregate checkpoint end without its start");
    EXPECT_EQ(decodeError({0x01, 0x01, 0x10, 0, 0, 0}), "unknown allocator id");
    EXPECT_EQ(decodeError({0x01, 0x01, 0x10 | (kMaxAllocator + 1), 0, 0, 0}), "unknown allocator id");
    EXPECT_EQ(decodeError({0x20, 0x00}), "unknown deallocator id");
    EXPECT_EQ(decodeError({0x20 | (kMaxDeallocator + 1), 0x00}), "unknown deallocator id");
    EXPECT_EQ(decodeError({0x11, 0x00, 0x08, 0x00}), "allocation before any thread switch");
    // Stack 1 was never defined.
    EXPECT_EQ(decodeError({0x01, 0x01, 0x11, 0x00, 0x08, 0x02}), "allocation refers to an undefined stack");
    EXPECT_EQ(decodeError({0x05, 0x01, 0x01}), "frame refers to an undefined code object");
    EXPECT_EQ(decodeError({0x06, 0x00, 0x01}), "stack refers to an undefined stack or frame");
    // A string claiming more bytes than the stream has.
    EXPECT_EQ(decodeError({0x04, 0x7f, 'a'}), "truncated code record");
    // A new address with the escape bit set carries nothing else in its first varint.
    EXPECT_EQ(decodeError({0x21, 0x21, 0x00}), "malformed address delta");
    EXPECT_EQ(decodeError({0x01, 0x01, 0x11, 0x81, 0x01, 0x08, 0x00}), "malformed address delta");
}

TEST(RecordDecoder, EveryTruncationOfEveryRecordIsAnError)
{
    StreamWriter writer(/*native=*/true);
    writer.record([](uint8_t* out) { return encodeCode(out, "function", "file.py", 300); });
    writer.record([](uint8_t* out) { return encodeFrame(out, 1, 1000); });
    writer.record([](uint8_t* out) { return encodeStack(out, 0, 1, true, kStackFlagEntry); });
    for (uint64_t i = 0; i < 200; ++i) {
        writer.record([i](uint8_t* out) { return encodeNativeFrame(out, i, 0x7f0000000000 + i); });
    }
    writer.record([](uint8_t* out) { return encodeImageMap(out, 1); });
    writer.record([](uint8_t* out) { return encodeImage(out, "/usr/lib/libc.so.6", 0x7f0000000000, "\x01\x02"); });
    writer.record([](uint8_t* out) { return encodeImageSegment(out, 0x1000, 0x20000); });
    const size_t prefix = writer.bytes().size();
    writer.switchTo(300);
    writer.allocate(Allocator::Malloc, 0x7f0000000000, 100000, 1, 200);
    writer.deallocate(Deallocator::Munmap, 0x7f0000000000, 1 << 20);
    // Unaligned: the new address takes the escape, a second varint.
    writer.allocate(Allocator::Malloc, 0x7f0000100008, 24, 1, 200);
    writer.deallocate(Deallocator::Free, 0x6f0000000001);
    writer.record([](uint8_t* out) { return encodeMemory(out, 100000, 1ull << 40); });
    writer.record([](uint8_t* out) { return encodeThreadStart(out, 300, 1ull << 40); });
    writer.record([](uint8_t* out) { return encodeThreadName(out, 300, "worker"); });
    writer.record([](uint8_t* out) { return encodeThreadExit(out, 300); });
    writer.record([](uint8_t* out) { return encodeTrailer(out, 1ull << 40, 1); });
    const std::vector<uint8_t>& bytes = writer.bytes();
    const size_t full = decodeAll(bytes, true).size();
    ASSERT_EQ(full, 216u);

    // Cut the stream everywhere: either it ends on a record boundary (fewer records, no error)
    // or the decoder reports an error; it never reads past the end (ASan would catch that).
    size_t boundaries = 0;
    for (size_t cut = 0; cut < bytes.size(); ++cut) {
        std::vector<uint8_t> head(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
        head.shrink_to_fit();
        std::string error;
        const size_t decoded = decodeAll(head, true, &error).size();
        EXPECT_LT(decoded, full);
        if (error.empty()) {
            ++boundaries;
        } else {
            EXPECT_NE(error.find("truncated"), std::string::npos) << "cut at " << cut << ": " << error;
        }
    }
    EXPECT_EQ(boundaries, full) << "exactly one clean cut per record boundary (before each record)";
    EXPECT_GT(prefix, 0u);
}

}  // namespace
}  // namespace memray::format

namespace memray::format {
namespace {

// An aggregated capture's own records: memory with the heap, and one checkpoint.
std::vector<uint8_t> aggregatedStream()
{
    StreamWriter writer(/*native=*/true);
    writer.record([](uint8_t* out) { return encodeCode(out, "f", "f.py", 1); });
    writer.record([](uint8_t* out) { return encodeFrame(out, 1, 2); });
    writer.record([](uint8_t* out) { return encodeStack(out, 0, 1, true, 0); });
    writer.record([](uint8_t* out) { return encodeNativeFrame(out, 0, 0x401000); });
    writer.record([](uint8_t* out) { return encodeAggregatedMemory(out, 10, 1u << 20, 4096); });
    writer.record([](uint8_t* out) {
        return encodeAggregateBegin(out, AggregateTotals{1000, 600, 1u << 30, 4096, 700, 5ull << 30});
    });
    writer.record([](uint8_t* out) {
        return encodeAggregateLocation(out, AggregateLocation{3, 1, 1, Allocator::Mmap, 999, 4096, 1, 1u << 30, 2});
    });
    writer.record([](uint8_t* out) { return encodeAggregateEnd(out); });
    return writer.bytes();
}

TEST(RecordCodec, AggregateRecordsRoundTrip)
{
    std::string error;
    const auto records = decodeAll(aggregatedStream(), true, &error, /*aggregated=*/true);
    ASSERT_EQ(records.size(), 8u) << error;
    EXPECT_EQ(records[4].kind, Record::Kind::Memory);
    EXPECT_EQ(records[4].rss, 1u << 20);
    EXPECT_EQ(records[4].heap, 4096u);
    const AggregateTotals& totals = records[5].totals;
    EXPECT_EQ(records[5].kind, Record::Kind::AggregateBegin);
    EXPECT_EQ(totals.events, 1000u);
    EXPECT_EQ(totals.peak_events, 600u);
    EXPECT_EQ(totals.peak_bytes, 1u << 30);
    EXPECT_EQ(totals.current_bytes, 4096u);
    EXPECT_EQ(totals.allocations, 700u);
    EXPECT_EQ(totals.allocated_bytes, 5ull << 30);
    const AggregateLocation& location = records[6].location;
    EXPECT_EQ(records[6].kind, Record::Kind::AggregateLocation);
    EXPECT_EQ(location.tid, 3u);
    EXPECT_EQ(location.stack_id, 1u);
    EXPECT_EQ(location.native_stack_id, 1u);
    EXPECT_EQ(location.allocator, Allocator::Mmap);
    EXPECT_EQ(location.live_bytes, 4096u);
    // Changed after the peak: its figures at the peak are the saved ones.
    EXPECT_EQ(location.bytesAtPeak(totals.peak_events), 1u << 30);
    EXPECT_EQ(location.countAtPeak(totals.peak_events), 2u);
    EXPECT_EQ(location.bytesAtPeak(999), 4096u);
    EXPECT_EQ(records[7].kind, Record::Kind::AggregateEnd);
}

TEST(RecordDecoder, AggregateRecordsAreRefusedOutOfPlace)
{
    // In a capture that is not aggregated, a checkpoint is corruption.
    std::string error;
    decodeAll(aggregatedStream(), true, &error, /*aggregated=*/false);
    // The heap varint (0x80 0x20) is then read as a record: a recent-address allocation naming
    // allocator 0.
    EXPECT_EQ(error, "unknown allocator id") << "without the option the memory record is shorter";
    auto decodeError = [](std::vector<uint8_t> bytes) {
        std::string error;
        decodeAll(bytes, false, &error, /*aggregated=*/true);
        return error;
    };
    EXPECT_EQ(decodeError({0x0f, 1, 0, 0, 1, 0, 0, 0, 0, 0}), "aggregate location outside a checkpoint");
    EXPECT_EQ(decodeError({0x30}), "aggregate checkpoint end without its start");
    EXPECT_EQ(decodeError({0x0e, 1, 0, 0, 0, 0, 0, 0x0e, 1, 0, 0, 0, 0, 0}), "aggregate checkpoint inside another");
    EXPECT_EQ(decodeError({0x0e, 1, 2, 0, 0, 0, 0}), "aggregate checkpoint peak after its last event");
    EXPECT_EQ(decodeError({0x0e, 1, 0, 0, 0, 0, 0, 0x0f, 1, 5, 0, 1, 0, 0, 0, 0, 0}),
              "aggregate location refers to an undefined stack");
    EXPECT_EQ(decodeError({0x0e, 1, 0, 0, 0, 0, 0, 0x0f, 1, 0, 0, 13, 0, 0, 0, 0, 0}), "unknown allocator id");
    StreamWriter plain;
    plain.record([](uint8_t* out) { return encodeAggregateEnd(out); });
    std::string plain_error;
    decodeAll(plain.bytes(), false, &plain_error, /*aggregated=*/false);
    EXPECT_EQ(plain_error, "aggregate checkpoint end without its start");
}

TEST(RecordDecoder, EveryTruncationOfAnAggregateRecordIsAnError)
{
    const std::vector<uint8_t> bytes = aggregatedStream();
    const size_t full = decodeAll(bytes, true, nullptr, true).size();
    size_t boundaries = 0;
    for (size_t cut = 0; cut < bytes.size(); ++cut) {
        std::vector<uint8_t> head(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(cut));
        head.shrink_to_fit();
        std::string error;
        EXPECT_LT(decodeAll(head, true, &error, true).size(), full);
        if (error.empty()) {
            ++boundaries;
        } else {
            EXPECT_NE(error.find("truncated"), std::string::npos) << "cut at " << cut << ": " << error;
        }
    }
    EXPECT_EQ(boundaries, full);
}

}  // namespace
}  // namespace memray::format

namespace memray::format {
namespace {

// A fixed sequence of pseudo-random numbers (a linear congruential generator): the same
// addresses every run.
auto pseudoRandom(uint64_t seed)
{
    return [state = seed]() mutable {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        return state >> 33;
    };
}

// Addresses drawn from a small pool hit every slot of the recent-address history, including
// the slots an allocation cannot name, and miss it too: the decoder must follow the writer's
// history exactly, or every address after the first divergence comes out wrong.
TEST(RecordCodec, RecentAddressesRoundTripWhateverTheMixOfHitsAndMisses)
{
    StreamWriter writer;
    writer.switchTo(1);
    auto next = pseudoRandom(12345);
    std::vector<std::pair<bool, uint64_t>> written;  // (allocation?, address)
    for (int i = 0; i < 20000; ++i) {
        const uint64_t pool = (i / 1000) % 2 == 0 ? 24 : 400;  // phases of mostly hits, mostly misses
        // Mostly 16-byte aligned, as allocators return them; now and then not.
        const uint64_t address = 0x7f0000000000 + 16 * (next() % pool) + (next() % 8 == 0 ? next() % 16 : 0);
        if (next() % 2) {
            writer.allocate(Allocator::PymallocMalloc, address, 32, 0);
            written.emplace_back(true, address);
        } else {
            writer.deallocate(next() % 3 == 0 ? Deallocator::Munmap : Deallocator::PymallocFree, address, 4096);
            written.emplace_back(false, address);
        }
    }
    const auto records = decodeAll(writer.bytes());
    ASSERT_EQ(records.size(), written.size() + 1);
    for (size_t i = 0; i < written.size(); ++i) {
        const Record& record = records[i + 1];
        ASSERT_EQ(record.kind, written[i].first ? Record::Kind::Allocation : Record::Kind::Deallocation) << i;
        ASSERT_EQ(record.address, written[i].second) << "record " << i;
    }
}

// find() is the lowest slot holding the address, whatever the ring's rotation and however
// many copies the history holds: the slot is in the record, so any other answer changes the
// stream's bytes.
TEST(RecordCodec, RecentAddressFindIsTheLowestSlotHoldingTheAddress)
{
    AddressHistory history;
    auto next = pseudoRandom(777);
    for (int i = 0; i < 20000; ++i) {
        // A pool barely larger than the history: duplicates, hits in every slot, and misses.
        const uint64_t address = 0x1000 + 16 * (next() % 20);
        unsigned expected = kRecentAddresses;
        for (unsigned slot = kRecentAddresses; slot-- > 0;) {
            if (history.at(slot) == address) {
                expected = slot;
            }
        }
        const unsigned found = history.find(address);
        ASSERT_EQ(found, expected) << "step " << i;
        // As the encoder does: an allocation cannot name the upper slots and adds a copy instead.
        history.use(address, next() % 2 && found >= kRecentAllocationSlots ? kRecentAddresses : found);
    }
}


// The AVX2 versions of find(), nearest() and use() act exactly as the portable ones: which runs
// depends on the CPU, and the answers are in the stream's bytes. Addresses from a few pools
// (hits, near misses, ties) and extremes (0, 2^63 apart, the top of the address space).
TEST(RecordCodec, RecentAddressSearchesAgreeOnEveryCpu)
{
    if (!address_history_detail::cpuHasAvx2()) {
        GTEST_SKIP() << "this CPU has no AVX2";
    }
    AddressHistory history;
    auto next = pseudoRandom(4242);
    const uint64_t extremes[] = {0, 1, uint64_t{1} << 63, (uint64_t{1} << 63) + 16, ~uint64_t{0},
                                 ~uint64_t{0} - 15, uint64_t{1} << 59, (uint64_t{1} << 59) - 16};
    for (int i = 0; i < 200000; ++i) {
        uint64_t address;
        switch (next() % 4) {
            case 0: address = 0x7f0000000000 + 16 * (next() % 24); break;
            case 1: address = 0x550000000000 + 16 * (next() % 4096); break;
            case 2: address = extremes[next() % (sizeof(extremes) / sizeof(extremes[0]))]; break;
            default: address = next(); break;
        }
        ASSERT_EQ(history.matchingPositionsAvx2(address), history.matchingPositionsPortable(address)) << "step " << i;
        ASSERT_EQ(history.nearestAvx2(address), history.nearestPortable(address)) << "step " << i;
        const unsigned found = history.find(address);
        const unsigned slot = next() % 2 && found >= kRecentAllocationSlots ? kRecentAddresses : found;
        AddressHistory portable = history;
        portable.usePortable(address, slot);
        history.useAvx2(address, slot);
        for (unsigned s = 0; s < kRecentAddresses; ++s) {
            ASSERT_EQ(history.at(s), portable.at(s)) << "step " << i << ", slot " << s;
        }
    }
}

// use() is a move to the front: the address goes to slot 0 and the entries before its old
// slot move down one (all of them for a new address, dropping the oldest). Checked against a
// list, on whichever version this CPU runs.
TEST(RecordCodec, RecentAddressUseMovesTheAddressToTheFront)
{
    AddressHistory history;
    std::vector<uint64_t> expected(kRecentAddresses, 0);
    auto next = pseudoRandom(99);
    for (int i = 0; i < 20000; ++i) {
        const uint64_t address = 0x1000 + 16 * (next() % 24);
        const unsigned found = history.find(address);
        const unsigned slot = next() % 4 == 0 ? kRecentAddresses : found;
        expected.erase(expected.begin() + (slot < kRecentAddresses ? slot : kRecentAddresses - 1));
        expected.insert(expected.begin(), address);
        history.use(address, slot);
        for (unsigned s = 0; s < kRecentAddresses; ++s) {
            ASSERT_EQ(history.at(s), expected[s]) << "step " << i << ", slot " << s;
        }
    }
}

}  // namespace
}  // namespace memray::format

namespace memray::format {
namespace {

std::vector<uint8_t> lastRecord(const StreamWriter& writer, size_t before)
{
    return std::vector<uint8_t>(writer.bytes().begin() + static_cast<std::ptrdiff_t>(before), writer.bytes().end());
}

// A new address is a delta from the nearest recent address, not from the previous record's:
// allocations that alternate between two pools cost a byte or two of address each.
TEST(RecordCodec, NewAddressesAreDeltasFromTheNearestRecentAddress)
{
    StreamWriter writer;
    writer.switchTo(1);
    writer.allocate(Allocator::PymallocMalloc, 0x7f0000001000, 32, 0);
    writer.allocate(Allocator::PymallocMalloc, 0x7e0000002000, 48, 0);
    size_t before = writer.bytes().size();
    // Slot 1 (0x7f0000001000) is 3 units of 16 below: zigzag 5, so (5 << 5) | (1 << 1) = 0xa2.
    writer.allocate(Allocator::PymallocMalloc, 0x7f0000000fd0, 32, 0);
    EXPECT_EQ(lastRecord(writer, before), (std::vector<uint8_t>{0x1a, 0xa2, 0x01, 32, 0}));
    before = writer.bytes().size();
    // Slot 1 is now 0x7e0000002000; 0x30 above it: zigzag 6, so (6 << 5) | (1 << 1) = 0xc2.
    writer.deallocate(Deallocator::PymallocFree, 0x7e0000002030);
    EXPECT_EQ(lastRecord(writer, before), (std::vector<uint8_t>{0x23, 0xc2, 0x01}));
    before = writer.bytes().size();
    // Unaligned: the escape (slot 0 << 1 | 1), then the zigzag byte delta 8 -> 16.
    writer.deallocate(Deallocator::Free, 0x7e0000002038);
    EXPECT_EQ(lastRecord(writer, before), (std::vector<uint8_t>{0x21, 0x01, 0x10}));

    const auto records = decodeAll(writer.bytes());
    ASSERT_EQ(records.size(), 6u);
    EXPECT_EQ(records[3].address, 0x7f0000000fd0u);
    EXPECT_EQ(records[4].address, 0x7e0000002030u);
    EXPECT_EQ(records[5].address, 0x7e0000002038u);
}

// Deltas near the ends of the address space, unaligned ones and ones too large to share the
// varint with the slot all come back exactly.
TEST(RecordCodec, ExtremeAndUnalignedAddressesRoundTrip)
{
    const std::vector<uint64_t> addresses = {
            0x0, 0xfffffffffffffff0ull, 0x1, 0x8000000000000000ull, 0x7ffffffffffffff0ull, 0xffffffffffffffffull,
            0x10, 0x7f0000000008ull, 0x0800000000000000ull, 0xf7fffffffffffff0ull, 0x7f0000000010ull, 0x3,
    };
    StreamWriter writer;
    writer.switchTo(1);
    for (size_t i = 0; i < addresses.size(); ++i) {
        // Spread over more addresses than the history holds, so each is new when written.
        for (uint64_t step = 0; step < kRecentAddresses; ++step) {
            writer.deallocate(Deallocator::Free, 0x100000 * (i * kRecentAddresses + step + 1));
        }
        writer.allocate(Allocator::Malloc, addresses[i], 8, 0);
        writer.deallocate(Deallocator::Munmap, addresses[i] ^ 0x8000000000000000ull, 4096);
    }
    std::vector<uint64_t> decoded;
    for (const Record& record : decodeAll(writer.bytes())) {
        if (record.kind == Record::Kind::Allocation) {
            decoded.push_back(record.address);
        } else if (record.kind == Record::Kind::Deallocation && record.deallocator == Deallocator::Munmap) {
            EXPECT_EQ(record.address, decoded.back() ^ 0x8000000000000000ull);
        }
    }
    EXPECT_EQ(decoded, addresses);
}

}  // namespace
}  // namespace memray::format
