// Frame-exit reports before 3.12: a profile function in the slot of each thread found deep.
//
// A thread's cached stack can be trusted down to a frame whose exit would be reported
// (python_stack.h). 3.12+ has sys.monitoring for that; 3.7-3.11 have the per-thread profile
// function, which the evaluation loop calls with PyTrace_RETURN whenever a frame returns,
// yields or unwinds, including frames that began before it was installed: 3.7-3.9 test the
// thread's use_tracing at the exit; 3.10 and 3.11 test the CFrame of the exiting frame's
// evaluation call, and each evaluation call copies its flag to its caller's CFrame when it
// returns, so setting the innermost one reaches every frame below it in time.
//
// Why not PEP 523's eval_frame instead: a wrapper sees the exits of frames entered through it
// only, never those already running (the deep part of a stack, and every frame of an attached
// process), costs every thread a C call per frame, and on 3.11 turns off inlined calls (a C
// stack frame per Python call: deep recursions that run today would overflow the C stack).
//
// Installed only in a thread whose stack is found deep, and only into an empty slot: a
// profiler someone else set (cProfile, yappi, sys.setprofile) stays, and that thread keeps
// full walks. Installed by writing the calling thread's own slot with the GIL held, not with
// PyEval_SetProfile, which runs sys.setprofile audit hooks (Python code) inside malloc. Its
// object is NULL, so sys.getprofile() still says None. Nothing here calls into Python.
#pragma once

#include "python_frames.h"
#include "python_layouts.h"

namespace memray::payload {

class ProfileExitHook
{
  public:
    // For this interpreter's layout; false on 3.12+ (or a C API function missing).
    bool init(const PythonLayout* layout);
    bool available() const { return layout_ != nullptr; }
    const PythonLayout* layout() const { return layout_; }

    // The profile function: its address in a thread's slot marks it as ours.
    static const void* function();

    // With the GIL held by the calling thread (checked: false otherwise): puts ours in its
    // empty slot (or switches ours back on, after a greenlet switch restored a stack saved
    // without it). True if every frame now on the thread's stack, and every later one, will
    // report its exit while ours stays.
    bool armCallingThread() const;

    // With the GIL: takes ours out of every thread state of every interpreter, and sets each
    // one's flag back to what its trace function alone needs.
    void removeFromAllThreads() const;

    // Takes ours out of the calling thread's own state (a forked child that does not track:
    // it is the only thread, so no GIL is needed to touch its own state).
    void removeFromCallingThread() const;

  private:
    void remove(void* tstate) const;

    const PythonLayout* layout_ = nullptr;
};

// The hook of the active capture (set by the tracker at start; the callback reads it).
extern ProfileExitHook g_profile_exit_hook;

}  // namespace memray::payload
