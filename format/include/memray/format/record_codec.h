// Encoding and decoding of the records in a capture's stream (see capture_format.h).
//
// The encoder is a set of free functions that write one record into a caller-provided buffer
// (the payload calls them under its writer lock, on the allocation hot path). Delta state
// that spans records (the recent addresses, each thread's previous stack id) is explicit so
// the writer and RecordDecoder replay it identically.
#pragma once

#include "memray/format/address_history.h"
#include "memray/format/capture_format.h"
#include "memray/format/varint.h"

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>

namespace memray::format {

// ---------------------------------------------------------------------------------------------
// Encoding. Each function writes one record at `out` and returns the byte after it. The caller
// guarantees kMaxFixedRecordBytes free (plus the string lengths for records with strings).

inline uint8_t* encodeString(uint8_t* out, std::string_view text)
{
    if (text.size() > kMaxStringBytes) {
        text = text.substr(0, kMaxStringBytes);
    }
    out = writeVarint(out, text.size());
    std::memcpy(out, text.data(), text.size());
    return out + text.size();
}

inline uint8_t* encodeThreadSwitch(uint8_t* out, uint64_t tid)
{
    *out++ = kRecordThreadSwitch;
    return writeVarint(out, tid);
}

inline uint8_t* encodeThreadStart(uint8_t* out, uint64_t tid, uint64_t os_tid)
{
    *out++ = kRecordThreadStart;
    out = writeVarint(out, tid);
    return writeVarint(out, os_tid);
}

inline uint8_t* encodeThreadName(uint8_t* out, uint64_t tid, std::string_view name)
{
    *out++ = kRecordThreadName;
    out = writeVarint(out, tid);
    return encodeString(out, name);
}

inline uint8_t* encodeThreadExit(uint8_t* out, uint64_t tid)
{
    *out++ = kRecordThreadExit;
    return writeVarint(out, tid);
}

inline uint8_t* encodeCode(uint8_t* out, std::string_view name, std::string_view file, uint64_t first_line)
{
    *out++ = kRecordCode;
    out = encodeString(out, name);
    out = encodeString(out, file);
    return writeVarint(out, first_line);
}

inline uint8_t* encodeFrame(uint8_t* out, uint64_t code_id, uint64_t line)
{
    *out++ = kRecordFrame;
    out = writeVarint(out, code_id);
    return writeVarint(out, line);
}

// `native` must match the capture's kOptionNativeTraces: native captures carry StackFlag bits.
inline uint8_t* encodeStack(uint8_t* out, uint64_t parent_stack_id, uint64_t frame_id, bool native = false,
                            uint64_t flags = 0)
{
    *out++ = kRecordStack;
    out = writeVarint(out, parent_stack_id);
    out = writeVarint(out, frame_id);
    return native ? writeVarint(out, flags) : out;
}

inline uint8_t* encodeNativeFrame(uint8_t* out, uint64_t parent_native_id, uint64_t return_address)
{
    *out++ = kRecordNativeFrame;
    out = writeVarint(out, parent_native_id);
    return writeVarint(out, return_address);
}

inline uint8_t* encodeImageMap(uint8_t* out, uint64_t image_count)
{
    *out++ = kRecordImageMap;
    return writeVarint(out, image_count);
}

// Room needed: kMaxFixedRecordBytes + 2 * kMaxStringBytes.
inline uint8_t* encodeImage(uint8_t* out, std::string_view path, uint64_t load_bias, std::string_view build_id)
{
    *out++ = kRecordImage;
    out = encodeString(out, path);
    out = writeVarint(out, load_bias);
    return encodeString(out, build_id);
}

inline uint8_t* encodeImageSegment(uint8_t* out, uint64_t vaddr, uint64_t memsz)
{
    *out++ = kRecordImageSegment;
    out = writeVarint(out, vaddr);
    return writeVarint(out, memsz);
}

inline uint8_t* encodeMemory(uint8_t* out, uint64_t ms_since_start, uint64_t rss_bytes)
{
    *out++ = kRecordMemory;
    out = writeVarint(out, ms_since_start);
    return writeVarint(out, rss_bytes);
}

// Aggregated captures: the memory record also carries the tracked heap.
inline uint8_t* encodeAggregatedMemory(uint8_t* out, uint64_t ms_since_start, uint64_t rss_bytes, uint64_t heap_bytes)
{
    out = encodeMemory(out, ms_since_start, rss_bytes);
    return writeVarint(out, heap_bytes);
}

// The whole-capture figures that open an aggregate checkpoint (kRecordAggregateBegin).
struct AggregateTotals
{
    uint64_t events = 0;       // heap events (allocations and deallocations) applied so far
    uint64_t peak_events = 0;  // heap events applied when the heap reached its peak (ties: the later)
    uint64_t peak_bytes = 0;
    uint64_t current_bytes = 0;
    uint64_t allocations = 0;  // allocation events so far
    uint64_t allocated_bytes = 0;
};

// One location's state in an aggregate checkpoint (kRecordAggregateLocation).
struct AggregateLocation
{
    uint64_t tid = 0;  // capture thread id of the allocating thread
    uint64_t stack_id = 0;
    uint64_t native_stack_id = 0;
    Allocator allocator{};
    uint64_t last_change_event = 0;  // the heap event (1-based) that last changed its figures
    uint64_t live_bytes = 0;
    uint64_t live_count = 0;
    uint64_t peak_bytes = 0;  // its figures at the peak, when it changed after the peak event
    uint64_t peak_count = 0;

    // Its figures at the peak that `peak_events` names.
    uint64_t bytesAtPeak(uint64_t peak_events) const { return last_change_event <= peak_events ? live_bytes : peak_bytes; }
    uint64_t countAtPeak(uint64_t peak_events) const { return last_change_event <= peak_events ? live_count : peak_count; }
};

// Room needed: 1 + 6 * 10.
inline uint8_t* encodeAggregateBegin(uint8_t* out, const AggregateTotals& totals)
{
    *out++ = kRecordAggregateBegin;
    out = writeVarint(out, totals.events);
    out = writeVarint(out, totals.peak_events);
    out = writeVarint(out, totals.peak_bytes);
    out = writeVarint(out, totals.current_bytes);
    out = writeVarint(out, totals.allocations);
    return writeVarint(out, totals.allocated_bytes);
}

// Room needed: kMaxAggregateLocationBytes.
inline uint8_t* encodeAggregateLocation(uint8_t* out, const AggregateLocation& location)
{
    *out++ = kRecordAggregateLocation;
    out = writeVarint(out, location.tid);
    out = writeVarint(out, location.stack_id);
    out = writeVarint(out, location.native_stack_id);
    out = writeVarint(out, static_cast<uint8_t>(location.allocator));
    out = writeVarint(out, location.last_change_event);
    out = writeVarint(out, location.live_bytes);
    out = writeVarint(out, location.live_count);
    out = writeVarint(out, location.peak_bytes);
    return writeVarint(out, location.peak_count);
}
inline constexpr size_t kMaxAggregateLocationBytes = 1 + 9 * 10;

inline uint8_t* encodeAggregateEnd(uint8_t* out)
{
    *out++ = kRecordAggregateEnd;
    return out;
}

inline uint8_t* encodeTrailer(uint8_t* out, uint64_t us_since_start, uint64_t allocation_records)
{
    *out++ = kRecordTrailer;
    out = writeVarint(out, us_since_start);
    return writeVarint(out, allocation_records);
}

// An address that is not among the recent ones: its delta from the recent address at `base`
// (kRecordAllocationBase / kRecordDeallocationBase body).
inline uint8_t* encodeNewAddress(uint8_t* out, uint64_t address, unsigned base, const AddressHistory& addresses)
{
    const uint64_t delta = address - addresses.at(base);
    // Blocks are 16-byte aligned, so the delta is usually a whole number of 16-byte units,
    // written in the same varint as the slot. Anything else (and a delta too large to share
    // the varint) takes the escape: the slot alone, then the byte delta.
    const uint64_t units = zigzagEncode(static_cast<int64_t>(delta) >> 4);
    if ((delta & 15) == 0 && units >> 59 == 0) {
        return writeVarint(out, units << 5 | base << 1);
    }
    out = writeVarint(out, base << 1 | 1);
    return writeSignedVarint(out, static_cast<int64_t>(delta));
}

// `addresses` is the stream-wide address history; `*thread_last_stack` the writing thread's
// previous stack id (and `*thread_last_native` its previous native stack id). All are updated.
// `native` must match the capture's kOptionNativeTraces.
inline uint8_t* encodeAllocation(
        uint8_t* out,
        Allocator allocator,
        uint64_t address,
        uint64_t size,
        uint64_t stack_id,
        AddressHistory* addresses,
        uint64_t* thread_last_stack,
        bool native = false,
        uint64_t native_stack_id = 0,
        uint64_t* thread_last_native = nullptr)
{
    unsigned slot = addresses->find(address);
    if (slot < kRecentAllocationSlots) {
        *out++ = static_cast<uint8_t>(kRecordRecentAllocationBase | slot << 4 | static_cast<uint8_t>(allocator));
    } else {
        // Beyond the slots an allocation can name (then a delta of 0 from it): written as new,
        // as the decoder will take it (the history may then hold the address twice; the first
        // one is the one found).
        *out++ = static_cast<uint8_t>(kRecordAllocationBase | static_cast<uint8_t>(allocator));
        out = encodeNewAddress(out, address, slot < kRecentAddresses ? slot : addresses->nearest(address), *addresses);
        slot = kRecentAddresses;
    }
    addresses->use(address, slot);
    out = writeVarint(out, size);
    out = writeSignedVarint(out, static_cast<int64_t>(stack_id - *thread_last_stack));
    *thread_last_stack = stack_id;
    if (native) {
        out = writeSignedVarint(out, static_cast<int64_t>(native_stack_id - *thread_last_native));
        *thread_last_native = native_stack_id;
    }
    return out;
}

// `size` is written for Munmap only (a ranged deallocation).
inline uint8_t* encodeDeallocation(
        uint8_t* out,
        Deallocator deallocator,
        uint64_t address,
        uint64_t size,
        AddressHistory* addresses)
{
    const unsigned slot = addresses->find(address);
    if (slot < kRecentAddresses) {
        *out++ = static_cast<uint8_t>(kRecordRecentDeallocationBase | slot << 2 | static_cast<uint8_t>(deallocator));
    } else {
        *out++ = static_cast<uint8_t>(kRecordDeallocationBase | static_cast<uint8_t>(deallocator));
        out = encodeNewAddress(out, address, addresses->nearest(address), *addresses);
    }
    addresses->use(address, slot);
    if (deallocator == Deallocator::Munmap) {
        out = writeVarint(out, size);
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Decoding.

struct Record
{
    enum class Kind : uint8_t {
        ThreadSwitch,
        ThreadStart,
        ThreadName,
        ThreadExit,
        Code,
        Frame,
        Stack,
        Memory,
        Trailer,
        NativeFrame,
        ImageMap,
        Image,
        ImageSegment,
        AggregateBegin,
        AggregateLocation,
        AggregateEnd,
        // Kinds before Allocation define tables; CaptureReader relies on this order.
        Allocation,
        Deallocation,
    };

    Kind kind{};
    uint64_t tid = 0;  // the thread the record belongs to (the current thread of the stream)

    // Allocation / Deallocation
    Allocator allocator{};
    Deallocator deallocator{};
    uint64_t address = 0;
    uint64_t size = 0;  // Allocation, and Munmap deallocations
    uint64_t stack_id = 0;
    uint64_t native_stack_id = 0;

    // Code / Frame / Stack: `id` is the implicit id the record defines.
    uint64_t id = 0;
    uint64_t code_id = 0;   // Frame
    uint64_t line = 0;      // Frame: line; Code: first line
    uint64_t parent_id = 0;  // Stack, NativeFrame
    uint64_t frame_id = 0;   // Stack
    uint64_t flags = 0;      // Stack: StackFlag bits (native captures)
    std::string_view name;      // Code: function; ThreadName: name; Image: path (valid until the next chunk)
    std::string_view filename;  // Code
    std::string_view build_id;  // Image: raw bytes

    // NativeFrame: `address` is the return address. Image: `address` is the load bias.
    // ImageSegment: `address` is the vaddr, `size` the memsz. ImageMap: `count` images follow.

    // ThreadStart
    uint64_t os_tid = 0;
    // Memory: time_ms, rss (and heap in aggregated captures). Trailer: time_us, allocation records.
    uint64_t time = 0;
    uint64_t rss = 0;
    uint64_t heap = 0;
    uint64_t count = 0;

    // AggregateBegin / AggregateLocation
    AggregateTotals totals;
    AggregateLocation location;
};

// Decodes records one at a time from the concatenated, decompressed stream, replaying the
// writer's delta state. Bounds-checked throughout: malformed input yields an error, never a
// read outside the buffer.
class RecordDecoder
{
  public:
    enum class Status { Ok, End, Error };

    explicit RecordDecoder(bool native_traces = false, bool aggregated = false)
    : native_(native_traces)
    , aggregated_(aggregated)
    {
    }

    // Decodes the record at [*cursor, end). On Ok advances *cursor past it. End: the buffer
    // ends exactly at *cursor. Error: malformed; error() says why.
    Status next(const uint8_t** cursor, const uint8_t* end, Record* record);

    const std::string& error() const { return error_; }
    uint64_t currentThread() const { return current_tid_; }

  private:
    Status fail(const char* what);
    bool readNewAddress(const uint8_t** p, const uint8_t* end, uint64_t* address, const char* truncated);
    bool readString(const uint8_t** p, const uint8_t* end, std::string_view* text);

    struct ThreadDeltas
    {
        uint64_t last_stack = 0;
        uint64_t last_native = 0;
    };

    bool native_;
    bool aggregated_;
    bool in_checkpoint_ = false;  // between an AggregateBegin and its AggregateEnd
    AddressHistory addresses_;
    uint64_t current_tid_ = 0;
    ThreadDeltas* current_deltas_ = nullptr;
    std::unordered_map<uint64_t, ThreadDeltas> deltas_by_thread_;
    uint64_t next_code_id_ = 1;
    uint64_t next_frame_id_ = 1;
    uint64_t next_stack_id_ = 1;
    uint64_t next_native_id_ = 1;
    bool in_image_ = false;  // an Image record has been read in the current map generation
    std::string error_;
};

}  // namespace memray::format
