// The byte streams a live view reads captures from (format/byte_stream.h).
#pragma once

#include "memray/format/byte_stream.h"

#include <cstdint>
#include <memory>
#include <string>

namespace memray::reader {

// A capture file, read as its writer appends to it (like `tail -f`). At its current end the
// stream waits for more while the file is still being written, and ends once it is not: the
// capture's writer (the process the metadata names, or `writer_pid` when given) no longer has
// the file open. Throws std::runtime_error (one line) if the file cannot be opened.
std::unique_ptr<format::ByteStream> openFollowedFile(const std::string& path, int writer_pid = 0);

// Whether some process still has `path` open for writing as a capture's writer would (checked
// through /proc/PID/fd of `pid`, or of the pid in the capture's metadata when pid is 0).
bool captureIsBeingWritten(const std::string& path, int pid = 0);

// The capture stream that `memray run --live-remote` serves on 127.0.0.1:`port`. Connecting
// happens inside read(): while nobody listens there, it retries every 500 ms (waitingFor() says
// so) until it connects or is cancelled.
std::unique_ptr<format::ByteStream> connectCaptureStream(uint16_t port);

}  // namespace memray::reader
