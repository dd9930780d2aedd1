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

namespace memray::payload {

class PythonIntegration
{
  public:
    // Resolves the C API functions used below. False with a reason if any is missing.
    bool resolve(std::string* error);

    // With the GIL: " ".join(sys.argv) and the configured Python allocator.
    bool describeProcess(std::string* command_line, std::string* allocator, std::string* error);

    // With the GIL: installs name tracking, the atexit handler (if `stop_at_exit`), the
    // pymalloc wrappers (if `trace_python_allocators`) and, if `watch_frame_exits` and the
    // interpreter has sys.monitoring (3.12+), a subscription of Tracker::onPythonFrameExit to
    // every way a frame leaves the stack. On failure nothing stays installed.
    bool install(bool stop_at_exit, bool trace_python_allocators, bool watch_frame_exits, std::string* error);

    // Whether install() subscribed to frame exits (no free sys.monitoring tool id, or an older
    // Python, leaves it off; the capture is as exact, its stacks just cost a full walk).
    bool watchingFrameExits() const { return unwatch_callable_ != nullptr; }

    // With the GIL: undoes install(). Safe to call when nothing is installed.
    void uninstall();

  private:
    void watchFrameExits();

    void* uninstall_callable_ = nullptr;
    void* unwatch_callable_ = nullptr;
    bool pymalloc_installed_ = false;
};

}  // namespace memray::payload
