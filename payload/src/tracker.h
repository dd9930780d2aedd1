// The capture: its lifecycle (start/stop, fork) and the recording entry points the intercepts
// call. One capture at most is active in a process.
#pragma once

#include "capture_config.h"
#include "recursion_guard.h"

#include "memray/format/capture_format.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

namespace memray::payload {

// True while a capture is active: the one check every intercept makes before anything else.
extern std::atomic<bool> g_tracking;

class Tracker
{
  public:
    // Begins a capture (takes the GIL itself). False with a reason on failure.
    static bool start(const CaptureConfig& config, std::string* error);
    // Ends the active capture (takes the GIL if Python is still running). False if none is active.
    static bool stop(std::string* error, std::string* summary);
    static bool isActive();
    // The process is ending without Python's atexit handlers (os._exit, exit() from C): finish
    // the file (trailer, last chunk) without touching the interpreter. Never fails loudly.
    static void finishAtProcessExit();

    // The recording entry points (call with the recursion guard set).
    static void recordAllocation(format::Allocator allocator, uintptr_t address, size_t size);
    static void recordDeallocation(format::Deallocator deallocator, uintptr_t address, size_t size);

    // A Python frame of the calling thread is leaving its stack (return, yield or unwinding):
    // the frame-exit events the Python integration subscribes to on 3.12+ (with the GIL).
    static void onPythonFrameExit();
    // Before 3.12, our profile function's events (with the GIL): any event counts against the
    // thread's budget; a return also means the frame at `frame` (its address as the walk records
    // it) is leaving the stack. True when the budget is spent: the profile function should take
    // itself out of the thread.
    static bool onProfileEvent(const void* frame, bool returning);
    // With the GIL held: a code object is about to be freed (code_lifetime.h).
    static void onCodeDeath(const void* code);

    // prctl(PR_SET_NAME) on the calling thread.
    static void setCurrentThreadName(const char* name);
    // A Python thread name for the thread whose pthread id (threading.get_ident()) is `ident`.
    static void setThreadNameByIdent(unsigned long ident, const char* name);

    // After a successful dlopen: intercept the newly loaded objects too.
    static void patchNewlyLoadedObjects();
    // Native mode, after a dlopen or dlclose: record the new map of loaded objects.
    static void loadedObjectsChanged(bool unloaded);
};

// The inline gate in front of the recording functions. Addresses are plain integers: they are
// recorded, never dereferenced (and a freed pointer must not be "used" even to be recorded).
inline void trackAllocation(format::Allocator allocator, uintptr_t address, size_t size)
{
    if (!g_tracking.load(std::memory_order_relaxed) || RecursionGuard::active()) {
        return;
    }
    RecursionGuard guard;
    Tracker::recordAllocation(allocator, address, size);
}

inline void trackDeallocation(format::Deallocator deallocator, uintptr_t address, size_t size)
{
    if (!g_tracking.load(std::memory_order_relaxed) || RecursionGuard::active()) {
        return;
    }
    RecursionGuard guard;
    Tracker::recordDeallocation(deallocator, address, size);
}

}  // namespace memray::payload
