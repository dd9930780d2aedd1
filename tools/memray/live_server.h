// `memray run --live-remote`: serves the program's capture, as it is being written, to every
// viewer (`memray live PORT`) that connects to 127.0.0.1:PORT.
//
// The program writes its capture to a private file (live_workspace.h), exactly as with -o; this
// server only reads that file. So a viewer never slows the program (a slow one just falls
// behind in its own connection), viewers may come and go, and each new one is sent the capture
// from its start, so it shows the same heap as one that watched from the beginning. Each
// viewer has a thread of its own.
//
// The wire carries the capture file's bytes unchanged: header, metadata, LZ4 chunks.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <sys/types.h>

namespace memray::cli {

class LiveServer
{
  public:
    // Listens on `address`:`port` (an IPv4 address; port 0: a free port, see port()). Throws
    // std::runtime_error (one line) if it cannot, e.g. when the port is taken.
    explicit LiveServer(uint16_t port, const std::string& address = "127.0.0.1");
    // Stops serving (as finish(0s) does).
    ~LiveServer();
    LiveServer(const LiveServer&) = delete;
    LiveServer& operator=(const LiveServer&) = delete;

    uint16_t port() const;

    // How many viewers have connected so far.
    size_t viewersAccepted() const;

    // Starts accepting viewers, on a thread of its own: each is sent the capture at `path` (as
    // this process reaches it), followed while process `writer` writes it.
    void serve(const std::string& path, pid_t writer);

    // Stops accepting, gives the connected viewers up to `grace` to receive the rest of the
    // capture (the writer has ended by now, so that rest is finite), then closes them all.
    void finish(std::chrono::milliseconds grace);

  private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace memray::cli
