// Asking the capture `memray attach` started in a process to stop, over the payload's control
// channel: what `memray detach` does, and what quitting the live view of an attach does.
#pragma once

#include <sys/types.h>

#include <string>

namespace memray::cli {

struct TrackingStop {
    enum class Outcome {
        kStopped,     // the capture is finished; detail is the payload's summary of it
        kCancelled,   // it had not started yet (it never took the GIL); detail says why
        kNotRunning,  // no capture started by `memray attach` listens in that process
        kBusy,        // the process is tracked by a capture attach did not start; detail names it
        kError,       // the payload could not stop cleanly; detail says why
        kUnexpected,  // an answer this memray does not understand; detail is the answer
    };
    Outcome outcome;
    std::string detail;
};

// Sends the stop request to process PID, whose effective uid is TARGET_UID, and waits for the
// payload to finish the capture (a busy process may take a while: up to a minute). Throws
// injector::Failure when the channel cannot be reached (permission, timeout).
TrackingStop stopTracking(pid_t pid, uid_t target_uid);

}  // namespace memray::cli
