// openFollowedFile and captureIsBeingWritten (capture_streams.h): `tail -f` of a capture file.
//
// At the end of what has been written, the stream polls for more every kPollMs, and checks at
// most every kWriterCheckMs whether the writer still has the file open: once it has not, what
// it wrote is all there is (a last read after the check picks up its final chunk).
#include "file_writers.h"
#include "memray/format/container.h"
#include "memray/reader/capture_streams.h"
#include "stream_wait.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace memray::reader {

namespace {

constexpr int kPollMs = 25;
constexpr std::chrono::milliseconds kWriterCheck{250};

struct FileIdentity
{
    dev_t dev = 0;
    ino_t ino = 0;
};

// The capture's writer from its header (0 while the header is incomplete or not a capture's).
pid_t writerFromMetadata(const std::string& path)
{
    format::ChunkReader header;
    return header.open(path) ? static_cast<pid_t>(header.metadata().pid) : 0;
}

// Whether the capture `file` is still being written by `pid`, or (no writer known yet: its
// header is not complete) by anyone.
bool beingWritten(FileIdentity file, pid_t pid)
{
    return pid > 0 ? processWritesFile(pid, file.dev, file.ino) : anyProcessWritesFile(file.dev, file.ino);
}

std::string openError(const std::string& path, int error)
{
    return error == ENOENT ? "no such file: " + path : path + ": " + std::strerror(error);
}

class FollowedFile final : public format::ByteStream
{
  public:
    FollowedFile(const std::string& path, int writer_pid)
    : path_(path)
    , writer_pid_(writer_pid)
    {
        struct stat info;
        if (::stat(path.c_str(), &info) != 0) {
            throw std::runtime_error(openError(path, errno));
        }
        if (!S_ISREG(info.st_mode)) {
            // A FIFO would block the open itself; a directory has nothing to follow.
            throw std::runtime_error(path + " is not a regular file");
        }
        fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0 || ::fstat(fd_, &info) != 0) {
            const int error = errno;
            if (fd_ >= 0) {
                ::close(fd_);
            }
            throw std::runtime_error(openError(path, error));
        }
        file_ = FileIdentity{info.st_dev, info.st_ino};
    }
    ~FollowedFile() override { ::close(fd_); }

    size_t read(void* buffer, size_t size) override
    {
        while (!cancel_.cancelled() && !ended_) {
            if (const size_t got = readSome(buffer, size)) {
                return got;
            }
            if (!writerStillThere()) {
                // It closed the file before the check: this read sees everything it wrote.
                ended_ = true;
                return readSome(buffer, size);
            }
            if (cancel_.waitReadable(-1, kPollMs) == StreamCancel::Wait::Cancelled) {
                break;
            }
            struct stat info;
            if (::fstat(fd_, &info) == 0 && static_cast<uint64_t>(info.st_size) < offset_.load()) {
                throw std::runtime_error(path_ + " was truncated while being followed");
            }
        }
        return 0;
    }

    void cancel() override { cancel_.cancel(); }
    std::string name() const override { return path_; }

    std::string waitingFor() const override
    {
        return offset_.load() == 0 ? "waiting for " + path_ + " to be written" : std::string();
    }

    uint64_t backlog() const override
    {
        struct stat info;
        const uint64_t offset = offset_.load();
        return ::fstat(fd_, &info) == 0 && static_cast<uint64_t>(info.st_size) > offset ? info.st_size - offset : 0;
    }

  private:
    size_t readSome(void* buffer, size_t size)
    {
        for (;;) {
            const ssize_t got = ::read(fd_, buffer, size);
            if (got >= 0) {
                offset_ += static_cast<uint64_t>(got);
                return static_cast<size_t>(got);
            }
            if (errno != EINTR) {
                throw std::runtime_error(path_ + ": " + std::strerror(errno));
            }
        }
    }

    // Checked at the first end of file, then at most every kWriterCheck while idle.
    bool writerStillThere()
    {
        const auto now = std::chrono::steady_clock::now();
        if (checked_ && now - last_check_ < kWriterCheck) {
            return true;
        }
        checked_ = true;
        last_check_ = now;
        if (writer_pid_ <= 0) {
            // Through this stream's own descriptor: the path may have been removed or replaced.
            writer_pid_ = writerFromMetadata("/proc/self/fd/" + std::to_string(fd_));
        }
        return beingWritten(file_, writer_pid_);
    }

    std::string path_;
    pid_t writer_pid_;
    int fd_ = -1;
    FileIdentity file_;
    StreamCancel cancel_;
    std::atomic<uint64_t> offset_{0};
    bool ended_ = false;
    bool checked_ = false;
    std::chrono::steady_clock::time_point last_check_;
};

}  // namespace

std::unique_ptr<format::ByteStream> openFollowedFile(const std::string& path, int writer_pid)
{
    return std::make_unique<FollowedFile>(path, writer_pid);
}

bool captureIsBeingWritten(const std::string& path, int pid)
{
    struct stat info;
    if (::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
        return false;
    }
    return beingWritten(FileIdentity{info.st_dev, info.st_ino}, pid > 0 ? pid : writerFromMetadata(path));
}

}  // namespace memray::reader
