#include "live_server.h"

#include "live_streams.h"

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "memray/format/byte_stream.h"

namespace memray::cli {

namespace {

constexpr size_t kSendBuffer = 64 * 1024;

void signalEvent(int fd)
{
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t ignored = write(fd, &one, sizeof one);
}

// Sends all of [data, data + size) unless the viewer goes away or `abort_fd` fires first.
bool sendAll(int socket, const char* data, size_t size, int abort_fd)
{
    while (size > 0) {
        pollfd fds[2] = {{socket, POLLOUT, 0}, {abort_fd, POLLIN, 0}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        if (fds[1].revents) {
            return false;
        }
        const ssize_t sent = send(socket, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (sent < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                continue;
            }
            return false;  // the viewer went away: EPIPE, ECONNRESET
        }
        data += sent;
        size -= static_cast<size_t>(sent);
    }
    return true;
}

}  // namespace

struct LiveServer::State
{
    int listen_fd = -1;
    int stop_fd = -1;   // ends the accepting
    int abort_fd = -1;  // ends every viewer's connection
    uint16_t port = 0;
    std::string path;
    pid_t writer = 0;
    std::thread acceptor;

    std::mutex mutex;
    std::condition_variable changed;
    std::vector<std::thread> viewers;
    std::vector<format::ByteStream*> streams;  // of the connected viewers, to cancel on abort
    size_t connected = 0;
    size_t accepted = 0;
    bool aborted = false;

    void acceptViewers()
    {
        pthread_setname_np(pthread_self(), "memray-serve");
        for (;;) {
            pollfd fds[2] = {{listen_fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
            if (poll(fds, 2, -1) < 0) {
                if (errno == EINTR) {
                    continue;
                }
                spdlog::warn("live server: poll: {}", std::strerror(errno));
                return;
            }
            if (fds[1].revents) {
                return;
            }
            const int viewer = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
            if (viewer < 0) {
                continue;  // the viewer gave up before we took it, or out of descriptors for now
            }
            std::lock_guard lock(mutex);
            ++connected;
            ++accepted;
            viewers.emplace_back([this, viewer] { sendCapture(viewer); });
        }
    }

    void sendCapture(int viewer)
    {
        pthread_setname_np(pthread_self(), "memray-viewer");
        spdlog::info("live server: a viewer connected");
        std::unique_ptr<format::ByteStream> stream =
                followCaptureOnceCreated(path, writer, "the capture served on port " + std::to_string(port));
        {
            std::lock_guard lock(mutex);
            streams.push_back(stream.get());
            if (aborted) {
                stream->cancel();
            }
        }
        std::vector<char> buffer(kSendBuffer);
        try {
            for (;;) {
                const size_t got = stream->read(buffer.data(), buffer.size());
                if (got == 0 || !sendAll(viewer, buffer.data(), got, abort_fd)) {
                    break;
                }
            }
        } catch (const std::exception& error) {
            spdlog::warn("live server: {}", error.what());
        }
        close(viewer);
        spdlog::info("live server: a viewer's connection ended");
        std::lock_guard lock(mutex);
        std::erase(streams, stream.get());
        --connected;
        changed.notify_all();
    }
};

LiveServer::LiveServer(uint16_t port, const std::string& host)
: state_(std::make_unique<State>())
{
    const std::string where = host + ":" + std::to_string(port);
    in_addr ip{};
    if (inet_aton(host.c_str(), &ip) == 0) {
        throw std::runtime_error("cannot listen on " + where + ": not an IPv4 address");
    }
    state_->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (state_->listen_fd < 0) {
        throw std::runtime_error(std::string("cannot open a socket: ") + std::strerror(errno));
    }
    const int one = 1;
    setsockopt(state_->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr = ip;
    if (bind(state_->listen_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0
        || listen(state_->listen_fd, 16) != 0) {
        const int error = errno;
        close(state_->listen_fd);
        throw std::runtime_error("cannot listen on " + where + ": " + std::strerror(error));
    }
    socklen_t length = sizeof address;
    getsockname(state_->listen_fd, reinterpret_cast<sockaddr*>(&address), &length);
    state_->port = ntohs(address.sin_port);
    state_->stop_fd = eventfd(0, EFD_CLOEXEC);
    state_->abort_fd = eventfd(0, EFD_CLOEXEC);
    if (state_->stop_fd < 0 || state_->abort_fd < 0) {
        throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
    }
}

LiveServer::~LiveServer()
{
    finish(std::chrono::milliseconds(0));
    close(state_->listen_fd);
    close(state_->stop_fd);
    close(state_->abort_fd);
}

uint16_t LiveServer::port() const
{
    return state_->port;
}

size_t LiveServer::viewersAccepted() const
{
    std::lock_guard lock(state_->mutex);
    return state_->accepted;
}

void LiveServer::serve(const std::string& path, pid_t writer)
{
    state_->path = path;
    state_->writer = writer;
    state_->acceptor = std::thread([state = state_.get()] { state->acceptViewers(); });
}

void LiveServer::finish(std::chrono::milliseconds grace)
{
    if (!state_->acceptor.joinable()) {
        return;
    }
    signalEvent(state_->stop_fd);
    state_->acceptor.join();
    std::vector<std::thread> viewers;
    {
        std::unique_lock lock(state_->mutex);
        state_->changed.wait_for(lock, grace, [&] { return state_->connected == 0; });
        state_->aborted = true;
        for (format::ByteStream* stream : state_->streams) {
            stream->cancel();
        }
        viewers.swap(state_->viewers);
    }
    signalEvent(state_->abort_fd);
    for (std::thread& viewer : viewers) {
        viewer.join();
    }
}

}  // namespace memray::cli
