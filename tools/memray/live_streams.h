// The capture stream of a live session whose writer is just starting.
//
// `run --live` and `--live-remote` start the program and follow its capture at once, before
// the program has created the file; reader::openFollowedFile needs the file to exist.
#pragma once

#include "memray/format/byte_stream.h"

#include <memory>
#include <string>

#include <sys/types.h>

namespace memray::cli {

// Waits (cancellably) for `path` to appear while process `writer` lives, then follows it as
// reader::openFollowedFile(path, writer) does. Ends without a byte if the writer dies first.
// `name` is the stream's name in messages.
std::unique_ptr<format::ByteStream> followCaptureOnceCreated(const std::string& path, pid_t writer,
                                                             const std::string& name);

}  // namespace memray::cli
