// Reading the calling thread's Python stack straight from CPython's frame structures.
//
// Why not a profile hook (memray's shadow stack)? A hook costs on every Python call and
// return; walking the frame chain costs only when the thread allocates, and sees the frames
// that were already on every stack when the capture started, threads created from C, and
// greenlet switches for free. The walk never takes the GIL and never allocates: it only reads
// the calling thread's own frames, which no other thread mutates.
//
// One payload serves CPython 3.7 to 3.13, so the struct layouts are per-version offset tables
// chosen at start from Py_GetVersion(); tests/unit verifies them against each installed
// interpreter's own headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace memray::payload {

// The C API functions the payload calls, resolved at start with dlsym(RTLD_DEFAULT) so the same
// binary works whether libpython is a shared library or linked into the executable.
struct PythonApi
{
    const char* (*Py_GetVersion)() = nullptr;
    int (*Py_IsInitialized)() = nullptr;
    void* (*PyGILState_GetThisThreadState)() = nullptr;
    int (*PyGILState_Ensure)() = nullptr;
    void (*PyGILState_Release)(int) = nullptr;
    int (*PyCode_Addr2Line)(void* code, int byte_offset) = nullptr;
    // A data symbol, not a function: the code type object. 3.13 frames may run something else
    // than a code object, and comparing ob_type with this is how the walker tells.
    const void* PyCode_Type = nullptr;
};

// Resolves every PythonApi function. False (with a reason) if this is not a Python process.
bool resolvePythonApi(PythonApi* api, std::string* error);

// One frame of a walked stack: the code object and the byte offset of the instruction the
// frame is executing (what PyCode_Addr2Line takes).
struct RawFrame
{
    const void* code;
    int32_t byte_offset;
    // The frame's own address (its PyFrameObject or _PyInterpreterFrame). Two frames alive at
    // the same time never share it, which is what the stack tracker's frame-exit bookkeeping
    // relies on (stack_table.h).
    const void* frame = nullptr;
    // The outermost frame of one call of the evaluation loop (entered from C). Every frame
    // on 3.7-3.10; on 3.11+ Python-to-Python calls stay inside one call. Native mode pairs
    // these with the _PyEval_EvalFrameDefault frames of the native stack.
    bool entry = false;
};

// Text of a code object, decoded from its str objects into caller-owned UTF-8 buffers.
struct CodeText
{
    std::string name;
    std::string filename;
    int first_line = 0;
};

class PythonFrameWalker
{
  public:
    // Chooses the offset table for this interpreter (from api.Py_GetVersion()). False (with a
    // reason) for an unsupported version. `api` is kept by pointer and must outlive the walker.
    bool init(const PythonApi& api, std::string* error);

    // Writes the calling thread's Python frames, innermost first, into out[0..capacity) and
    // returns how many it wrote (0 for a thread with no Python thread state). Frames that are
    // not yet executing (3.11+ incomplete frames, C shims) are skipped. The walk stops before
    // a frame whose code object is `stop_code` (nullptr: walk to the outermost frame), and
    // after `capacity` frames (the outermost ones are dropped).
    // Never takes the GIL, never allocates, async-signal-safe.
    size_t walkCurrentThread(RawFrame* out, size_t capacity, const void* stop_code) const;

    // The same walk, which also stops after the frame at address `stop_frame`: used to re-read
    // only the frames above one known to be unchanged. Also tells whether the thread is inside
    // a trace, profile or monitoring callback (PyThreadState.tracing), where the interpreter
    // delivers no events.
    // Also tells, before 3.12, whether the thread's frames report their exits (the profile
    // function given to setProfileHook is in its slot and switched on); always true on 3.12+,
    // whose frame-exit events are the interpreter's (sys.monitoring), not per thread.
    struct PartialWalk
    {
        size_t count = 0;
        bool reached_stop_frame = false;
        bool inside_trace_function = false;
        bool exits_reported = false;
    };
    PartialWalk walkCurrentThreadDownTo(RawFrame* out, size_t capacity, const void* stop_code,
                                        const void* stop_frame) const;

    // The address of the calling thread's innermost frame as CPython links it (whatever it
    // runs), or nullptr. Inside a frame-exit event this is the exiting frame.
    const void* innermostFrameAddress() const;

    // Whether the calling thread holds the GIL (known on 3.12+ only: false before).
    bool holdsGil() const { return attached_thread_state_ != nullptr && attached_thread_state_() != nullptr; }

    // Whether `frame`, a live frame of the calling thread's stack, is a generator's or a
    // coroutine's (3.11+; false before, where it is not known): one that leaves the stack at
    // every yield and await, not once.
    bool frameOwnedByGenerator(const void* frame) const;
    // Whether `frame` (a complete live frame of the calling thread) is the first frame of its
    // evaluation call, as a walk through it would mark it (RawFrame::entry).
    bool frameIsEntry(const void* frame) const;

    // An address inside the native frame of the evaluation call that entry frame `frame` (of
    // the calling thread, still running) is the first of: 3.12+'s C-stack shim, a local of
    // that call, which the frame links to. nullptr before 3.12, or if `frame` is no entry frame.
    const void* evaluationCallAddress(const void* frame) const;

    // Whether `frames[0..count)` (a walk's output, innermost first) are consecutive in the
    // interpreter's own chain: no frame between two of them was left out (3.11+: one still in
    // its prologue, GC having run Python code from inside it).
    bool linkedConsecutively(const RawFrame* frames, size_t count) const;

    // The code object of the calling thread's innermost Python frame, or nullptr.
    const void* currentCode() const;

    // Reads name, filename and first line of a live code object. Does not take the GIL and
    // does not call into Python: the strings are decoded from the str objects directly.
    void readCode(const void* code, CodeText* out) const;

    // The source line of `frame` (PyCode_Addr2Line; reads only the immutable line table).
    int lineNumber(const RawFrame& frame) const;

    int pythonMinor() const { return minor_; }

    // Before 3.12: the profile function whose presence in a thread's slot means that the
    // thread reports every frame exit (profile_exit_hook.h); nullptr: none does.
    void setProfileHook(const void* function) { profile_hook_ = function; }

  private:
    // The calling thread's own state, whether or not it holds the GIL right now; null for
    // threads that never ran Python.
    const void* callingThreadState() const;

    const PythonApi* api_ = nullptr;
    const void* profile_hook_ = nullptr;
    // 3.12+ (else null): the thread state attached to the calling thread, null while it does
    // not hold the GIL. _PyThreadState_UncheckedGet in 3.12, PyThreadState_GetUnchecked after.
    void* (*attached_thread_state_)() = nullptr;
    int minor_ = 0;
    const struct PythonLayout* layout_ = nullptr;
    // The walk specialised for layout_ (python_frames.cpp).
    size_t (*walk_)(const void* code_type, const void* tstate, RawFrame* out, size_t capacity, const void* stop_code,
                    const void* stop_frame, bool* reached_stop_frame) = nullptr;
};

}  // namespace memray::payload
