// Finds libmemray_payload.so, the library `memray run` loads into the profiled interpreter.
//
// The payload always travels with the `memray` executable, so it is looked up relative to
// the executable's own location (/proc/self/exe), never through the dynamic loader's search
// path: a different libmemray_payload.so on LD_LIBRARY_PATH must not be picked up by accident.
//
// Candidates, first match wins:
//   $MEMRAY_PAYLOAD                              development override (see below)
//   <exe_dir>/../lib/libmemray_payload.so         build tree: build/bin/memray, build/lib/...
//   <exe_dir>/../lib/memray/libmemray_payload.so  installed: `cmake --install` puts it there
//
// MEMRAY_PAYLOAD=/path/to/libmemray_payload.so is meant for development only (trying a payload
// built elsewhere, or a test stand-in); when it is set it must name an existing file, and no
// other location is tried, so a typo never silently falls back to the installed payload.
#pragma once

#include <filesystem>

namespace memray::cli {

// The payload's absolute path. Throws std::runtime_error naming every location it tried.
std::filesystem::path findPayload();

// Another library that travels with the executable (libmemray_attach.so), looked up in the
// same two places as the payload (no override). Throws like findPayload().
std::filesystem::path findBundledLibrary(const char* name);

}  // namespace memray::cli
