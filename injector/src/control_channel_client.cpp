#include "memray/injector/control_channel.h"

#include "memray/injector/failure.h"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace memray::injector {

namespace {

using Clock = std::chrono::steady_clock;

int millisecondsLeft(Clock::time_point deadline)
{
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left <= 0 ? 0 : static_cast<int>(left);
}

class Socket
{
  public:
    Socket()
    : fd_(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0))
    {
    }
    ~Socket()
    {
        if (fd_ >= 0) {
            close(fd_);
        }
    }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    int get() const { return fd_; }

  private:
    int fd_;
};

}  // namespace

std::string controlSocketPath(pid_t pid, uid_t target_uid)
{
    return "/tmp/memray-" + std::to_string(target_uid) + "/attach-" + std::to_string(pid) + ".sock";
}

std::optional<std::string> controlDirectoryProblem(pid_t pid, const std::string& socket_path, uid_t target_uid)
{
    const std::string directory = socket_path.substr(0, socket_path.rfind('/'));
    struct stat info;
    if (lstat(("/proc/" + std::to_string(pid) + "/root" + directory).c_str(), &info) != 0) {
        return std::nullopt;  // absent (created by the session) or not ours to look at
    }
    if (!S_ISDIR(info.st_mode) || info.st_uid != target_uid || (info.st_mode & 077) != 0) {
        return "refusing to use " + directory + " for memray's control socket: it must be a directory owned by uid "
               + std::to_string(target_uid) + " with mode 0700 (remove it, or fix its owner and mode)";
    }
    return std::nullopt;
}

std::optional<std::string> askControlChannel(pid_t pid,
                                             const std::string& socket_path,
                                             const std::string& request,
                                             std::chrono::milliseconds timeout)
{
    const Clock::time_point deadline = Clock::now() + timeout;
    const std::string path = "/proc/" + std::to_string(pid) + "/root" + socket_path;
    sockaddr_un address{};
    if (path.size() >= sizeof(address.sun_path)) {
        throw Failure(FailureKind::Internal, "control socket path too long: " + path);
    }
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    Socket socket;
    if (socket.get() < 0) {
        throw Failure(FailureKind::Internal, std::string("cannot create a socket: ") + std::strerror(errno));
    }
    while (connect(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        if (errno == EINTR) {
            continue;
        }
        if (errno == ENOENT || errno == ECONNREFUSED || errno == ENOTDIR) {
            return std::nullopt;
        }
        if (errno == EACCES || errno == EPERM) {
            throw Failure(FailureKind::PermissionDenied,
                          "permission denied: cannot reach the memray control socket of process " + std::to_string(pid)
                                  + " (" + path + "); run as the process's user or as root");
        }
        throw Failure(FailureKind::Internal, "cannot connect to " + path + ": " + std::strerror(errno));
    }
    // Whoever serves the socket must be the target itself.
    ucred peer{};
    socklen_t length = sizeof(peer);
    if (getsockopt(socket.get(), SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0 || peer.pid != pid) {
        throw Failure(FailureKind::Internal, "the control socket " + path + " is not served by process " + std::to_string(pid));
    }
    std::string line = request + "\n";
    if (send(socket.get(), line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
        // The session ended between connect and send (it serves one request at a time).
        return std::nullopt;
    }
    std::string reply;
    while (true) {
        pollfd waiting{socket.get(), POLLIN, 0};
        int ready = poll(&waiting, 1, millisecondsLeft(deadline));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready < 0) {
            throw Failure(FailureKind::Internal, std::string("poll: ") + std::strerror(errno));
        }
        if (ready == 0) {
            throw Failure(FailureKind::Internal, "timed out waiting for process " + std::to_string(pid)
                                                     + " to answer on its memray control socket");
        }
        char chunk[512];
        ssize_t count = recv(socket.get(), chunk, sizeof(chunk), 0);
        if (count < 0 && errno == EINTR) {
            continue;
        }
        if (count <= 0) {
            // Closed without an answer: the session ended meanwhile.
            return reply.empty() ? std::nullopt : std::optional<std::string>(reply);
        }
        reply.append(chunk, static_cast<size_t>(count));
        size_t newline = reply.find('\n');
        if (newline != std::string::npos) {
            return reply.substr(0, newline);
        }
    }
}

}  // namespace memray::injector
