// Moves encoded records from the allocating threads to the capture file.
//
// Threads append records to an in-memory buffer under the tracker's mutex. A background thread wakes every
// RSS interval (and whenever a buffer fills), samples RSS into the stream, takes the filled
// buffers, compresses them into chunks and write()s them. So the allocation hot path never
// touches the disk, and a killed process loses at most one interval of records: everything
// older is already in the kernel's page cache as complete chunks.
#pragma once

#include "record_lock.h"

#include "memray/format/container.h"

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace memray::payload {

class CaptureWriter
{
  public:
    // Appends the memory record for one RSS sample (called by the background thread with the
    // mutex held; the tracker owns the stream's encoding state).
    using MemorySampler = void (*)(uint8_t** out, uint64_t ms_since_start, uint64_t rss_bytes);

    // Appends one aggregate checkpoint (called by the background thread with the mutex held,
    // reserving room record by record).
    using Checkpointer = void (*)(CaptureWriter& writer);

    // `mutex` guards the record stream; it is the tracker's, and outlives every writer.
    explicit CaptureWriter(RecordLock& mutex)
    : mutex_(mutex)
    {
    }

    // Creates `path` (O_EXCL unless `overwrite`), writes the file header and starts the
    // background thread. False with a reason on failure.
    bool open(const std::string& path,
              bool overwrite,
              const std::string& file_start,
              unsigned rss_interval_ms,
              MemorySampler sampler,
              std::string* error);

    // Before open(): also write a checkpoint about every `interval_ms` (aggregated captures).
    void setCheckpointer(Checkpointer checkpointer, unsigned interval_ms)
    {
        checkpointer_ = checkpointer;
        checkpoint_interval_ms_ = interval_ms;
    }

    // With `lock` (the mutex) held, before writing the records of one event: waits,
    // releasing the lock, while the background thread is too far behind, so memory stays
    // bounded. Waiting only here, never inside reserve(), keeps each event's records together.
    // The check is inline: it runs for every event, and there is almost always room.
    void waitForRoom(RecordLock& lock)
    {
        if (out_of_buffers_) {
            waitForRoomSlow(lock);
        }
    }

    // With the mutex held: room for `bytes` more bytes of records. Never waits. nullptr if the
    // capture can no longer be written (a write error, or stopping); the caller drops the record.
    // Inline for the same reason: the current buffer almost always has the room. One compare
    // of two members: a write error or a stop closes the room (limit_ = cursor_), so the
    // fast path needs no other test.
    uint8_t* reserve(size_t bytes)
    {
        if (static_cast<size_t>(limit_ - cursor_) >= bytes) {
            return cursor_;
        }
        return reserveSlow(bytes);
    }
    // With the mutex held: the records written up to `end` (from the last reserve()) are done.
    void commit(uint8_t* end) { cursor_ = end; }

    // With the mutex held: one more memory sample, now. A capture ends with one, so that its
    // last stretch (a short program's whole run) is never missing from the plot.
    void writeFinalSample();
    // With the mutex held: ask the background thread to finish. Then, without the lock, join().
    void requestStop();
    // Waits for the background thread to write everything and closes the file.
    void join();

    // In a forked child: the background thread does not exist there. Forgets everything
    // without writing (the buffers are the parent's) and closes the file descriptor.
    void abandonInChild();

    bool failed() const { return failed_; }
    uint64_t bytesWritten() const { return bytes_written_; }
    uint64_t startNs() const { return start_ns_; }
    const std::string& path() const { return path_; }

  private:
    struct Buffer
    {
        uint8_t* data;
        size_t used;
        size_t capacity;
    };

    // 1 MiB buffers, at most kMaxBuffers of them in flight: a stalled disk costs at most 64 MiB
    // of memory before allocating threads wait for the writer.
    static constexpr size_t kBufferSize = 1u << 20;
    static constexpr size_t kMaxBuffers = 64;

    void waitForRoomSlow(RecordLock& lock);
    uint8_t* reserveSlow(size_t bytes);
    void backgroundLoop();
    uint64_t sampleRss() const;
    bool writeChunk(const Buffer& buffer);
    Buffer* takeFreeBuffer();
    // current_ and its cursor change together; its fill level is settled from the cursor only
    // when it changes hands.
    void setCurrent(Buffer* buffer);
    void settleCurrent();
    void closeRoom() { limit_ = cursor_; }
    void returnSpare(Buffer* buffer);

    RecordLock& mutex_;
    std::condition_variable_any wake_writer_;
    std::condition_variable_any buffer_returned_;
    std::thread thread_;
    int fd_ = -1;
    int statm_fd_ = -1;
    std::string path_;
    unsigned interval_ms_ = 10;
    MemorySampler sampler_ = nullptr;
    Checkpointer checkpointer_ = nullptr;
    unsigned checkpoint_interval_ms_ = 1000;
    uint64_t start_ns_ = 0;
    uint64_t page_size_ = 4096;

    // The buffer records go to. Its `used` is brought up to date from cursor_ only when the
    // buffer changes hands (settleCurrent): commit() touches nothing but the cursor.
    Buffer* current_ = nullptr;
    uint8_t* cursor_ = nullptr;  // where the next record goes in current_
    uint8_t* limit_ = nullptr;   // current_'s end, or cursor_ once nothing may be written
    std::vector<Buffer*> filled_;
    std::vector<Buffer*> spare_;
    size_t buffers_allocated_ = 0;
    bool out_of_buffers_ = false;  // no spare buffer and no more may be allocated
    bool stop_requested_ = false;
    bool failed_ = false;
    uint64_t bytes_written_ = 0;

    format::ChunkCompressor compressor_;
    std::unique_ptr<uint8_t[]> compressed_;
};

// Monotonic clock in nanoseconds (what capture timestamps are measured against).
uint64_t monotonicNs();

}  // namespace memray::payload
