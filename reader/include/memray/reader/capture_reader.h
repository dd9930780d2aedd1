// Reads a capture file as a stream of records, keeping the tables the records define.
//
// Every analysis reads through this class: it opens the file (format::ChunkReader), decodes
// one record at a time (format::RecordDecoder) and, before handing a record out, applies it to
// the tables of code objects, frames, stacks, threads and memory samples, so a caller can
// resolve a stack id the moment an allocation names it. Only those tables are kept, never the
// records, so memory grows with the number of distinct stacks, not with the capture's length.
//
//     CaptureReader reader(path);          // throws CaptureError: missing, not a capture, ...
//     Record record;
//     while (reader.next(record)) { ... }
//     reader.throwIfCorrupt();             // or look at endState()
//
// How a read ends: Complete (the writer's trailer was read), EndedAbruptly (the file stops
// mid-chunk or without a trailer: the tracked process was killed; everything before is
// valid), or Corrupt (error() says what and at which file offset).
#pragma once

#include "memray/format/capture_format.h"
#include "memray/format/container.h"
#include "memray/format/record_codec.h"
#include "memray/reader/read_progress.h"

#include <cstdint>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace memray::reader {

using Record = format::Record;
using RecordKind = format::Record::Kind;

// A capture that cannot be read (or is corrupted). what() is one line, naming the file.
class CaptureError : public std::runtime_error
{
  public:
    using std::runtime_error::runtime_error;
};

// An analysis that needs every allocation record, asked of an aggregated capture that has none.
class AggregatedCaptureError : public CaptureError
{
  public:
    using CaptureError::CaptureError;
};

struct CodeObject
{
    std::string function;
    std::string file;
    uint64_t first_line = 0;
};

struct FrameEntry
{
    uint64_t code_id = 0;
    uint64_t line = 0;
};

struct StackEntry
{
    uint64_t parent_id = 0;  // 0: this is an outermost frame
    uint64_t frame_id = 0;
    // Native captures: the frame was entered from C (format::kStackFlagEntry), so it starts
    // the run of Python frames one interpreter evaluation call executes.
    bool entry = false;
};

// One node of the native frame trie (native captures).
struct NativeFrameEntry
{
    uint64_t parent_id = 0;   // 0: this is an outermost frame
    uint64_t address = 0;     // return address in the tracked process
    uint32_t generation = 0;  // the image map generation in force when the node was defined
};

struct ImageSegment
{
    uint64_t vaddr = 0;
    uint64_t memsz = 0;
};

// A loaded object of the tracked process, in the image map generations [first, last] of the
// capture (an object that stays loaded is kept once, however many generations list it).
struct LoadedImage
{
    std::string path;
    std::string build_id;  // raw bytes
    uint64_t load_bias = 0;
    std::vector<ImageSegment> segments;
    uint32_t first_generation = 0;
    uint32_t last_generation = 0;

    bool contains(uint64_t address) const
    {
        for (const ImageSegment& segment : segments) {
            if (address - load_bias - segment.vaddr < segment.memsz) {
                return true;
            }
        }
        return false;
    }
};

// One resolved Python frame. The views point into the reader's code table and stay valid for
// the reader's lifetime.
struct PythonFrame
{
    std::string_view function;
    std::string_view file;
    uint64_t line = 0;
};

struct ThreadNameChange
{
    uint64_t from_record = 0;  // recordsRead() before the THREAD_NAME record: applies after it
    std::string name;
};

struct ThreadInfo
{
    uint64_t tid = 0;     // the capture's thread id (small, never reused)
    uint64_t os_tid = 0;  // gettid(); 0 if the capture never said
    std::vector<ThreadNameChange> names;  // in capture order
    bool exited = false;

    // The latest name ("" if never named), or the name in force at a record index.
    std::string_view name() const { return names.empty() ? std::string_view() : names.back().name; }
    std::string_view nameAt(uint64_t record_index) const;
};

struct MemorySample
{
    uint64_t time_ms = 0;  // since the capture started
    uint64_t rss = 0;      // bytes
    uint64_t heap = 0;     // aggregated captures: the tracked heap the payload counted (else 0)
};

enum class EndState {
    Reading,        // next() has not returned false yet
    Complete,       // the trailer was read: the capture was closed cleanly
    EndedAbruptly,  // no trailer, or the file ends inside a chunk; still readable up to there
    Corrupt,        // error() says what is wrong and where
};

class CaptureReader
{
  public:
    // Opens `path` and reads its header and metadata. Throws CaptureError when the file is
    // missing, unreadable, not a regular file, not a capture, of another format version, or
    // its header is truncated or corrupted.
    explicit CaptureReader(const std::string& path);
    // Reads a capture as `stream` delivers it (a live view's followed file or socket), named
    // by stream->name(). Blocks until the header has arrived; throws CaptureError as above
    // (and when the stream ends first). Later, next() blocks while the stream waits for bytes;
    // the stream ending at a chunk boundary without a trailer is EndedAbruptly.
    explicit CaptureReader(std::unique_ptr<format::ByteStream> stream);
    ~CaptureReader();
    CaptureReader(const CaptureReader&) = delete;
    CaptureReader& operator=(const CaptureReader&) = delete;

    const std::string& path() const { return path_; }
    const format::Metadata& metadata() const { return chunks_->metadata(); }
    bool nativeTraces() const { return metadata().has(format::kOptionNativeTraces); }
    // --aggregate: checkpoints of per-location figures instead of allocation records (unless
    // also hasAggregateRecords()). See docs/capture-format.md "Aggregated captures".
    bool isAggregated() const { return metadata().has(format::kOptionAggregated); }
    // An aggregated capture that also has every allocation record (MEMRAY_AGGREGATE_VERIFY=1).
    bool hasAggregateRecords() const
    {
        return isAggregated() && metadata().has(format::kOptionAggregateWithRecords);
    }
    // False for an aggregated capture written without them.
    bool hasAllocationRecords() const { return !isAggregated() || hasAggregateRecords(); }
    // Throws AggregatedCaptureError unless hasAllocationRecords(): "<path> was captured with
    // --aggregate, which keeps only what peak and leaks reports need; <what> needs every
    // allocation". `what` names the analysis ("stats", "a temporary allocations report").
    void requireAllocationRecords(std::string_view what) const;

    // The next record, after applying it to the tables. False once the stream has ended:
    // then endState() says how. Views in `record` (names) are valid until the next call.
    bool next(Record& record)
    {
        for (;;) {
            const auto status = decoder_.next(&cursor_, end_, &record);
            if (status == format::RecordDecoder::Status::Ok) [[likely]] {
                ++records_;
                if (record.kind < RecordKind::Allocation) {
                    define(record);
                } else if (record.kind == RecordKind::Allocation) {
                    ++allocation_records_;
                }
                return true;
            }
            if (status == format::RecordDecoder::Status::Error) {
                failRecord();
                return false;
            }
            if (!loadNextChunk()) {  // End of this chunk: on to the next one, if any
                return false;
            }
        }
    }

    // Up to `capacity` next records into `records` (all from one chunk, so their views stay
    // valid until the next call); 0 once the stream has ended. Analyses that prefetch their
    // tables for a whole batch before applying it run markedly faster on large captures.
    size_t nextBatch(Record* records, size_t capacity)
    {
        size_t count = 0;
        if (capacity == 0 || !next(records[count])) {
            return 0;
        }
        ++count;
        // Stop at the chunk's end: the next record would load a new chunk, invalidating the
        // names viewed by the records already in the batch.
        while (count < capacity && cursor_ != end_ && next(records[count])) {
            ++count;
        }
        return count;
    }

    // Reads (and applies) every remaining record: for callers that want only the tables.
    void skipToEnd();

    EndState endState() const { return state_; }
    bool endedAbruptly() const { return state_ == EndState::EndedAbruptly; }
    // For Corrupt: one line naming the file, what is wrong and the file offset of the chunk.
    const std::string& error() const { return error_; }
    // Throws CaptureError(error()) if the read ended in corruption.
    void throwIfCorrupt() const;
    // A stream's read error that ended the read early ("" if none): an EndedAbruptly's cause.
    const std::string& streamError() const { return chunks_->streamError(); }

    uint64_t recordsRead() const { return records_; }
    uint64_t allocationRecordsRead() const { return allocation_records_; }
    // What the trailer claims: allocation records written, and microseconds since the start.
    std::optional<uint64_t> trailerAllocationCount() const { return trailer_allocations_; }

    // How long the capture ran: the trailer's time, else the last memory sample's (a killed
    // process writes no trailer), else nothing. And that as microseconds since the epoch.
    std::optional<uint64_t> durationUs() const;
    std::optional<uint64_t> endTimeUs() const;

    // ---- tables (ids are those the records define; 0 is never a valid id) ----
    size_t codeCount() const { return codes_.size() - 1; }
    size_t frameCount() const { return frames_.size() - 1; }
    size_t stackCount() const { return stacks_.size() - 1; }
    // nullptr for an id the capture has not defined (so far).
    const CodeObject* code(uint64_t id) const { return id && id < codes_.size() ? &codes_[id] : nullptr; }
    const FrameEntry* frame(uint64_t id) const { return id && id < frames_.size() ? &frames_[id] : nullptr; }
    const StackEntry* stack(uint64_t id) const { return id && id < stacks_.size() ? &stacks_[id] : nullptr; }

    // The innermost frame of a stack (0 for stack 0, the empty stack, or an unknown id).
    uint64_t innermostFrameId(uint64_t stack_id) const
    {
        return stack_id < stacks_.size() ? stacks_[stack_id].frame_id : 0;
    }
    PythonFrame pythonFrame(uint64_t frame_id) const;

    // The Python frames of a stack, innermost first. Empty for stack 0 or an unknown id.
    std::vector<PythonFrame> stackFrames(uint64_t stack_id) const;
    // The same without building a vector: f(const PythonFrame&) innermost first.
    template <typename F>
    void forEachFrame(uint64_t stack_id, F&& f) const
    {
        // Parents always have smaller ids than their children (the decoder checks), so this
        // walk ends even on a hostile file.
        while (stack_id && stack_id < stacks_.size()) {
            f(pythonFrame(stacks_[stack_id].frame_id));
            stack_id = stacks_[stack_id].parent_id;
        }
    }

    // Threads seen so far, by capture thread id.
    const std::map<uint64_t, ThreadInfo>& threads() const { return threads_; }
    const ThreadInfo* thread(uint64_t tid) const;
    // The thread whose OS thread id is the process id, else the one the metadata names; 0 if
    // neither is known.
    uint64_t mainThreadId() const;

    const std::vector<MemorySample>& memorySamples() const { return memory_samples_; }

    // ---- native captures ----
    size_t nativeFrameCount() const { return native_frames_.size() - 1; }
    const NativeFrameEntry* nativeFrame(uint64_t id) const
    {
        return id && id < native_frames_.size() ? &native_frames_[id] : nullptr;
    }
    // A deque: a symbolizer keeps pointers to images while a live reader defines more.
    const std::deque<LoadedImage>& images() const { return images_; }
    // The object `address` belonged to when a node of image map `generation` was defined:
    // preferably one listed in that generation, else the nearest generation that lists one
    // (an object loaded just before its first allocation may be listed a moment later).
    // nullptr if no generation maps the address.
    const LoadedImage* imageAt(uint64_t address, uint32_t generation) const;

  private:
    explicit CaptureReader(std::unique_ptr<format::ChunkReader> chunks);
    bool loadNextChunk();
    void reportProgress();
    void stopReporting();
    void failRecord();
    void define(const Record& record);
    void defineImage(const Record& record);
    ThreadInfo& threadEntry(uint64_t tid);

    std::string path_;
    std::unique_ptr<format::ChunkReader> chunks_;
    // read_progress.h: set for a file while a listener is installed, until the read ends.
    ReadProgressListener* progress_ = nullptr;
    format::RecordDecoder decoder_;
    const uint8_t* chunk_begin_ = nullptr;
    const uint8_t* cursor_ = nullptr;
    const uint8_t* end_ = nullptr;

    EndState state_ = EndState::Reading;
    std::string error_;
    uint64_t records_ = 0;
    uint64_t allocation_records_ = 0;
    std::optional<uint64_t> trailer_time_us_;
    std::optional<uint64_t> trailer_allocations_;

    std::deque<CodeObject> codes_;  // a deque: PythonFrame views must survive growth
    std::vector<FrameEntry> frames_;
    std::vector<StackEntry> stacks_;
    std::map<uint64_t, ThreadInfo> threads_;
    std::vector<MemorySample> memory_samples_;

    std::vector<NativeFrameEntry> native_frames_;
    std::deque<LoadedImage> images_;
    uint32_t image_generation_ = 0;  // 0 until the first image map
    size_t current_image_ = SIZE_MAX;  // where the next segments go; SIZE_MAX: a repeated image
};

}  // namespace memray::reader
