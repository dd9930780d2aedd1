// A one-client TCP server on 127.0.0.1 for tests of the live capture stream: it serves some
// bytes to the first client and closes, as `memray run --live-remote` serves a capture.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>

namespace memray::testing {

// A port nobody listens on just now (bound to 0 and released: racy, but only another test
// taking the same port in between could spoil it).
inline uint16_t unusedLoopbackPort()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0
        || ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    {
        throw std::runtime_error("cannot find a free port");
    }
    ::close(fd);
    return ntohs(address.sin_port);
}

class LoopbackServer
{
  public:
    // Listens on `port` (0: any) at once; serves `bytes` to the first client from a thread.
    explicit LoopbackServer(std::string bytes, uint16_t port = 0)
    : bytes_(std::move(bytes))
    {
        listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const int one = 1;
        ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof(address);
        if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0
            || ::listen(listener_, 1) != 0
            || ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0)
        {
            throw std::runtime_error("cannot listen on 127.0.0.1:" + std::to_string(port));
        }
        port_ = ntohs(address.sin_port);
        thread_ = std::thread([this] { serve(); });
    }
    ~LoopbackServer()
    {
        ::shutdown(listener_, SHUT_RDWR);  // ends an accept() still waiting
        thread_.join();
        ::close(listener_);
    }

    uint16_t port() const { return port_; }

  private:
    void serve()
    {
        const int client = ::accept(listener_, nullptr, nullptr);
        if (client < 0) {
            return;
        }
        size_t sent = 0;
        while (sent < bytes_.size()) {
            const ssize_t n = ::send(client, bytes_.data() + sent, bytes_.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) {
                break;
            }
            sent += static_cast<size_t>(n);
        }
        ::close(client);
    }

    std::string bytes_;
    int listener_ = -1;
    uint16_t port_ = 0;
    std::thread thread_;
};

}  // namespace memray::testing
