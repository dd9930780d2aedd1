// The capture file's container: header, metadata, and the chunked LZ4 stream.
//
// ChunkCompressor turns a buffer of records into one chunk (header + block), keeping the LZ4
// dictionary that links consecutive chunks. ChunkReader does the reverse from a file or a
// ByteStream (a capture still being written), reading one chunk at a time so a reader's memory
// never grows with the capture's size.
#pragma once

#include "memray/format/byte_stream.h"
#include "memray/format/capture_format.h"

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace memray::format {

// The decoded metadata fields. Absent fields keep these defaults.
struct Metadata
{
    uint64_t pid = 0;
    uint64_t parent_pid = 0;
    std::string python_version;
    std::string command_line;
    uint64_t start_time_us = 0;
    uint64_t options = 0;
    uint64_t main_thread_id = 0;
    uint64_t rss_interval_ms = 0;
    std::string executable;
    std::string payload_version;
    std::string python_allocator;

    bool has(CaptureOption option) const { return (options & option) != 0; }
};

// The file header and metadata, ready to write at the start of a capture.
std::string encodeFileStart(const Metadata& metadata);

// Compresses record buffers into chunks. Not thread-safe: one writer thread owns it.
class ChunkCompressor
{
  public:
    ChunkCompressor();
    ~ChunkCompressor();
    ChunkCompressor(const ChunkCompressor&) = delete;
    ChunkCompressor& operator=(const ChunkCompressor&) = delete;

    // Largest output of compress() for `raw_size` input bytes.
    static size_t maxChunkBytes(size_t raw_size);

    // Writes ChunkHeader + block for [data, data+size) into `out` (at least maxChunkBytes(size)
    // bytes) and returns the bytes written. `size` must be in (0, kMaxChunkSize].
    size_t compress(const uint8_t* data, size_t size, uint8_t* out);

  private:
    struct State;
    std::unique_ptr<State> state_;
};

// Reads a capture: header, metadata, then decompressed chunks one at a time.
class ChunkReader
{
  public:
    ChunkReader();
    ~ChunkReader();
    ChunkReader(const ChunkReader&) = delete;
    ChunkReader& operator=(const ChunkReader&) = delete;

    // Opens `path` and reads the header and metadata. False with error() set if the file cannot
    // be read or is not a capture of a supported format version.
    bool open(const std::string& path);
    // Reads from `stream` instead, named by stream->name() in messages. A stream has no size
    // to check chunks against: only the format's bounds apply, and a stream that ends inside
    // the header or a chunk is truncated. read() blocks the caller until bytes come.
    bool open(std::unique_ptr<ByteStream> stream);

    const Metadata& metadata() const { return metadata_; }
    // The path, or the stream's name().
    const std::string& name() const { return name_; }

    enum class Status {
        Chunk,      // data() / size() hold the next chunk's records
        End,        // the file ended at a chunk boundary
        Truncated,  // the file ends inside a chunk (the tracked process was killed mid-write)
                    // (a stream's read error ends it too: streamError() says what)
        Error,      // corruption: error() says what
    };
    Status next();

    const uint8_t* data() const { return output_.get() + kLz4DictionarySize; }
    size_t size() const { return output_size_; }
    const std::string& error() const { return error_; }
    // Offset in the file of the chunk most recently returned (for error messages).
    uint64_t chunkOffset() const { return chunk_offset_; }
    uint64_t fileSize() const { return file_size_; }  // 0 for a stream
    // Bytes of the file or stream consumed so far.
    uint64_t position() const { return position_; }
    // What the stream's read() threw, if it did (the stream then counts as ended); else "".
    const std::string& streamError() const { return stream_error_; }

  private:
    bool fail(std::string message);
    bool readHeader(const std::string& name);
    bool readExactly(void* buffer, size_t size, size_t* got);
    size_t readFromStream(void* buffer, size_t size);

    // One of the two is set: a file is read with fread (the fast path every report takes).
    std::FILE* file_ = nullptr;
    std::unique_ptr<ByteStream> stream_;
    std::string name_;
    std::string stream_error_;
    Metadata metadata_;
    std::string error_;
    uint64_t file_size_ = 0;
    uint64_t position_ = 0;
    uint64_t chunk_offset_ = 0;
    // [dictionary: the last kLz4DictionarySize bytes of earlier output][this chunk's output]
    // Not a zero-filled vector: only the pages chunks actually reach get touched, so opening
    // a small capture does not cost 8 MiB of zeroing and page faults.
    std::unique_ptr<uint8_t[]> output_;
    size_t dictionary_size_ = 0;
    size_t output_size_ = 0;
    std::vector<uint8_t> stored_;
};

// Decodes metadata fields from [data, data+size). False on malformed input.
bool decodeMetadata(const uint8_t* data, size_t size, Metadata* out);

}  // namespace memray::format
