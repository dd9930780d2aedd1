#include "control_channel.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

namespace memray::payload {

namespace {

constexpr size_t kMaxRequestBytes = 256;

long long nowMs()
{
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<long long>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
}

// Milliseconds left until `deadline_ms` (-1: no deadline), as poll() wants them.
int remaining(long long deadline_ms)
{
    if (deadline_ms < 0) {
        return -1;
    }
    long long left = deadline_ms - nowMs();
    return left <= 0 ? 0 : static_cast<int>(left);
}

bool peerAllowed(int fd)
{
    ucred peer{};
    socklen_t length = sizeof(peer);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0) {
        return false;
    }
    return peer.uid == 0 || peer.uid == geteuid();
}

}  // namespace

bool ControlServer::open(const std::string& path, std::string* error)
{
    close();
    sockaddr_un address{};
    if (path.size() >= sizeof(address.sun_path)) {
        *error = "control socket path too long: " + path;
        return false;
    }
    const std::string directory = path.substr(0, path.rfind('/'));
    if (!directory.empty() && mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST) {
        *error = "cannot create " + directory + ": " + std::strerror(errno);
        return false;
    }
    // Somebody else's directory (created first to catch our socket) is never used.
    struct stat info;
    if (!directory.empty()
        && (lstat(directory.c_str(), &info) != 0 || !S_ISDIR(info.st_mode) || info.st_uid != geteuid()
            || (info.st_mode & 077) != 0))
    {
        *error = "refusing to use " + directory + ": it must be a directory owned by uid "
                 + std::to_string(geteuid()) + " with mode 0700";
        return false;
    }
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
        *error = "cannot remove the stale " + path + ": " + std::strerror(errno);
        return false;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        *error = std::string("cannot create a socket: ") + std::strerror(errno);
        return false;
    }
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    // Linux creates the socket file with the socket's own mode (less the umask): set before
    // bind(), the file is never looser than 0600, not even between bind() and the chmod().
    if (fchmod(fd, 0600) != 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0
        || chmod(path.c_str(), 0600) != 0 || listen(fd, 8) != 0)
    {
        *error = "cannot listen on " + path + ": " + std::strerror(errno);
        ::close(fd);
        unlink(path.c_str());
        return false;
    }
    fd_ = fd;
    path_ = path;
    return true;
}

int ControlServer::accept(int timeout_ms)
{
    const long long deadline = timeout_ms < 0 ? -1 : nowMs() + timeout_ms;
    while (fd_ >= 0) {
        pollfd waiting{fd_, POLLIN, 0};
        int ready = poll(&waiting, 1, remaining(deadline));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            return -1;
        }
        int client = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0) {
            continue;  // the client gave up already, or EAGAIN
        }
        if (peerAllowed(client)) {
            return client;
        }
        ::close(client);
    }
    return -1;
}

void ControlServer::close()
{
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
        unlink(path_.c_str());
    }
}

std::optional<std::string> ControlServer::readLine(int fd, int timeout_ms)
{
    const long long deadline = nowMs() + timeout_ms;
    std::string line;
    while (line.size() < kMaxRequestBytes) {
        pollfd waiting{fd, POLLIN, 0};
        int ready = poll(&waiting, 1, remaining(deadline));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            return std::nullopt;
        }
        char byte;
        ssize_t count = recv(fd, &byte, 1, 0);
        if (count < 0 && errno == EINTR) {
            continue;
        }
        if (count <= 0) {
            return std::nullopt;
        }
        if (byte == '\n') {
            return line;
        }
        line += byte;
    }
    return std::nullopt;
}

void ControlServer::writeLine(int fd, const std::string& line)
{
    std::string text = line + "\n";
    const char* cursor = text.data();
    size_t left = text.size();
    while (left > 0) {
        ssize_t count = send(fd, cursor, left, MSG_NOSIGNAL);
        if (count < 0 && errno == EINTR) {
            continue;
        }
        if (count <= 0) {
            return;
        }
        cursor += count;
        left -= static_cast<size_t>(count);
    }
}

}  // namespace memray::payload
