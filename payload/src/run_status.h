// Tells `memray run` that the capture failed (protocol: memray/format/run_status.h).
#pragma once

#include <string>

namespace memray::payload {

// Best effort, never blocks: nothing happens when no `memray run` is listening.
void reportRunStatus(const char* kind, const std::string& path, const std::string& reason);

}  // namespace memray::payload
