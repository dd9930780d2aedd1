// connectCaptureStream (capture_streams.h): the client side of `memray run --live-remote`.
//
// As memray's client does, it waits for a server rather than failing: while nobody listens on
// the port, it retries every kRetryMs and says so (waitingFor()), until it connects or is
// cancelled. Connecting happens in read(), on the reading thread, so opening never blocks.
#include "memray/reader/capture_streams.h"
#include "stream_wait.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>

namespace memray::reader {

namespace {

constexpr int kRetryMs = 500;

class CaptureSocket final : public format::ByteStream
{
  public:
    explicit CaptureSocket(uint16_t port)
    : port_(port)
    , address_("127.0.0.1:" + std::to_string(port))
    , waiting_("connecting to " + address_)
    {
    }
    ~CaptureSocket() override
    {
        if (const int fd = fd_.load(); fd >= 0) {
            ::close(fd);
        }
    }

    size_t read(void* buffer, size_t size) override
    {
        if (fd_.load() < 0 && !connectOrWait()) {
            return 0;
        }
        const int fd = fd_.load();
        for (;;) {
            if (cancel_.waitReadable(fd, -1) == StreamCancel::Wait::Cancelled) {
                return 0;
            }
            // The peer never gets written to, so no SIGPIPE can come from here; MSG_NOSIGNAL
            // is for the record.
            const ssize_t got = ::recv(fd, buffer, size, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (got > 0) {
                setWaiting({});
                return static_cast<size_t>(got);
            }
            if (got == 0) {
                return 0;  // the server closed the connection: the capture is over
            }
            if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
                throw std::runtime_error("the connection to " + address_ + " failed: " + std::strerror(errno));
            }
        }
    }

    void cancel() override { cancel_.cancel(); }
    std::string name() const override { return "the capture stream on " + address_; }

    std::string waitingFor() const override
    {
        std::lock_guard<std::mutex> lock(mutex_);
        return waiting_;
    }

    uint64_t backlog() const override
    {
        int pending = 0;
        const int fd = fd_.load();
        return fd >= 0 && ::ioctl(fd, FIONREAD, &pending) == 0 && pending > 0 ? static_cast<uint64_t>(pending) : 0;
    }

  private:
    // Connects, retrying every kRetryMs while refused; false once cancelled.
    bool connectOrWait()
    {
        for (;;) {
            const int error = tryConnect();
            if (error == 0) {
                setWaiting("connected to " + address_ + "; waiting for the capture");
                return true;
            }
            setWaiting(error == ECONNREFUSED ? "nobody listens on " + address_ + " yet; retrying"
                                             : "cannot connect to " + address_ + " (" + std::strerror(error) + "); retrying");
            if (cancel_.waitReadable(-1, kRetryMs) == StreamCancel::Wait::Cancelled) {
                return false;
            }
        }
    }

    // 0 once connected (fd_ set), else the errno of the attempt.
    int tryConnect()
    {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            return errno;
        }
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port_);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        // A loopback connect completes or is refused at once: no need to make it interruptible.
        while (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 && errno != EISCONN) {
            if (errno != EINTR && errno != EALREADY) {
                const int error = errno;
                ::close(fd);
                return error;
            }
        }
        fd_.store(fd);
        return 0;
    }

    void setWaiting(std::string what)
    {
        std::lock_guard<std::mutex> lock(mutex_);
        waiting_ = std::move(what);
    }

    uint16_t port_;
    std::string address_;
    std::atomic<int> fd_{-1};
    StreamCancel cancel_;
    mutable std::mutex mutex_;
    std::string waiting_;
};

}  // namespace

std::unique_ptr<format::ByteStream> connectCaptureStream(uint16_t port)
{
    return std::make_unique<CaptureSocket>(port);
}

}  // namespace memray::reader
