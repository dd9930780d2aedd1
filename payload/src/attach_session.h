// An attach session: what memray_attach_begin() sets going inside the target.
//
// memray attach hijacks a target thread for the shortest time it can: it loads the payload
// and calls memray_attach_begin(), which only copies its argument and starts the session
// thread (no Python, no GIL, no locks of ours on the hijacked thread). The session thread then
// opens the control channel (control_channel.h), starts the capture from a helper thread
// that takes the GIL the normal way (Tracker::start), reports progress to the CLI, stops the
// capture on `memray detach` or when --duration runs out, and ends. The payload stays loaded;
// a later attach starts a new session.
#pragma once

namespace memray::payload {

// memray_attach_begin()'s results.
enum AttachBeginResult : int {
    kAttachStarted = 0,    // the session thread is running
    kAttachBusy = 1,       // a session is already running: the process is already being tracked
    kAttachBadConfig = 2,  // no configuration, or one too long to copy
    kAttachNoThread = 3,   // pthread_create failed
};

// Runs on the hijacked thread: copies `config` (attach_config.h) and starts the session thread.
int beginAttachSession(const char* config);

}  // namespace memray::payload
