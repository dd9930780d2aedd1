// Who writes a file, found through /proc: how a followed capture (capture_streams.h) knows
// that its writer is done with it. A writer that exits, is killed or closes the capture no
// longer has it open; a reader (this one included) never counts, since only descriptors open
// for writing do.
#pragma once

#include <sys/types.h>

namespace memray::reader {

// Whether process `pid` has the file (dev, ino) open for writing. A process whose descriptors
// cannot be listed (another user's) counts as writing while it exists.
bool processWritesFile(pid_t pid, dev_t dev, ino_t ino);

// Whether any process this user can see has (dev, ino) open for writing: for a capture whose
// header names no writer yet. Scans every /proc/PID/fd; call it rarely.
bool anyProcessWritesFile(dev_t dev, ino_t ino);

}  // namespace memray::reader
