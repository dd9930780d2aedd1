// Where a capture's bytes come from, for a reader that may have to wait for them.
//
// A capture file that is complete is read straight from disk. A live view reads a capture while
// it is being written: a file another process is still appending to, or a TCP stream served by
// `memray run --live-remote`. Both look to the reader like a slow file: read() blocks until
// bytes arrive, and returns 0 only once no more will ever come.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace memray::format {

class ByteStream
{
  public:
    virtual ~ByteStream() = default;

    // Up to `size` bytes into `buffer`; blocks until at least one byte is available. Returns 0
    // once the stream has ended for good (the writer finished or went away, the connection
    // closed, or cancel() was called). Throws std::runtime_error (one line) on a read error.
    virtual size_t read(void* buffer, size_t size) = 0;

    // Makes a read() blocked in another thread, and every later one, return 0 promptly.
    // Thread-safe; may be called more than once.
    virtual void cancel() = 0;

    // What the stream is, for messages: "app.bin", "the capture stream on 127.0.0.1:4321".
    virtual std::string name() const = 0;

    // While read() is blocked with nothing received yet: what it waits for, in a few words
    // ("nobody listens on 127.0.0.1:4321 yet; retrying"). Empty once bytes flow. Thread-safe.
    virtual std::string waitingFor() const { return {}; }

    // Bytes the source already holds beyond what read() has returned (a followed file's size
    // past the reading offset, a socket's received but unread bytes): how far the reader is
    // behind the writer. 0 when unknown. Thread-safe (called while another thread reads).
    virtual uint64_t backlog() const { return 0; }
};

}  // namespace memray::format
