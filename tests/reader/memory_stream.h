// Byte streams for tests of readers that take a format::ByteStream: bytes held in memory,
// handed out a few at a time, and a sink that appends chunks to a file as a writer would.
#pragma once

#include "memray/format/byte_stream.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace memray::testing {

// `bytes` in reads of at most `piece` bytes (so every boundary of the format gets split), then
// the end, or the error `fail_with` (thrown instead of the end, when not empty).
class MemoryStream : public format::ByteStream
{
  public:
    explicit MemoryStream(std::string bytes, size_t piece = 7, std::string fail_with = {})
    : bytes_(std::move(bytes))
    , piece_(piece)
    , fail_with_(std::move(fail_with))
    {
    }

    size_t read(void* buffer, size_t size) override
    {
        const size_t n = std::min({size, piece_, bytes_.size() - offset_});
        if (n == 0 && !fail_with_.empty()) {
            throw std::runtime_error(fail_with_);
        }
        std::memcpy(buffer, bytes_.data() + offset_, n);
        offset_ += n;
        return n;
    }
    void cancel() override {}
    std::string name() const override { return "the test stream"; }

  private:
    std::string bytes_;
    size_t offset_ = 0;
    size_t piece_;
    std::string fail_with_;
};

// A file opened for writing (O_WRONLY, as the payload opens its capture), written with
// write(2): each call reaches the file at once, as a chunk of the payload's does.
class WriterFile
{
  public:
    explicit WriterFile(const std::string& path)
    : fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600))
    {
        if (fd_ < 0) {
            throw std::runtime_error("cannot create " + path);
        }
    }
    ~WriterFile() { close(); }
    WriterFile(const WriterFile&) = delete;
    WriterFile& operator=(const WriterFile&) = delete;

    void write(const void* data, size_t size)
    {
        if (::write(fd_, data, size) != static_cast<ssize_t>(size)) {
            throw std::runtime_error("short write");
        }
    }
    void write(const std::string& bytes) { write(bytes.data(), bytes.size()); }
    void close()
    {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }

  private:
    int fd_;
};

}  // namespace memray::testing
