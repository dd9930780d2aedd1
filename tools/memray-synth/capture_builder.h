// Writes a capture file record by record, the way the payload does: the format's encoders
// (record_codec.h) with their delta state, records cut into chunks (never split across
// chunks) and compressed by format::ChunkCompressor after format::encodeFileStart.
//
// Tests build exact hand-made captures with it, and the synthetic generator builds large ones.
#pragma once

#include "memray/format/capture_format.h"
#include "memray/format/record_codec.h"
#include "memray/format/container.h"
#include "memray/format/record_codec.h"

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace memray::synth {

class CaptureBuilder
{
  public:
    // Receives the file's bytes in order.
    using Sink = std::function<void(const void* data, size_t size)>;
    static Sink toString(std::string* out);
    static Sink toFile(std::FILE* file);

    static constexpr size_t kDefaultChunkBytes = 256 << 10;

    // Writes the header and metadata at once. `chunk_bytes` is the raw size at which a chunk
    // is cut (at most format::kMaxChunkSize).
    CaptureBuilder(const format::Metadata& metadata, Sink sink, size_t chunk_bytes = kDefaultChunkBytes);
    ~CaptureBuilder();
    CaptureBuilder(const CaptureBuilder&) = delete;
    CaptureBuilder& operator=(const CaptureBuilder&) = delete;

    // Threads. switchTo() writes a THREAD_SWITCH only when the thread changes, as the payload does.
    void threadStart(uint64_t tid, uint64_t os_tid);
    void threadName(uint64_t tid, std::string_view name);
    void threadExit(uint64_t tid);
    void switchTo(uint64_t tid);
    uint64_t currentThread() const { return current_tid_; }

    // Definitions; each returns the id the record defines.
    uint64_t code(std::string_view function, std::string_view file, uint64_t first_line);
    uint64_t frame(uint64_t code_id, uint64_t line);
    // `flags` (format::StackFlag) are written only in native captures.
    uint64_t stack(uint64_t parent_stack_id, uint64_t frame_id, uint64_t flags = 0);
    // Native captures only.
    uint64_t nativeFrame(uint64_t parent_native_id, uint64_t return_address);
    void imageMap(uint64_t image_count);
    void image(std::string_view path, uint64_t load_bias, std::string_view build_id);
    void imageSegment(uint64_t vaddr, uint64_t memsz);

    // Heap events, on the current thread (switchTo() first).
    void allocate(format::Allocator allocator, uint64_t address, uint64_t size, uint64_t stack_id, uint64_t native_stack_id = 0);
    // `size` is written for Munmap only.
    void deallocate(format::Deallocator deallocator, uint64_t address, uint64_t size = 0);

    void memory(uint64_t ms_since_start, uint64_t rss_bytes);

    // Aggregated captures (kOptionAggregated): memory records with the tracked heap, and
    // checkpoints (Begin, Locations, End).
    void aggregatedMemory(uint64_t ms_since_start, uint64_t rss_bytes, uint64_t heap_bytes);
    void aggregateBegin(const format::AggregateTotals& totals);
    void aggregateLocation(const format::AggregateLocation& location);
    void aggregateEnd();
    // The clean end: a trailer saying how many allocation records were written.
    void trailer(uint64_t us_since_start);

    // Bytes written verbatim into the record stream (to build malformed streams in tests).
    void raw(const void* data, size_t size);

    // Cuts the current chunk (if any records are pending) and hands it to the sink. Call once
    // at the end; the destructor does not, so a test can also leave records unwritten.
    void flush();

    // Called on each chunk's raw records just before compression (tests mutate them here).
    void setChunkFilter(std::function<void(uint8_t* data, size_t size)> filter) { filter_ = std::move(filter); }

    uint64_t allocationRecords() const { return allocation_records_; }
    uint64_t records() const { return records_; }
    uint64_t chunks() const { return chunks_; }

  private:
    // Room for one more record of at most `size` bytes; cuts the chunk if it would overflow.
    uint8_t* reserve(size_t size);
    void commit(uint8_t* end);

    struct ThreadDeltas
    {
        uint64_t last_stack = 0;
        uint64_t last_native = 0;
    };

    Sink sink_;
    bool native_;
    size_t chunk_bytes_;
    format::ChunkCompressor compressor_;
    std::vector<uint8_t> pending_;
    size_t pending_size_ = 0;
    std::vector<uint8_t> compressed_;
    std::function<void(uint8_t*, size_t)> filter_;

    format::AddressHistory addresses_;
    uint64_t current_tid_ = 0;
    bool switched_ = false;
    std::unordered_map<uint64_t, ThreadDeltas> deltas_;
    uint64_t next_code_ = 1;
    uint64_t next_frame_ = 1;
    uint64_t next_stack_ = 1;
    uint64_t next_native_ = 1;
    uint64_t allocation_records_ = 0;
    uint64_t records_ = 0;
    uint64_t chunks_ = 0;
};

}  // namespace memray::synth
