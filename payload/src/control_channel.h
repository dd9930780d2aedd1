// The server side of the attach control channel: a Unix stream socket in a directory only
// the target's user can enter, answering one line-based request per connection.
//
// Who may talk to it: the target's own user or root, checked with SO_PEERCRED on every
// connection (the socket's mode 0600 and its directory's 0700 already keep others out; the
// check also covers a socket reached through /proc/PID/root). No network port is opened.
//
// Protocol (tools/memray/cmd_attach.cpp and cmd_detach.cpp are the clients):
//   "status\n" -> "starting\n" | "active <capture path>\n" | "error <message>\n"
//   "stop\n"   -> "stopped <one-line summary>\n" | "error <message>\n"; the session ends after it
#pragma once

#include <optional>
#include <string>

namespace memray::payload {

class ControlServer
{
  public:
    ControlServer() = default;
    ~ControlServer() { close(); }
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // Creates the directory (0700) if needed, refuses one not owned by us or open to others,
    // replaces a stale socket and listens. False with a reason on failure.
    bool open(const std::string& path, std::string* error);
    // A connection from an allowed peer, or -1 when `timeout_ms` passed (-1: wait forever).
    int accept(int timeout_ms);
    // Closes the socket and removes its file.
    void close();
    int fd() const { return fd_; }

    // One request line (without the newline), or nullopt on timeout, EOF or garbage.
    static std::optional<std::string> readLine(int fd, int timeout_ms);
    static void writeLine(int fd, const std::string& line);

  private:
    int fd_ = -1;
    std::string path_;
};

}  // namespace memray::payload
