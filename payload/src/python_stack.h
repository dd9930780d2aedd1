// The calling thread's Python stack for an allocation, re-reading as little of it as is sound.
//
// A full walk reads every frame, which on a deep stack costs far more than the rest of
// recording an allocation. With frame-exit events (sys.monitoring's PY_RETURN and PY_UNWIND
// on 3.12+, a per-thread profile function's PyTrace_RETURN before) the payload knows
// which frames of the thread's previous stack are certainly still there, as the same
// activations: ThreadState::cached_frames_on_stack, up to an anchor frame whose exit would be
// reported (exit_watched_codes.h, profile_exit_hook.h). Every one of them but the anchor
// is suspended in a call that has not returned, so it has not moved; only the anchor, and
// whatever was called since, needs reading again.
#pragma once

#include "python_frames.h"
#include "thread_state.h"

#include <cstddef>
#include <vector>

namespace memray::payload {

// Deep enough for any real program; deeper stacks lose their outermost frames.
inline constexpr size_t kMaxFrames = 16384;

// The stack an allocation is recorded with: the outermost `kept` frames of the thread's stack
// cache, under `count` freshly walked ones in ThreadState::frames (innermost first).
struct WalkedStack
{
    size_t kept = 0;
    size_t count = 0;
    // Whether frame-exit events will account for every frame of this stack that leaves it
    // (false inside trace functions, where the interpreter sends no events, and before 3.12
    // in a thread whose profile function is not ours).
    bool exits_watched = false;
    bool inside_trace_function = false;
};

// Every Python frame of the calling thread, innermost first, into `frames` (grown as needed,
// up to kMaxFrames). Frames from `stop_code` outwards are left out.
size_t walkWholePythonStack(const PythonFrameWalker& walker, const void* stop_code, std::vector<RawFrame>& frames);

// The calling thread's stack: partial when `exits_watched` (frame-exit events are flowing to
// noteFrameExit) and the thread's cache allows, whole otherwise.
WalkedStack walkPythonStack(const PythonFrameWalker& walker, const void* stop_code, bool exits_watched,
                            ThreadState* thread);

// A frame of the calling thread is leaving its stack (a frame-exit event, with the GIL).
void noteFrameExit(const PythonFrameWalker& walker, ThreadState* thread);

// The same, for the frame at `frame` (the profile function's events know it).
inline void noteFrameExitAt(ThreadState* thread, const void* frame)
{
    // Runs on every Python return while watched, so: a few loads and a compare. The cache is
    // the calling thread's own, touched only by this thread (the tracker's lock guards the
    // shared tables, not this).
    const uint32_t on_stack = thread->cached_frames_on_stack;
    if (on_stack > 0 && frame == thread->stack_cache[on_stack - 1].frame) {
        // The anchor leaves; its callers stay. The next anchor is the innermost of them whose
        // own exit will be reported.
        thread->cached_frames_on_stack = on_stack > 1 ? thread->stack_cache[on_stack - 2].watched_through : 0;
    }
}

// MEMRAY_PARTIAL_WALK_VERIFY: whether `stack` is what a full walk sees (entry frames included
// when `native`). Call before the stack cache is updated.
bool partialWalkMatches(const PythonFrameWalker& walker, const void* stop_code, ThreadState* thread,
                        const WalkedStack& stack, bool native);

}  // namespace memray::payload
