#include "profile_exit_hook.h"

#include "python_c_abi.h"
#include "tracker.h"

#include <cstring>

namespace memray::payload {

ProfileExitHook g_profile_exit_hook;

namespace {

constexpr int kPyTraceReturn = 3;  // PyTrace_RETURN, the same in every version

// The C API entry points used here (all exported by 3.7-3.11).
struct HookApi
{
    void* (*current_thread_state)();  // _PyThreadState_UncheckedGet: the GIL holder's state
    void* (*own_thread_state)();      // PyGILState_GetThisThreadState
    void* (*interpreter_head)();
    void* (*interpreter_next)(void*);
    void* (*thread_head)(void*);
    void* (*thread_next)(void*);
};

HookApi g_hook_api;

template<typename T>
T load(const void* base, int16_t offset)
{
    T value;
    std::memcpy(&value, static_cast<const char*>(base) + offset, sizeof(value));
    return value;
}

template<typename T>
void store(void* base, int16_t offset, T value)
{
    std::memcpy(static_cast<char*>(base) + offset, &value, sizeof(value));
}

// The profile function: called by the interpreter of a thread that has it in its slot, for
// every call and return of its frames (and of the C functions they call). Only returns matter,
// and for those: a few loads and a compare (Tracker::onPythonFrameExitAt). Never fails, never
// calls into Python.
// Takes ours out of the slot of the thread running a callback of ours. The interpreter
// recomputes its flag from the slots when the callback returns.
void leaveCurrentThread(const PythonLayout& layout)
{
    if (void* tstate = g_hook_api.current_thread_state()) {
        if (load<const void*>(tstate, layout.tstate_profilefunc) == ProfileExitHook::function()) {
            store<const void*>(tstate, layout.tstate_profilefunc, nullptr);
        }
    }
}

int onProfileEvent(void* /*object*/, void* frame, int what, void* /*argument*/)
{
    const PythonLayout& layout = *g_profile_exit_hook.layout();
    if (!g_tracking.load(std::memory_order_relaxed)) [[unlikely]] {
        // Tracking stopped and a stop missed this thread (or a forked child did not track).
        leaveCurrentThread(layout);
        return 0;
    }
    const bool returning = what == kPyTraceReturn;
    // 3.11 passes the frame object of the exiting _PyInterpreterFrame, which is what the walk
    // records as the frame's address; before, the frame object is the frame.
    const void* address = !returning || layout.frameobject_frame == kAbsent
                                  ? frame
                                  : load<const void*>(frame, layout.frameobject_frame);
    if (Tracker::onProfileEvent(address, returning)) [[unlikely]] {
        leaveCurrentThread(layout);
    }
    return 0;
}

}  // namespace

const void* ProfileExitHook::function()
{
    return reinterpret_cast<const void*>(&onProfileEvent);
}

bool ProfileExitHook::init(const PythonLayout* layout)
{
    layout_ = nullptr;
    if (layout == nullptr || layout->tstate_profilefunc == kAbsent) {
        return false;
    }
    HookApi api{};
    if (!python_abi::lookUp("_PyThreadState_UncheckedGet", &api.current_thread_state)
        || !python_abi::lookUp("PyGILState_GetThisThreadState", &api.own_thread_state)
        || !python_abi::lookUp("PyInterpreterState_Head", &api.interpreter_head)
        || !python_abi::lookUp("PyInterpreterState_Next", &api.interpreter_next)
        || !python_abi::lookUp("PyInterpreterState_ThreadHead", &api.thread_head)
        || !python_abi::lookUp("PyThreadState_Next", &api.thread_next))
    {
        return false;
    }
    g_hook_api = api;
    layout_ = layout;
    return true;
}

bool ProfileExitHook::armCallingThread() const
{
    if (layout_ == nullptr) {
        return false;
    }
    const PythonLayout& l = *layout_;
    void* tstate = g_hook_api.own_thread_state();
    // The GIL holder's state is this thread's: it holds the GIL (and runs no subinterpreter).
    if (tstate == nullptr || g_hook_api.current_thread_state() != tstate) {
        return false;
    }
    // Inside a trace or profile callback the flag is off on purpose (the interpreter turns it
    // back on when the callback returns).
    if (load<TracingInt>(tstate, l.tstate_tracing) != 0) {
        return false;
    }
    // 3.11 skips the profile function at an exit whose trace function failed.
    if (l.minor == 11 && load<const void*>(tstate, l.tstate_tracefunc) != nullptr) {
        return false;
    }
    const void* current = load<const void*>(tstate, l.tstate_profilefunc);
    if (current != function()) {
        if (current != nullptr || load<const void*>(tstate, l.tstate_profileobj) != nullptr) {
            return false;  // someone else's profiler: never replaced
        }
        store<const void*>(tstate, l.tstate_profilefunc, function());
    }
    setUseTracing(l, tstate, true);
    return true;
}

void ProfileExitHook::remove(void* tstate) const
{
    const PythonLayout& l = *layout_;
    if (load<const void*>(tstate, l.tstate_profilefunc) != function()) {
        return;
    }
    store<const void*>(tstate, l.tstate_profilefunc, nullptr);
    // What the interpreter itself computes: on for a trace function, except inside a callback
    // (it turns the flag back on when the callback returns).
    const bool tracing = load<TracingInt>(tstate, l.tstate_tracing) != 0;
    setUseTracing(l, tstate, !tracing && load<const void*>(tstate, l.tstate_tracefunc) != nullptr);
}

void ProfileExitHook::removeFromAllThreads() const
{
    if (layout_ == nullptr) {
        return;
    }
    for (void* interp = g_hook_api.interpreter_head(); interp != nullptr; interp = g_hook_api.interpreter_next(interp)) {
        for (void* tstate = g_hook_api.thread_head(interp); tstate != nullptr; tstate = g_hook_api.thread_next(tstate)) {
            remove(tstate);
        }
    }
}

void ProfileExitHook::removeFromCallingThread() const
{
    if (layout_ == nullptr) {
        return;
    }
    if (void* tstate = g_hook_api.own_thread_state()) {
        remove(tstate);
    }
}

}  // namespace memray::payload
