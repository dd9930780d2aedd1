#include "memray/reader/capture_reader.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace memray::reader {

namespace {

// The decoder's constructor needs the capture's options, which only the opened file knows.
std::unique_ptr<format::ChunkReader> openChunks(const std::string& path)
{
    // Refuse anything but a regular file before opening it: opening a FIFO would block until
    // a writer appears, and a device or pipe has no size to check the chunks against.
    struct stat info;
    if (::stat(path.c_str(), &info) == 0 && !S_ISREG(info.st_mode) && !S_ISDIR(info.st_mode)) {
        throw CaptureError(path + " is not a regular file");
    }
    auto chunks = std::make_unique<format::ChunkReader>();
    if (!chunks->open(path)) {
        throw CaptureError(chunks->error());
    }
    return chunks;
}

std::unique_ptr<format::ChunkReader> openChunks(std::unique_ptr<format::ByteStream> stream)
{
    if (!stream) {
        throw CaptureError("no capture stream to read");
    }
    auto chunks = std::make_unique<format::ChunkReader>();
    if (!chunks->open(std::move(stream))) {
        throw CaptureError(chunks->error());
    }
    return chunks;
}

}  // namespace

std::string_view ThreadInfo::nameAt(uint64_t record_index) const
{
    std::string_view current;
    for (const ThreadNameChange& change : names) {
        if (change.from_record > record_index) {
            break;
        }
        current = change.name;
    }
    return current;
}

CaptureReader::CaptureReader(const std::string& path)
: CaptureReader(openChunks(path))
{
    if (chunks_->fileSize() > 0) {
        progress_ = readProgressListener();
    }
}

CaptureReader::CaptureReader(std::unique_ptr<format::ByteStream> stream)
: CaptureReader(openChunks(std::move(stream)))
{
}

CaptureReader::CaptureReader(std::unique_ptr<format::ChunkReader> chunks)
: path_(chunks->name())
, chunks_(std::move(chunks))
, decoder_(chunks_->metadata().has(format::kOptionNativeTraces), chunks_->metadata().has(format::kOptionAggregated))
{
    // Id 0 is never defined; a placeholder keeps every table indexable by id directly.
    codes_.emplace_back();
    frames_.emplace_back();
    stacks_.emplace_back();
    native_frames_.emplace_back();
}

CaptureReader::~CaptureReader()
{
    stopReporting();
}

void CaptureReader::reportProgress()
{
    progress_->advanced(this, path_, chunks_->position(), chunks_->fileSize());
}

void CaptureReader::stopReporting()
{
    if (progress_) {
        progress_->finished(this);
        progress_ = nullptr;
    }
}

bool CaptureReader::loadNextChunk()
{
    if (state_ != EndState::Reading) {
        return false;
    }
    const format::ChunkReader::Status status = chunks_->next();
    if (status != format::ChunkReader::Status::Chunk) {
        stopReporting();
    }
    switch (status) {
        case format::ChunkReader::Status::Chunk:
            chunk_begin_ = chunks_->data();
            cursor_ = chunk_begin_;
            end_ = chunk_begin_ + chunks_->size();
            if (progress_) [[unlikely]] {
                reportProgress();
            }
            return true;
        case format::ChunkReader::Status::End:
            state_ = trailer_time_us_ ? EndState::Complete : EndState::EndedAbruptly;
            return false;
        case format::ChunkReader::Status::Truncated:
            state_ = EndState::EndedAbruptly;
            return false;
        case format::ChunkReader::Status::Error:
            state_ = EndState::Corrupt;
            error_ = path_ + ": " + chunks_->error();  // "corrupted chunk at offset N (...)"
            return false;
    }
    return false;
}

void CaptureReader::failRecord()
{
    state_ = EndState::Corrupt;
    error_ = path_ + " is corrupted: " + decoder_.error() + " at byte "
             + std::to_string(cursor_ - chunk_begin_) + " of the chunk at offset "
             + std::to_string(chunks_->chunkOffset());
    // Leave the cursor where it is: next() keeps returning false from here on.
    cursor_ = end_;
    stopReporting();
}

void CaptureReader::throwIfCorrupt() const
{
    if (state_ == EndState::Corrupt) {
        throw CaptureError(error_);
    }
}

void CaptureReader::requireAllocationRecords(std::string_view what) const
{
    if (!hasAllocationRecords()) {
        throw AggregatedCaptureError(path_ + " was captured with --aggregate, which keeps only what peak and leaks "
                                             "reports need; " + std::string(what) + " needs every allocation");
    }
}

void CaptureReader::skipToEnd()
{
    Record record;
    while (next(record)) {
    }
}

ThreadInfo& CaptureReader::threadEntry(uint64_t tid)
{
    auto [it, inserted] = threads_.try_emplace(tid);
    if (inserted) {
        it->second.tid = tid;
    }
    return it->second;
}

void CaptureReader::define(const Record& record)
{
    switch (record.kind) {
        case RecordKind::Code:
            codes_.push_back(CodeObject{std::string(record.name), std::string(record.filename), record.line});
            break;
        case RecordKind::Frame:
            frames_.push_back(FrameEntry{record.code_id, record.line});
            break;
        case RecordKind::Stack:
            stacks_.push_back(
                    StackEntry{record.parent_id, record.frame_id, (record.flags & format::kStackFlagEntry) != 0});
            break;
        case RecordKind::NativeFrame:
            native_frames_.push_back(NativeFrameEntry{record.parent_id, record.address, image_generation_});
            break;
        case RecordKind::ImageMap:
            ++image_generation_;
            current_image_ = SIZE_MAX;
            break;
        case RecordKind::Image:
            defineImage(record);
            break;
        case RecordKind::ImageSegment:
            if (current_image_ < images_.size() && images_[current_image_].segments.size() < format::kMaxImageSegments) {
                images_[current_image_].segments.push_back(ImageSegment{record.address, record.size});
            }
            break;
        case RecordKind::ThreadStart:
            threadEntry(record.tid).os_tid = record.os_tid;
            break;
        case RecordKind::ThreadName:
            threadEntry(record.tid).names.push_back(ThreadNameChange{records_ - 1, std::string(record.name)});
            break;
        case RecordKind::ThreadExit:
            threadEntry(record.tid).exited = true;
            break;
        case RecordKind::ThreadSwitch:
            threadEntry(record.tid);
            break;
        case RecordKind::Memory:
            memory_samples_.push_back(MemorySample{record.time, record.rss, record.heap});
            break;
        case RecordKind::Trailer:
            trailer_time_us_ = record.time;
            trailer_allocations_ = record.count;
            break;
        // Checkpoints of aggregated captures define no table: the analyses that read them
        // (aggregated_snapshot.cpp) keep their state.
        case RecordKind::AggregateBegin:
        case RecordKind::AggregateLocation:
        case RecordKind::AggregateEnd:
        case RecordKind::Allocation:
        case RecordKind::Deallocation:
            break;
    }
}

void CaptureReader::defineImage(const Record& record)
{
    // The same object still loaded at the same place: extend its generations.
    for (LoadedImage& image : images_) {
        if (image.last_generation + 1 == image_generation_ && image.load_bias == record.address
            && image.path == record.name && image.build_id == record.build_id)
        {
            image.last_generation = image_generation_;
            current_image_ = SIZE_MAX;
            return;
        }
    }
    LoadedImage image;
    image.path = std::string(record.name);
    image.build_id = std::string(record.build_id);
    image.load_bias = record.address;
    image.first_generation = image.last_generation = image_generation_;
    current_image_ = images_.size();
    images_.push_back(std::move(image));
}

const LoadedImage* CaptureReader::imageAt(uint64_t address, uint32_t generation) const
{
    const LoadedImage* best = nullptr;
    uint64_t best_distance = UINT64_MAX;
    for (const LoadedImage& image : images_) {
        if (!image.contains(address)) {
            continue;
        }
        uint64_t distance = 0;
        if (generation < image.first_generation) {
            distance = image.first_generation - generation;
        } else if (generation > image.last_generation) {
            distance = generation - image.last_generation;
        }
        if (distance < best_distance) {
            best = &image;
            best_distance = distance;
        }
    }
    return best;
}

std::optional<uint64_t> CaptureReader::durationUs() const
{
    if (trailer_time_us_) {
        return trailer_time_us_;
    }
    if (!memory_samples_.empty()) {
        return memory_samples_.back().time_ms * 1000;
    }
    return std::nullopt;
}

std::optional<uint64_t> CaptureReader::endTimeUs() const
{
    auto duration = durationUs();
    if (!duration) {
        return std::nullopt;
    }
    return metadata().start_time_us + *duration;
}

PythonFrame CaptureReader::pythonFrame(uint64_t frame_id) const
{
    const FrameEntry* entry = frame(frame_id);
    if (!entry) {
        return PythonFrame{};
    }
    const CodeObject* object = code(entry->code_id);
    if (!object) {
        return PythonFrame{{}, {}, entry->line};
    }
    return PythonFrame{object->function, object->file, entry->line};
}

std::vector<PythonFrame> CaptureReader::stackFrames(uint64_t stack_id) const
{
    std::vector<PythonFrame> frames;
    forEachFrame(stack_id, [&](const PythonFrame& frame) { frames.push_back(frame); });
    return frames;
}

const ThreadInfo* CaptureReader::thread(uint64_t tid) const
{
    auto it = threads_.find(tid);
    return it == threads_.end() ? nullptr : &it->second;
}

uint64_t CaptureReader::mainThreadId() const
{
    // memray.Tracker's captures name the thread that entered the Tracker by its OS id; the others
    // mean the process's main thread, whose OS id is the pid.
    for (const uint64_t os_tid : {metadata().main_thread_id, metadata().pid}) {
        for (const auto& [tid, info] : threads_) {
            if (os_tid != 0 && info.os_tid == os_tid) {
                return tid;
            }
        }
    }
    return metadata().main_thread_id;
}

}  // namespace memray::reader
