#include "run_status.h"

#include "memray/format/run_status.h"

#include <atomic>
#include <cstddef>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace memray::payload {

namespace {

std::atomic<bool> g_enabled{false};

}  // namespace

void enableRunStatusReports()
{
    g_enabled = true;
}

void reportRunStatus(const char* kind, const std::string& path, const std::string& reason)
{
    if (!g_enabled) {
        return;
    }
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return;
    }
    sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    const std::string name = format::runStatusSocketName(::getppid());
    std::memcpy(address.sun_path + 1, name.data(), name.size());  // sun_path[0] = 0: abstract
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    const std::string message = std::string(kind) + "\t" + path + "\t" + reason;
    ::sendto(fd, message.data(), message.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
             reinterpret_cast<const sockaddr*>(&address), length);
    ::close(fd);
}

}  // namespace memray::payload
