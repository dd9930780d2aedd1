#include "memray/format/record_codec.h"

namespace memray::format {

RecordDecoder::Status RecordDecoder::fail(const char* what)
{
    error_ = what;
    return Status::Error;
}

bool RecordDecoder::readString(const uint8_t** p, const uint8_t* end, std::string_view* text)
{
    uint64_t length;
    if (!readVarint(p, end, &length) || length > kMaxStringBytes
        || length > static_cast<uint64_t>(end - *p))
    {
        return false;
    }
    *text = std::string_view(reinterpret_cast<const char*>(*p), length);
    *p += length;
    return true;
}

// The body of a new-address record (encodeNewAddress). On failure fail() has said why:
// `truncated` if the record ends inside it. Inlined into next(), which calls it for most
// records: as a call it kept the cursor and the address in memory (6% of decoding).
[[gnu::always_inline]] inline bool RecordDecoder::readNewAddress(const uint8_t** p, const uint8_t* end, uint64_t* address, const char* truncated)
{
    uint64_t value;
    if (!readVarint(p, end, &value)) {
        fail(truncated);
        return false;
    }
    const uint64_t base = addresses_.at(static_cast<unsigned>(value >> 1) & 0x0f);
    if (!(value & 1)) {
        *address = base + (static_cast<uint64_t>(zigzagDecode(value >> 5)) << 4);
        return true;
    }
    if (value >> 5 != 0) {
        fail("malformed address delta");
        return false;
    }
    int64_t delta;
    if (!readSignedVarint(p, end, &delta)) {
        fail(truncated);
        return false;
    }
    *address = base + static_cast<uint64_t>(delta);
    return true;
}

RecordDecoder::Status RecordDecoder::next(const uint8_t** cursor, const uint8_t* end, Record* record)
{
    const uint8_t* p = *cursor;
    if (p == end) {
        return Status::End;
    }
    const uint8_t opcode = *p++;
    record->tid = current_tid_;

    // Allocation: 0x10 | allocator + new address, or 0x80 | slot << 4 | allocator.
    const bool recent_allocation = opcode >= kRecordRecentAllocationBase;
    if (recent_allocation || (opcode >= kRecordAllocationBase && opcode < kRecordAllocationBase + 0x10)) {
        const uint8_t allocator = opcode & 0x0f;
        if (allocator == 0 || allocator > kMaxAllocator) {
            return fail("unknown allocator id");
        }
        if (!current_deltas_) {
            return fail("allocation before any thread switch");
        }
        const unsigned slot = recent_allocation ? (opcode >> 4) & 0x07 : kRecentAddresses;
        uint64_t address;
        if (recent_allocation) {
            address = addresses_.at(slot);
        } else if (!readNewAddress(&p, end, &address, "truncated allocation record")) {
            return Status::Error;
        }
        int64_t stack_delta;
        uint64_t size;
        if (!readVarint(&p, end, &size) || !readSignedVarint(&p, end, &stack_delta)) {
            return fail("truncated allocation record");
        }
        uint64_t stack_id = current_deltas_->last_stack + static_cast<uint64_t>(stack_delta);
        if (stack_id >= next_stack_id_) {
            return fail("allocation refers to an undefined stack");
        }
        uint64_t native_id = 0;
        if (native_) {
            int64_t native_delta;
            if (!readSignedVarint(&p, end, &native_delta)) {
                return fail("truncated allocation record");
            }
            native_id = current_deltas_->last_native + static_cast<uint64_t>(native_delta);
            if (native_id >= next_native_id_) {
                return fail("allocation refers to an undefined native stack");
            }
            current_deltas_->last_native = native_id;
        }
        addresses_.use(address, slot);
        current_deltas_->last_stack = stack_id;
        record->kind = Record::Kind::Allocation;
        record->allocator = static_cast<Allocator>(allocator);
        record->address = address;
        record->size = size;
        record->stack_id = stack_id;
        record->native_stack_id = native_id;
        *cursor = p;
        return Status::Ok;
    }

    // Deallocation: 0x20 | deallocator + new address, or 0x40 | slot << 2 | deallocator.
    const bool recent_deallocation = opcode >= kRecordRecentDeallocationBase;
    if (recent_deallocation || (opcode >= kRecordDeallocationBase && opcode < kRecordDeallocationBase + 0x10)) {
        const uint8_t deallocator = recent_deallocation ? opcode & 0x03 : opcode & 0x0f;
        if (deallocator == 0 || deallocator > kMaxDeallocator) {
            return fail("unknown deallocator id");
        }
        const unsigned slot = recent_deallocation ? (opcode >> 2) & 0x0f : kRecentAddresses;
        uint64_t address;
        if (recent_deallocation) {
            address = addresses_.at(slot);
        } else if (!readNewAddress(&p, end, &address, "truncated deallocation record")) {
            return Status::Error;
        }
        uint64_t size = 0;
        if (static_cast<Deallocator>(deallocator) == Deallocator::Munmap && !readVarint(&p, end, &size)) {
            return fail("truncated munmap record");
        }
        addresses_.use(address, slot);
        record->kind = Record::Kind::Deallocation;
        record->deallocator = static_cast<Deallocator>(deallocator);
        record->address = address;
        record->size = size;
        *cursor = p;
        return Status::Ok;
    }

    switch (opcode) {
        case kRecordThreadSwitch: {
            uint64_t tid;
            if (!readVarint(&p, end, &tid)) {
                return fail("truncated thread switch");
            }
            current_tid_ = tid;
            current_deltas_ = &deltas_by_thread_[tid];
            record->kind = Record::Kind::ThreadSwitch;
            record->tid = tid;
            break;
        }
        case kRecordThreadStart: {
            uint64_t tid, os_tid;
            if (!readVarint(&p, end, &tid) || !readVarint(&p, end, &os_tid)) {
                return fail("truncated thread start");
            }
            record->kind = Record::Kind::ThreadStart;
            record->tid = tid;
            record->os_tid = os_tid;
            break;
        }
        case kRecordThreadName: {
            uint64_t tid;
            if (!readVarint(&p, end, &tid) || !readString(&p, end, &record->name)) {
                return fail("truncated thread name");
            }
            record->kind = Record::Kind::ThreadName;
            record->tid = tid;
            break;
        }
        case kRecordThreadExit: {
            uint64_t tid;
            if (!readVarint(&p, end, &tid)) {
                return fail("truncated thread exit");
            }
            record->kind = Record::Kind::ThreadExit;
            record->tid = tid;
            break;
        }
        case kRecordCode: {
            if (!readString(&p, end, &record->name) || !readString(&p, end, &record->filename)
                || !readVarint(&p, end, &record->line))
            {
                return fail("truncated code record");
            }
            record->kind = Record::Kind::Code;
            record->id = next_code_id_++;
            break;
        }
        case kRecordFrame: {
            if (!readVarint(&p, end, &record->code_id) || !readVarint(&p, end, &record->line)) {
                return fail("truncated frame record");
            }
            if (record->code_id == 0 || record->code_id >= next_code_id_) {
                return fail("frame refers to an undefined code object");
            }
            record->kind = Record::Kind::Frame;
            record->id = next_frame_id_++;
            break;
        }
        case kRecordStack: {
            if (!readVarint(&p, end, &record->parent_id) || !readVarint(&p, end, &record->frame_id)) {
                return fail("truncated stack record");
            }
            if (record->parent_id >= next_stack_id_ || record->frame_id == 0
                || record->frame_id >= next_frame_id_)
            {
                return fail("stack refers to an undefined stack or frame");
            }
            record->flags = 0;
            if (native_ && !readVarint(&p, end, &record->flags)) {
                return fail("truncated stack record");
            }
            record->kind = Record::Kind::Stack;
            record->id = next_stack_id_++;
            break;
        }
        case kRecordNativeFrame: {
            if (!native_) {
                return fail("native frame in a capture without native traces");
            }
            if (!readVarint(&p, end, &record->parent_id) || !readVarint(&p, end, &record->address)) {
                return fail("truncated native frame record");
            }
            if (record->parent_id >= next_native_id_) {
                return fail("native frame refers to an undefined parent");
            }
            record->kind = Record::Kind::NativeFrame;
            record->id = next_native_id_++;
            break;
        }
        case kRecordImageMap: {
            if (!native_) {
                return fail("image map in a capture without native traces");
            }
            if (!readVarint(&p, end, &record->count)) {
                return fail("truncated image map record");
            }
            in_image_ = false;
            record->kind = Record::Kind::ImageMap;
            break;
        }
        case kRecordImage: {
            if (!native_) {
                return fail("image in a capture without native traces");
            }
            if (!readString(&p, end, &record->name) || !readVarint(&p, end, &record->address)
                || !readString(&p, end, &record->build_id))
            {
                return fail("truncated image record");
            }
            in_image_ = true;
            record->kind = Record::Kind::Image;
            break;
        }
        case kRecordImageSegment: {
            if (!in_image_) {
                return fail("image segment outside an image");
            }
            if (!readVarint(&p, end, &record->address) || !readVarint(&p, end, &record->size)) {
                return fail("truncated image segment record");
            }
            record->kind = Record::Kind::ImageSegment;
            break;
        }
        case kRecordMemory: {
            if (!readVarint(&p, end, &record->time) || !readVarint(&p, end, &record->rss)) {
                return fail("truncated memory record");
            }
            record->heap = 0;
            if (aggregated_ && !readVarint(&p, end, &record->heap)) {
                return fail("truncated memory record");
            }
            record->kind = Record::Kind::Memory;
            break;
        }
        case kRecordAggregateBegin: {
            if (!aggregated_) {
                return fail("aggregate checkpoint in a capture that is not aggregated");
            }
            if (in_checkpoint_) {
                return fail("aggregate checkpoint inside another");
            }
            AggregateTotals& totals = record->totals;
            if (!readVarint(&p, end, &totals.events) || !readVarint(&p, end, &totals.peak_events)
                || !readVarint(&p, end, &totals.peak_bytes) || !readVarint(&p, end, &totals.current_bytes)
                || !readVarint(&p, end, &totals.allocations) || !readVarint(&p, end, &totals.allocated_bytes))
            {
                return fail("truncated aggregate checkpoint");
            }
            if (totals.peak_events > totals.events) {
                return fail("aggregate checkpoint peak after its last event");
            }
            in_checkpoint_ = true;
            record->kind = Record::Kind::AggregateBegin;
            break;
        }
        case kRecordAggregateLocation: {
            if (!in_checkpoint_) {
                return fail("aggregate location outside a checkpoint");
            }
            AggregateLocation& location = record->location;
            uint64_t allocator;
            if (!readVarint(&p, end, &location.tid) || !readVarint(&p, end, &location.stack_id)
                || !readVarint(&p, end, &location.native_stack_id) || !readVarint(&p, end, &allocator)
                || !readVarint(&p, end, &location.last_change_event) || !readVarint(&p, end, &location.live_bytes)
                || !readVarint(&p, end, &location.live_count) || !readVarint(&p, end, &location.peak_bytes)
                || !readVarint(&p, end, &location.peak_count))
            {
                return fail("truncated aggregate location");
            }
            if (allocator == 0 || allocator > kMaxAllocator) {
                return fail("unknown allocator id");
            }
            if (location.stack_id >= next_stack_id_ || location.native_stack_id >= next_native_id_) {
                return fail("aggregate location refers to an undefined stack");
            }
            location.allocator = static_cast<Allocator>(allocator);
            record->kind = Record::Kind::AggregateLocation;
            break;
        }
        case kRecordAggregateEnd: {
            if (!in_checkpoint_) {
                return fail("aggregate checkpoint end without its start");
            }
            in_checkpoint_ = false;
            record->kind = Record::Kind::AggregateEnd;
            break;
        }
        case kRecordTrailer: {
            if (!readVarint(&p, end, &record->time) || !readVarint(&p, end, &record->count)) {
                return fail("truncated trailer");
            }
            record->kind = Record::Kind::Trailer;
            break;
        }
        default:
            return fail("unknown record type");
    }
    *cursor = p;
    return Status::Ok;
}

}  // namespace memray::format
