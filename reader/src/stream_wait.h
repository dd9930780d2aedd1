// What the live byte streams (capture_streams.h) share: a cancellation that wakes a blocked
// read at once, and a wait for a descriptor that it interrupts.
#pragma once

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace memray::reader {

class StreamCancel
{
  public:
    StreamCancel()
    : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC))
    {
        if (fd_ < 0) {
            throw std::runtime_error(std::string("cannot create an eventfd: ") + std::strerror(errno));
        }
    }
    ~StreamCancel() { ::close(fd_); }
    StreamCancel(const StreamCancel&) = delete;
    StreamCancel& operator=(const StreamCancel&) = delete;

    // Async-signal-safe and thread-safe; the eventfd stays readable from then on (never read).
    void cancel()
    {
        cancelled_.store(true);
        const uint64_t one = 1;
        [[maybe_unused]] ssize_t ignored = ::write(fd_, &one, sizeof(one));
    }
    bool cancelled() const { return cancelled_.load(); }

    enum class Wait { Ready, Timeout, Cancelled };

    // Waits until `fd` is readable (fd < 0: nothing to wait for but the time), `timeout_ms`
    // passes (-1: no limit) or cancel() is called.
    Wait waitReadable(int fd, int timeout_ms) const
    {
        pollfd fds[2] = {{fd_, POLLIN, 0}, {fd, POLLIN, 0}};
        for (;;) {
            if (cancelled()) {
                return Wait::Cancelled;
            }
            const int ready = ::poll(fds, fd >= 0 ? 2 : 1, timeout_ms);
            if (ready < 0 && errno == EINTR) {
                continue;  // (the timeout restarts: callers only use it as a polling period)
            }
            if (ready < 0) {
                throw std::runtime_error(std::string("poll failed: ") + std::strerror(errno));
            }
            if (cancelled() || (fds[0].revents & POLLIN)) {
                return Wait::Cancelled;
            }
            return ready == 0 ? Wait::Timeout : Wait::Ready;
        }
    }

  private:
    int fd_;
    std::atomic<bool> cancelled_{false};
};

}  // namespace memray::reader
