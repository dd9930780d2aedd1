// Tells `memray run` that the capture failed (protocol: memray/format/run_status.h).
#pragma once

#include <string>

namespace memray::payload {

// From now on, report to `memray run`. Called when its bootstrap starts the capture (through
// the extension module, python_module.cpp): an attached capture never reports, so the system
// calls the payload makes in an attach target stay the ones memray attach checks a seccomp
// sandbox against (injector/src/seccomp_check.cpp).
void enableRunStatusReports();

// Best effort, never blocks: nothing happens when no `memray run` is listening, or before
// enableRunStatusReports().
void reportRunStatus(const char* kind, const std::string& path, const std::string& reason);

}  // namespace memray::payload
