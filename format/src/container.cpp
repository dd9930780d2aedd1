#include "memray/format/container.h"

#include "memray/format/varint.h"

#include <lz4.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sys/stat.h>

namespace memray::format {

namespace {

uint32_t checksum(const uint8_t* data, size_t size)
{
    return static_cast<uint32_t>(crc32(0L, data, static_cast<uInt>(size)));
}

void appendVarint(std::string* out, uint64_t value)
{
    uint8_t buffer[kMaxVarintBytes];
    uint8_t* end = writeVarint(buffer, value);
    out->append(reinterpret_cast<char*>(buffer), end - buffer);
}

void appendField(std::string* out, MetadataKey key, std::string_view value)
{
    appendVarint(out, static_cast<uint64_t>(key));
    appendVarint(out, value.size());
    out->append(value);
}

void appendField(std::string* out, MetadataKey key, uint64_t value)
{
    uint8_t buffer[kMaxVarintBytes];
    uint8_t* end = writeVarint(buffer, value);
    appendField(out, key, std::string_view(reinterpret_cast<char*>(buffer), end - buffer));
}

// Keeps `dictionary` (capacity kLz4DictionarySize, filled from the end) equal to the last
// kLz4DictionarySize bytes of the stream after appending [data, data+size). The writer and the
// reader both call this, which is what keeps their LZ4 dictionaries identical.
void slideDictionary(uint8_t* dictionary_end, size_t* dictionary_size, const uint8_t* data, size_t size)
{
    if (size >= kLz4DictionarySize) {
        std::memcpy(dictionary_end - kLz4DictionarySize, data + size - kLz4DictionarySize, kLz4DictionarySize);
        *dictionary_size = kLz4DictionarySize;
        return;
    }
    size_t keep = std::min(*dictionary_size, kLz4DictionarySize - size);
    std::memmove(dictionary_end - keep - size, dictionary_end - keep, keep);
    std::memcpy(dictionary_end - size, data, size);
    *dictionary_size = keep + size;
}

}  // namespace

std::string encodeFileStart(const Metadata& metadata)
{
    std::string fields;
    appendField(&fields, MetadataKey::Pid, metadata.pid);
    if (metadata.parent_pid) {
        appendField(&fields, MetadataKey::ParentPid, metadata.parent_pid);
    }
    appendField(&fields, MetadataKey::PythonVersion, metadata.python_version);
    appendField(&fields, MetadataKey::CommandLine, metadata.command_line);
    appendField(&fields, MetadataKey::StartTimeUs, metadata.start_time_us);
    appendField(&fields, MetadataKey::Options, metadata.options);
    appendField(&fields, MetadataKey::MainThreadId, metadata.main_thread_id);
    appendField(&fields, MetadataKey::RssIntervalMs, metadata.rss_interval_ms);
    appendField(&fields, MetadataKey::Executable, metadata.executable);
    appendField(&fields, MetadataKey::PayloadVersion, metadata.payload_version);
    appendField(&fields, MetadataKey::PythonAllocator, metadata.python_allocator);

    FileHeader header{};
    std::memcpy(header.magic, kMagic, sizeof(kMagic));
    header.format_version = kFormatVersion;
    header.metadata_size = static_cast<uint32_t>(fields.size());
    std::string out(reinterpret_cast<const char*>(&header), sizeof(header));
    return out + fields;
}

bool decodeMetadata(const uint8_t* data, size_t size, Metadata* out)
{
    const uint8_t* p = data;
    const uint8_t* end = data + size;
    while (p != end) {
        uint64_t key, length;
        if (!readVarint(&p, end, &key) || !readVarint(&p, end, &length)
            || length > static_cast<uint64_t>(end - p))
        {
            return false;
        }
        std::string_view text(reinterpret_cast<const char*>(p), length);
        const uint8_t* value_end = p + length;
        uint64_t number = 0;
        bool is_number = readVarint(&p, value_end, &number) && p == value_end;
        p = value_end;
        switch (static_cast<MetadataKey>(key)) {
            case MetadataKey::Pid: if (!is_number) return false; out->pid = number; break;
            case MetadataKey::ParentPid: if (!is_number) return false; out->parent_pid = number; break;
            case MetadataKey::StartTimeUs: if (!is_number) return false; out->start_time_us = number; break;
            case MetadataKey::Options: if (!is_number) return false; out->options = number; break;
            case MetadataKey::MainThreadId: if (!is_number) return false; out->main_thread_id = number; break;
            case MetadataKey::RssIntervalMs: if (!is_number) return false; out->rss_interval_ms = number; break;
            case MetadataKey::PythonVersion: out->python_version = text; break;
            case MetadataKey::CommandLine: out->command_line = text; break;
            case MetadataKey::Executable: out->executable = text; break;
            case MetadataKey::PayloadVersion: out->payload_version = text; break;
            case MetadataKey::PythonAllocator: out->python_allocator = text; break;
            default: break;  // a field from a newer writer: skip it
        }
    }
    return true;
}

// ---------------------------------------------------------------------------------------------

struct ChunkCompressor::State
{
    LZ4_stream_t stream;
    uint8_t dictionary[kLz4DictionarySize];
    size_t dictionary_size = 0;
};

ChunkCompressor::ChunkCompressor()
: state_(std::make_unique<State>())
{
}

ChunkCompressor::~ChunkCompressor() = default;

size_t ChunkCompressor::maxChunkBytes(size_t raw_size)
{
    return sizeof(ChunkHeader) + std::max<size_t>(raw_size, LZ4_compressBound(static_cast<int>(raw_size)));
}

size_t ChunkCompressor::compress(const uint8_t* data, size_t size, uint8_t* out)
{
    ChunkHeader header{};
    uint8_t* block = out + sizeof(ChunkHeader);
    LZ4_initStream(&state_->stream, sizeof(state_->stream));
    LZ4_loadDict(
            &state_->stream,
            reinterpret_cast<const char*>(state_->dictionary + kLz4DictionarySize - state_->dictionary_size),
            static_cast<int>(state_->dictionary_size));
    int compressed = LZ4_compress_fast_continue(
            &state_->stream,
            reinterpret_cast<const char*>(data),
            reinterpret_cast<char*>(block),
            static_cast<int>(size),
            LZ4_compressBound(static_cast<int>(size)),
            1);
    if (compressed > 0 && static_cast<size_t>(compressed) < size) {
        header.raw_size = static_cast<uint32_t>(size);
        header.stored_size = static_cast<uint32_t>(compressed);
    } else {
        // Incompressible (or a compressor failure): store the bytes as they are.
        std::memcpy(block, data, size);
        header.raw_size = static_cast<uint32_t>(size) | kChunkStoredFlag;
        header.stored_size = static_cast<uint32_t>(size);
    }
    header.checksum = checksum(block, header.stored_size);
    std::memcpy(out, &header, sizeof(header));
    slideDictionary(state_->dictionary + kLz4DictionarySize, &state_->dictionary_size, data, size);
    return sizeof(ChunkHeader) + header.stored_size;
}

// ---------------------------------------------------------------------------------------------

ChunkReader::ChunkReader() = default;

ChunkReader::~ChunkReader()
{
    if (file_) {
        std::fclose(file_);
    }
}

bool ChunkReader::fail(std::string message)
{
    error_ = std::move(message);
    return false;
}

bool ChunkReader::readExactly(void* buffer, size_t size, size_t* got)
{
    *got = file_ ? std::fread(buffer, 1, size, file_) : readFromStream(buffer, size);
    position_ += *got;
    return *got == size;
}

// Like fread: as many bytes as the stream gives before it ends. A read error ends it too, kept
// for the caller to say why (a capture cut short by a lost connection is still readable up to
// there).
size_t ChunkReader::readFromStream(void* buffer, size_t size)
{
    size_t got = 0;
    while (got < size && stream_error_.empty()) {
        try {
            const size_t n = stream_->read(static_cast<uint8_t*>(buffer) + got, size - got);
            if (n == 0) {
                break;
            }
            got += n;
        } catch (const std::exception& error) {
            stream_error_ = error.what();
            if (stream_error_.empty()) {
                stream_error_ = "read error";
            }
        }
    }
    return got;
}

bool ChunkReader::open(const std::string& path)
{
    name_ = path;
    struct stat info;
    if (::stat(path.c_str(), &info) != 0) {
        return fail(errno == ENOENT ? "no such file: " + path : path + ": " + std::strerror(errno));
    }
    if (S_ISDIR(info.st_mode)) {
        return fail(path + " is a directory, not a capture file");
    }
    file_ = std::fopen(path.c_str(), "rb");
    if (!file_) {
        return fail(path + ": " + std::strerror(errno));
    }
    file_size_ = static_cast<uint64_t>(info.st_size);
    return readHeader(path);
}

bool ChunkReader::open(std::unique_ptr<ByteStream> stream)
{
    stream_ = std::move(stream);
    name_ = stream_->name();
    return readHeader(name_);
}

bool ChunkReader::readHeader(const std::string& name)
{
    FileHeader header;
    size_t got;
    if (!readExactly(&header, sizeof(header), &got)) {
        if (stream_ && !stream_error_.empty()) {
            return fail(name + ": " + stream_error_);
        }
        if (stream_ && std::memcmp(header.magic, kMagic, std::min(got, sizeof(kMagic))) == 0) {
            return fail(got == 0 ? name + " ended before a capture began" : name + " is truncated: its header is incomplete");
        }
        return fail(name + " is not a memray capture file");
    }
    if (std::memcmp(header.magic, kMagic, sizeof(kMagic)) != 0) {
        return fail(name + " is not a memray capture file");
    }
    if (header.format_version != kFormatVersion) {
        return fail(
                name + " was written in capture format version " + std::to_string(header.format_version)
                + ", but this memray reads version " + std::to_string(kFormatVersion));
    }
    // A stream has no size to check against: the metadata (a few short fields) is held to the
    // bound of one chunk, so a hostile stream cannot make the reader allocate gigabytes.
    const uint64_t room = stream_ ? kMaxChunkSize : file_size_ - sizeof(header);
    if (header.metadata_size > room) {
        return fail(stream_ ? name + " is corrupted: its metadata size is implausible"
                            : name + " is truncated: its header is incomplete");
    }
    std::vector<uint8_t> fields(header.metadata_size);
    if (!readExactly(fields.data(), fields.size(), &got)) {
        return fail(name + " is truncated: its header is incomplete");
    }
    if (!decodeMetadata(fields.data(), fields.size(), &metadata_)) {
        return fail(name + " is corrupted: its metadata cannot be decoded");
    }
    output_.reset(new uint8_t[kLz4DictionarySize + kMaxChunkSize]);
    return true;
}

ChunkReader::Status ChunkReader::next()
{
    if (!output_) {
        return Status::End;  // never opened
    }
    chunk_offset_ = position_;
    ChunkHeader header;
    size_t got;
    if (!readExactly(&header, sizeof(header), &got)) {
        return got == 0 ? Status::End : Status::Truncated;
    }
    const bool stored = header.raw_size & kChunkStoredFlag;
    const uint32_t raw_size = header.raw_size & ~kChunkStoredFlag;
    if (raw_size == 0 || raw_size > kMaxChunkSize || header.stored_size == 0
        || header.stored_size > ChunkCompressor::maxChunkBytes(raw_size) || (stored && header.stored_size != raw_size))
    {
        // An all-zero header is what a killed writer's preallocated tail would look like; the
        // writer never preallocates, so any bad size is corruption.
        fail("corrupted chunk header at offset " + std::to_string(chunk_offset_));
        return Status::Error;
    }
    if (file_ && header.stored_size > file_size_ - position_) {
        return Status::Truncated;
    }
    stored_.resize(header.stored_size);
    if (!readExactly(stored_.data(), header.stored_size, &got)) {
        return Status::Truncated;
    }
    if (checksum(stored_.data(), header.stored_size) != header.checksum) {
        fail("corrupted chunk at offset " + std::to_string(chunk_offset_) + " (checksum mismatch)");
        return Status::Error;
    }
    uint8_t* out = output_.get() + kLz4DictionarySize;
    if (stored) {
        std::memcpy(out, stored_.data(), raw_size);
    } else {
        int decoded = LZ4_decompress_safe_usingDict(
                reinterpret_cast<const char*>(stored_.data()),
                reinterpret_cast<char*>(out),
                static_cast<int>(header.stored_size),
                static_cast<int>(raw_size),
                reinterpret_cast<const char*>(out - dictionary_size_),
                static_cast<int>(dictionary_size_));
        if (decoded != static_cast<int>(raw_size)) {
            fail("corrupted chunk at offset " + std::to_string(chunk_offset_) + " (LZ4 block does not decode)");
            return Status::Error;
        }
    }
    output_size_ = raw_size;
    // Slide this chunk's tail into the dictionary area below `out`, ready for the next chunk;
    // data() does not cover that area, so the records just decoded stay intact.
    slideDictionary(out, &dictionary_size_, out, raw_size);
    return Status::Chunk;
}

}  // namespace memray::format
