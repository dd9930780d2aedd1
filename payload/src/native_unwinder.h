// Unwinding the calling thread's native (C/C++) stack, for native mode.
//
// libunwind's local unw_backtrace, loaded by the first native capture. It reads .eh_frame, so
// it works on code built without frame pointers (CPython and most distribution libraries),
// and with a per-thread cache of unwind info it costs a few hundred nanoseconds per frame once
// warm. It never takes the GIL; what it allocates for its caches goes through libunwind's own
// GOT slot, which the recursion guard of the allocating thread keeps out of the capture.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace memray::payload {

namespace native_unwinder {

// Process-wide set-up before a native capture starts: loads libunwind, sets its cache policy,
// finds the payload's own code range. Idempotent. False, with the reason, if libunwind cannot
// be loaded.
bool prepare(std::string* error);

// The calling thread's return addresses, innermost first, without the payload's own frames
// (the intercept that called us is not part of the program's stack). `scratch` grows as needed.
// Returns how many of scratch's entries are valid.
size_t unwind(std::vector<void*>& scratch);

// Forgets cached unwind information (after dlclose: the addresses may be reused).
void flushCaches();

}  // namespace native_unwinder
}  // namespace memray::payload
