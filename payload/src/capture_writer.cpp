#include "capture_writer.h"

#include "fork_window.h"
#include "recursion_guard.h"
#include "run_status.h"

#include "memray/format/run_status.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <new>
#include <sys/stat.h>
#include <unistd.h>

namespace memray::payload {

namespace {

bool writeAll(int fd, const uint8_t* data, size_t size)
{
    while (size > 0) {
        ssize_t written = ::write(fd, data, size);
        if (written < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        data += written;
        size -= static_cast<size_t>(written);
    }
    return true;
}

// Removes `path` if it is still the regular file open as `fd`: never a device (-o /dev/full),
// nor a file someone put there meanwhile.
void removeCreatedFile(const std::string& path, int fd)
{
    struct stat opened, named;
    if (::fstat(fd, &opened) == 0 && S_ISREG(opened.st_mode) && ::lstat(path.c_str(), &named) == 0
        && named.st_dev == opened.st_dev && named.st_ino == opened.st_ino) {
        ::unlink(path.c_str());
    }
}

}  // namespace

uint64_t monotonicNs()
{
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<uint64_t>(now.tv_sec) * 1000000000u + static_cast<uint64_t>(now.tv_nsec);
}

bool CaptureWriter::open(
        const std::string& path,
        bool overwrite,
        const std::string& file_start,
        unsigned rss_interval_ms,
        MemorySampler sampler,
        std::string* error)
{
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (overwrite ? O_TRUNC : O_EXCL);
    fd_ = ::open(path.c_str(), flags, 0644);
    if (fd_ < 0) {
        *error = errno == EEXIST ? "file already exists, will not overwrite without --force: " + path
                                 : "cannot create " + path + ": " + std::strerror(errno);
        reportRunStatus(format::kRunStatusFailed, path, *error);
        return false;
    }
    if (!writeAll(fd_, reinterpret_cast<const uint8_t*>(file_start.data()), file_start.size())) {
        *error = "cannot write " + path + ": " + std::strerror(errno);
        // Created (or emptied, with --force) here, and no capture: left behind, an empty file
        // would only make the next run refuse to overwrite it.
        removeCreatedFile(path, fd_);
        ::close(fd_);
        fd_ = -1;
        reportRunStatus(format::kRunStatusFailed, path, *error);
        return false;
    }
    statm_fd_ = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    // Here, not lazily in the background thread: a lazy initialisation there could be under
    // way when another thread forks, and the child's writer would wait for it forever.
    page_size_ = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    path_ = path;
    interval_ms_ = rss_interval_ms;
    sampler_ = sampler;
    start_ns_ = monotonicNs();
    bytes_written_ = file_start.size();
    // Uninitialised: zeroing a megabyte would fault in every page of it at start, for a
    // capture that may never fill a chunk.
    compressed_.reset(new uint8_t[format::ChunkCompressor::maxChunkBytes(kBufferSize)]);
    setCurrent(takeFreeBuffer());
    thread_ = std::thread([this] { backgroundLoop(); });
    return true;
}

void CaptureWriter::setCurrent(Buffer* buffer)
{
    current_ = buffer;
    cursor_ = buffer ? buffer->data + buffer->used : nullptr;
    limit_ = buffer && !failed_ && !stop_requested_ ? buffer->data + buffer->capacity : cursor_;
}

void CaptureWriter::settleCurrent()
{
    if (current_) {
        current_->used = static_cast<size_t>(cursor_ - current_->data);
    }
}

void CaptureWriter::returnSpare(Buffer* buffer)
{
    buffer->used = 0;
    spare_.push_back(buffer);
    out_of_buffers_ = false;
}

void CaptureWriter::waitForRoomSlow(RecordLock& lock)
{
    std::unique_lock held(lock, std::adopt_lock);  // the caller's hold, for the waits
    while (out_of_buffers_ && !failed_ && !stop_requested_) {
        wake_writer_.notify_one();
        buffer_returned_.wait(held);
    }
    held.release();  // still held, and still the caller's
}

CaptureWriter::Buffer* CaptureWriter::takeFreeBuffer()
{
    if (!spare_.empty()) {
        Buffer* buffer = spare_.back();
        spare_.pop_back();
        out_of_buffers_ = spare_.empty() && buffers_allocated_ >= kMaxBuffers;
        return buffer;
    }
    // Past kMaxBuffers only by the records of events already under way (see waitForRoom).
    ++buffers_allocated_;
    out_of_buffers_ = buffers_allocated_ >= kMaxBuffers;
    return new Buffer{new uint8_t[kBufferSize], 0, kBufferSize};
}

uint8_t* CaptureWriter::reserveSlow(size_t bytes)
{
    if (failed_ || stop_requested_ || !current_) {
        return nullptr;
    }
    settleCurrent();
    if (current_->capacity - current_->used < bytes) {
        filled_.push_back(current_);
        wake_writer_.notify_one();
        setCurrent(takeFreeBuffer());
    }
    return cursor_;
}

void CaptureWriter::writeFinalSample()
{
    if (!sampler_) {
        return;
    }
    if (uint8_t* out = reserve(format::kMaxFixedRecordBytes)) {
        sampler_(&out, (monotonicNs() - start_ns_) / 1000000u, sampleRss());
        commit(out);
    }
}

void CaptureWriter::requestStop()
{
    stop_requested_ = true;
    closeRoom();
    wake_writer_.notify_one();
}

void CaptureWriter::join()
{
    if (thread_.joinable()) {
        thread_.join();
    }
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    if (statm_fd_ >= 0) {
        ::close(statm_fd_);
        statm_fd_ = -1;
    }
}

void CaptureWriter::abandonInChild()
{
    // The parent's thread object is meaningless here: detach it from std::thread without
    // touching the (nonexistent) thread, and leak the buffers that belong to the parent.
    new (&thread_) std::thread();
    setCurrent(nullptr);
    filled_.clear();
    spare_.clear();
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    if (statm_fd_ >= 0) {
        ::close(statm_fd_);
        statm_fd_ = -1;
    }
    failed_ = true;
}

uint64_t CaptureWriter::sampleRss() const
{
    // statm's second field is resident pages; pread keeps this one syscall per sample.
    char text[128];
    ssize_t got = statm_fd_ >= 0 ? ::pread(statm_fd_, text, sizeof(text) - 1, 0) : -1;
    if (got <= 0) {
        return 0;
    }
    text[got] = '\0';
    unsigned long long size_pages = 0, resident_pages = 0;
    if (std::sscanf(text, "%llu %llu", &size_pages, &resident_pages) != 2) {
        return 0;
    }
    return resident_pages * page_size_;
}

bool CaptureWriter::writeChunk(const Buffer& buffer)
{
    size_t size = compressor_.compress(buffer.data, buffer.used, compressed_.get());
    if (!writeAll(fd_, compressed_.get(), size)) {
        // What part of the chunk got written stays: readers stop before a partial chunk.
        const int error = errno;
        reportRunStatus(format::kRunStatusIncomplete, path_,
                        "writing stopped after " + std::to_string(bytes_written_) + " bytes: "
                                + std::strerror(error));
        errno = error;  // for the caller's message
        return false;
    }
    bytes_written_ += size;
    return true;
}

void CaptureWriter::backgroundLoop()
{
    t_recursion_guard = true;  // nothing this thread does is the program's own memory use
    const uint64_t interval_ns = static_cast<uint64_t>(interval_ms_) * 1000000u;
    const uint64_t checkpoint_interval_ns = static_cast<uint64_t>(checkpoint_interval_ms_) * 1000000u;
    uint64_t next_sample_ns = monotonicNs();
    uint64_t next_checkpoint_ns = next_sample_ns + checkpoint_interval_ns;
    std::vector<Buffer*> to_write;
    for (;;) {
        uint64_t now = monotonicNs();
        uint64_t rss = 0;
        bool sample_due = now >= next_sample_ns;
        if (sample_due) {
            widenForkWindowForTests();
            rss = sampleRss();
            next_sample_ns = std::max(next_sample_ns + interval_ns, now + interval_ns / 2);
        }
        const bool checkpoint_due = checkpointer_ && now >= next_checkpoint_ns;
        if (checkpoint_due) {
            next_checkpoint_ns = now + checkpoint_interval_ns;
        }

        std::unique_lock lock(mutex_);
        if (sample_due && current_ && !stop_requested_) {
            uint8_t* out = reserve(format::kMaxFixedRecordBytes);
            if (out) {
                sampler_(&out, (now - start_ns_) / 1000000u, rss);
                commit(out);
            }
        }
        if (checkpoint_due && current_ && !stop_requested_) {
            checkpointer_(*this);
        }
        bool stopping = stop_requested_;
        to_write.swap(filled_);
        // Flush the partly filled buffer too: this bounds what a SIGKILL can lose.
        settleCurrent();
        if (current_ && current_->used > 0 && (sample_due || checkpoint_due || stopping)) {
            to_write.push_back(current_);
            setCurrent(stopping ? nullptr : takeFreeBuffer());
        }
        lock.unlock();

        bool ok = !failed_;
        for (Buffer* buffer : to_write) {
            if (ok && !writeChunk(*buffer)) {
                ok = false;
                std::fprintf(stderr,
                             "memray: failed to write %s (%s); tracking stopped\n",
                             path_.c_str(),
                             std::strerror(errno));
            }
        }

        lock.lock();
        for (Buffer* buffer : to_write) {
            returnSpare(buffer);
        }
        to_write.clear();
        if (!ok) {
            failed_ = true;
            closeRoom();
        }
        buffer_returned_.notify_all();
        if (stopping && filled_.empty()) {
            if (current_) {
                returnSpare(current_);
                setCurrent(nullptr);
            }
            break;
        }
        if (filled_.empty() && !stop_requested_) {
            const uint64_t next_ns = checkpointer_ ? std::min(next_sample_ns, next_checkpoint_ns) : next_sample_ns;
            const uint64_t wait_now = monotonicNs();
            uint64_t wait_ns = next_ns > wait_now ? next_ns - wait_now : 0;
            wake_writer_.wait_for(lock, std::chrono::nanoseconds(wait_ns), [this] {
                return stop_requested_ || !filled_.empty();
            });
        }
    }
    for (Buffer* buffer : spare_) {
        delete[] buffer->data;
        delete buffer;
    }
    spare_.clear();
    buffers_allocated_ = 0;
    out_of_buffers_ = false;
}

}  // namespace memray::payload
