#include "capture_builder.h"

#include "memray/format/record_codec.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace memray::synth {

CaptureBuilder::Sink CaptureBuilder::toString(std::string* out)
{
    return [out](const void* data, size_t size) { out->append(static_cast<const char*>(data), size); };
}

CaptureBuilder::Sink CaptureBuilder::toFile(std::FILE* file)
{
    return [file](const void* data, size_t size) {
        if (std::fwrite(data, 1, size, file) != size) {
            throw std::runtime_error("cannot write the capture");
        }
    };
}

CaptureBuilder::CaptureBuilder(const format::Metadata& metadata, Sink sink, size_t chunk_bytes)
: sink_(std::move(sink))
, native_(metadata.has(format::kOptionNativeTraces))
, chunk_bytes_(std::clamp<size_t>(chunk_bytes, 64, format::kMaxChunkSize))
, pending_(chunk_bytes_)
, compressed_(format::ChunkCompressor::maxChunkBytes(chunk_bytes_))
{
    const std::string start = format::encodeFileStart(metadata);
    sink_(start.data(), start.size());
}

CaptureBuilder::~CaptureBuilder() = default;

uint8_t* CaptureBuilder::reserve(size_t size)
{
    if (size > chunk_bytes_) {
        throw std::invalid_argument("record larger than a chunk");
    }
    if (pending_size_ + size > chunk_bytes_) {
        flush();
    }
    return pending_.data() + pending_size_;
}

void CaptureBuilder::commit(uint8_t* end)
{
    pending_size_ = static_cast<size_t>(end - pending_.data());
    ++records_;
}

void CaptureBuilder::flush()
{
    if (pending_size_ == 0) {
        return;
    }
    if (filter_) {
        filter_(pending_.data(), pending_size_);
    }
    const size_t written = compressor_.compress(pending_.data(), pending_size_, compressed_.data());
    sink_(compressed_.data(), written);
    pending_size_ = 0;
    ++chunks_;
}

void CaptureBuilder::threadStart(uint64_t tid, uint64_t os_tid)
{
    commit(format::encodeThreadStart(reserve(format::kMaxFixedRecordBytes), tid, os_tid));
}

void CaptureBuilder::threadName(uint64_t tid, std::string_view name)
{
    name = name.substr(0, format::kMaxStringBytes);
    commit(format::encodeThreadName(reserve(format::kMaxFixedRecordBytes + name.size()), tid, name));
}

void CaptureBuilder::threadExit(uint64_t tid)
{
    commit(format::encodeThreadExit(reserve(format::kMaxFixedRecordBytes), tid));
}

void CaptureBuilder::switchTo(uint64_t tid)
{
    if (switched_ && tid == current_tid_) {
        return;
    }
    commit(format::encodeThreadSwitch(reserve(format::kMaxFixedRecordBytes), tid));
    current_tid_ = tid;
    switched_ = true;
}

uint64_t CaptureBuilder::code(std::string_view function, std::string_view file, uint64_t first_line)
{
    function = function.substr(0, format::kMaxStringBytes);
    file = file.substr(0, format::kMaxStringBytes);
    const size_t size = format::kMaxFixedRecordBytes + function.size() + file.size();
    commit(format::encodeCode(reserve(size), function, file, first_line));
    return next_code_++;
}

uint64_t CaptureBuilder::frame(uint64_t code_id, uint64_t line)
{
    commit(format::encodeFrame(reserve(format::kMaxFixedRecordBytes), code_id, line));
    return next_frame_++;
}

uint64_t CaptureBuilder::stack(uint64_t parent_stack_id, uint64_t frame_id, uint64_t flags)
{
    commit(format::encodeStack(reserve(format::kMaxFixedRecordBytes), parent_stack_id, frame_id, native_, flags));
    return next_stack_++;
}

uint64_t CaptureBuilder::nativeFrame(uint64_t parent_native_id, uint64_t return_address)
{
    commit(format::encodeNativeFrame(reserve(format::kMaxFixedRecordBytes), parent_native_id, return_address));
    return next_native_++;
}

void CaptureBuilder::imageMap(uint64_t image_count)
{
    commit(format::encodeImageMap(reserve(format::kMaxFixedRecordBytes), image_count));
}

void CaptureBuilder::image(std::string_view path, uint64_t load_bias, std::string_view build_id)
{
    path = path.substr(0, format::kMaxStringBytes);
    build_id = build_id.substr(0, format::kMaxStringBytes);
    commit(format::encodeImage(reserve(format::kMaxFixedRecordBytes + path.size() + build_id.size()), path, load_bias,
                               build_id));
}

void CaptureBuilder::imageSegment(uint64_t vaddr, uint64_t memsz)
{
    commit(format::encodeImageSegment(reserve(format::kMaxFixedRecordBytes), vaddr, memsz));
}

void CaptureBuilder::allocate(format::Allocator allocator, uint64_t address, uint64_t size, uint64_t stack_id, uint64_t native_stack_id)
{
    if (!switched_) {
        throw std::logic_error("allocation before any switchTo()");
    }
    ThreadDeltas& deltas = deltas_[current_tid_];
    commit(format::encodeAllocation(
            reserve(format::kMaxFixedRecordBytes),
            allocator,
            address,
            size,
            stack_id,
            &addresses_,
            &deltas.last_stack,
            native_,
            native_stack_id,
            &deltas.last_native));
    ++allocation_records_;
}

void CaptureBuilder::deallocate(format::Deallocator deallocator, uint64_t address, uint64_t size)
{
    commit(format::encodeDeallocation(reserve(format::kMaxFixedRecordBytes), deallocator, address, size, &addresses_));
}

void CaptureBuilder::memory(uint64_t ms_since_start, uint64_t rss_bytes)
{
    commit(format::encodeMemory(reserve(format::kMaxFixedRecordBytes), ms_since_start, rss_bytes));
}

void CaptureBuilder::aggregatedMemory(uint64_t ms_since_start, uint64_t rss_bytes, uint64_t heap_bytes)
{
    commit(format::encodeAggregatedMemory(reserve(format::kMaxFixedRecordBytes), ms_since_start, rss_bytes, heap_bytes));
}

void CaptureBuilder::aggregateBegin(const format::AggregateTotals& totals)
{
    commit(format::encodeAggregateBegin(reserve(format::kMaxAggregateLocationBytes), totals));
}

void CaptureBuilder::aggregateLocation(const format::AggregateLocation& location)
{
    commit(format::encodeAggregateLocation(reserve(format::kMaxAggregateLocationBytes), location));
}

void CaptureBuilder::aggregateEnd()
{
    commit(format::encodeAggregateEnd(reserve(1)));
}

void CaptureBuilder::trailer(uint64_t us_since_start)
{
    commit(format::encodeTrailer(reserve(format::kMaxFixedRecordBytes), us_since_start, allocation_records_));
}

void CaptureBuilder::raw(const void* data, size_t size)
{
    uint8_t* out = reserve(size);
    std::memcpy(out, data, size);
    commit(out + size);
}

}  // namespace memray::synth
