// The options of one capture, parsed from memray_start()'s key=value text.
#pragma once

#include <string>

namespace memray::payload {

struct CaptureConfig
{
    std::string output;
    bool force = false;
    bool trace_python_allocators = false;
    bool native = false;
    bool follow_fork = false;
    bool skip_caller_frames = false;
    // The Python API's Tracker (entry_frame=N): the calling thread's Python frame N at start (0:
    // the innermost) is the frame that entered the Tracker. That thread's stacks leave out the
    // frames that called it, as memray's do, and it is recorded as the capture's main thread.
    // -1: not set (memray run, attach).
    int entry_frame = -1;
    bool attached = false;
    bool stop_at_exit = true;
    bool aggregate = false;         // --aggregate: checkpoints instead of allocation records
    bool aggregate_verify = false;  // with aggregate: the allocation records as well
    unsigned rss_interval_ms = 10;
    // Tests only: widens the moments a fork must be safe in (fork_window.h). From
    // MEMRAY_TEST_FORK_WINDOW_MS in the environment of `memray run` or `memray attach`.
    unsigned fork_window_ms = 0;
};

// False (with a reason) on an unknown key, a malformed value, or a missing output.
bool parseCaptureConfig(const char* text, CaptureConfig* config, std::string* error);

}  // namespace memray::payload
