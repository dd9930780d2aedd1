// The parts of a capture that need the interpreter's cooperation, done with the GIL held at
// start and stop only (never on the allocation path):
//  - Python thread names: a data descriptor on threading.Thread's `_name` and `_ident` reports
//    every name and rename to the tracker, for threads of any age;
//  - an atexit handler that finishes the capture when the program ends normally;
//  - optional wrapping of the pymalloc domains (--trace-python-allocators);
//  - the command line (sys.argv) for the capture's header.
// All C API functions are resolved at run time, so one payload serves every Python version.
#pragma once

#include <string>
#include <vector>

namespace memray::payload {

class PythonIntegration
{
  public:
    // Resolves the C API functions used below. False with a reason if any is missing.
    bool resolve(std::string* error);

    // With the GIL: " ".join(sys.argv) and the configured Python allocator.
    bool describeProcess(std::string* command_line, std::string* allocator, std::string* error);

    // Which frames report leaving their thread's stack (3.12+, sys.monitoring): none, those of
    // the code objects given to setLocalExitEvents (and, from the first of them on, every
    // unwinding one), or every frame.
    enum class FrameExits { kNone, kLocal, kEveryFrame };

    // With the GIL: installs name tracking, the atexit handler (if `stop_at_exit`), the
    // pymalloc wrappers (if `trace_python_allocators`) and, if the interpreter has
    // sys.monitoring (3.12+), a subscription of Tracker::onPythonFrameExit to the frame exits
    // asked for. On failure nothing stays installed.
    bool install(bool stop_at_exit, bool trace_python_allocators, FrameExits frame_exits, std::string* error);

    // Whether install() subscribed to frame exits (no free sys.monitoring tool id, or an older
    // Python, leaves it off; the capture is as exact, its stacks just cost a full walk).
    bool watchingFrameExits() const { return watch_result_ != nullptr; }
    bool watchingEveryFrame() const { return every_frame_; }

    // With the GIL, from anywhere (inside an allocation included): turns return and yield
    // events of `code`'s frames on or off. False if that failed (the events stay as they were).
    bool setLocalExitEvents(const void* code, bool on);

    // With the GIL: undoes install(), turning off the local events of `exit_watched_codes`
    // first. Safe to call when nothing is installed.
    void uninstall(const std::vector<const void*>& exit_watched_codes);

  private:
    void watchFrameExits(bool every_frame);

    void* uninstall_callable_ = nullptr;
    // watch_frame_exits' result (a tuple, owned) and its items (borrowed from it).
    void* watch_result_ = nullptr;
    void* unwatch_callable_ = nullptr;
    void* set_local_events_ = nullptr;
    void* tool_ = nullptr;
    void* return_events_ = nullptr;
    void* no_events_ = nullptr;  // owned
    void* set_events_ = nullptr;
    void* unwind_events_ = nullptr;
    bool every_frame_ = false;
    bool unwinding_watched_ = false;  // PY_UNWIND is on for every frame
    bool pymalloc_installed_ = false;
};

}  // namespace memray::payload
