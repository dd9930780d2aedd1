#include "run_status_listener.h"

#include "memray/format/run_status.h"

#include <cstddef>
#include <cstring>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

namespace memray::cli {

RunStatusListener::RunStatusListener()
{
    // Close-on-exec: the program must not inherit it.
    d_socket = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (d_socket < 0) {
        return;
    }
    // The kernel then attaches each sender's credentials, which collect() checks.
    const int on = 1;
    sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    const std::string name = format::runStatusSocketName(getpid());
    std::memcpy(address.sun_path + 1, name.data(), name.size());  // abstract namespace
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    if (setsockopt(d_socket, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0
        || bind(d_socket, reinterpret_cast<const sockaddr*>(&address), length) != 0) {
        spdlog::debug("no capture status channel: {}", std::strerror(errno));
        close(d_socket);
        d_socket = -1;
    }
}

RunStatusListener::~RunStatusListener()
{
    if (d_socket >= 0) {
        close(d_socket);
    }
}

std::vector<RunStatusReport> RunStatusListener::collect(pid_t sender) const
{
    std::vector<RunStatusReport> reports;
    if (d_socket < 0) {
        return reports;
    }
    for (;;) {
        char text[8192];
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
        iovec data = {text, sizeof text};
        msghdr message = {};
        message.msg_iov = &data;
        message.msg_iovlen = 1;
        message.msg_control = control;
        message.msg_controllen = sizeof control;
        const ssize_t got = recvmsg(d_socket, &message, MSG_DONTWAIT);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            return reports;  // EAGAIN: nothing more
        }
        const cmsghdr* header = CMSG_FIRSTHDR(&message);
        ucred credentials = {};
        if (!header || header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_CREDENTIALS) {
            continue;
        }
        std::memcpy(&credentials, CMSG_DATA(header), sizeof credentials);
        if (credentials.pid != sender) {
            continue;
        }
        const std::string_view body(text, static_cast<size_t>(got));
        const size_t first = body.find('\t');
        const size_t second = first == std::string_view::npos ? first : body.find('\t', first + 1);
        if (second == std::string_view::npos) {
            continue;
        }
        reports.push_back(RunStatusReport{std::string(body.substr(0, first)),
                                          std::string(body.substr(first + 1, second - first - 1)),
                                          std::string(body.substr(second + 1))});
    }
}

}  // namespace memray::cli
