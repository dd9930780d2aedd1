// Test-only shared library around the payload's frame walker, loaded into the interpreter
// under test with ctypes by python_frames_target.py. Each entry point walks the calling
// thread's Python stack and renders it as "name:file:line;..." (innermost first), which the
// script compares with what CPython itself reports for the same call site.
//
// Loaded through ctypes.PyDLL the calls run with the GIL held, through ctypes.CDLL without it;
// the walker must give the same answer either way.
#include "python_frames.h"

#include <string>
#include <thread>

namespace {

using memray::payload::CodeText;
using memray::payload::PythonApi;
using memray::payload::PythonFrameWalker;
using memray::payload::RawFrame;

constexpr size_t kCapacity = 1024;

struct Probe
{
    PythonApi api;
    PythonFrameWalker walker;
    std::string error;
    bool ok = false;

    Probe()
    {
        ok = memray::payload::resolvePythonApi(&api, &error) && walker.init(api, &error);
    }
};

const Probe& probe()
{
    static const Probe instance;  // the first call comes from Python, with the GIL held
    return instance;
}

// Results live per thread until the thread's next call; ctypes copies them at once.
thread_local std::string t_result;

// The code object remembered by probe_mark(), for probe_stack_until_mark().
const void* g_mark = nullptr;

const char* render(const RawFrame* frames, size_t count)
{
    const Probe& p = probe();
    t_result.clear();
    CodeText text;
    for (size_t i = 0; i < count; ++i) {
        p.walker.readCode(frames[i].code, &text);
        if (i != 0) {
            t_result += ';';
        }
        t_result += text.name + ':' + text.filename + ':' + std::to_string(p.walker.lineNumber(frames[i]));
    }
    return t_result.c_str();
}

const char* walk(size_t capacity, const void* stop_code)
{
    const Probe& p = probe();
    if (!p.ok) {
        t_result = "error:" + p.error;
        return t_result.c_str();
    }
    RawFrame frames[kCapacity];
    const size_t count = p.walker.walkCurrentThread(frames, capacity < kCapacity ? capacity : kCapacity, stop_code);
    return render(frames, count);
}

}  // namespace

// Exported whatever the build's default symbol visibility is: ctypes looks these up by name.
#define PROBE_EXPORT __attribute__((visibility("default")))

extern "C" {

// "" when the walker initialised, else the reason it did not.
PROBE_EXPORT const char* probe_error()
{
    return probe().ok ? "" : probe().error.c_str();
}

PROBE_EXPORT int probe_python_minor()
{
    return probe().walker.pythonMinor();
}

PROBE_EXPORT const char* probe_stack()
{
    return walk(kCapacity, nullptr);
}

PROBE_EXPORT const char* probe_stack_n(size_t capacity)
{
    return walk(capacity, nullptr);
}

// Remembers the code object of the calling Python function (currentCode()).
PROBE_EXPORT void probe_mark()
{
    g_mark = probe().walker.currentCode();
}

PROBE_EXPORT const char* probe_stack_until_mark()
{
    return walk(kCapacity, g_mark);
}

// "name:file:first_line" of currentCode(), i.e. of the calling Python function.
PROBE_EXPORT const char* probe_current_code()
{
    const Probe& p = probe();
    CodeText text;
    p.walker.readCode(p.walker.currentCode(), &text);
    t_result = text.name + ':' + text.filename + ':' + std::to_string(text.first_line);
    return t_result.c_str();
}

// Frames seen by a thread that never ran Python (it has no thread state): must be 0.
PROBE_EXPORT int probe_native_thread_frames()
{
    size_t count = 1;
    std::thread([&count] {
        RawFrame frames[8];
        count = probe().walker.walkCurrentThread(frames, 8, nullptr);
    }).join();
    return static_cast<int>(count);
}

}  // extern "C"
