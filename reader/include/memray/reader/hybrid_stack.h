// Hybrid stacks of native captures: the native stack of an allocation with each interpreter
// evaluation frame replaced by the Python frames it was running, so that
//     <module> -> handler -> (C extension) ext_func -> helper -> (Python callback) cb
// reads in the order the calls really happened.
//
// Pairing: _PyEval_EvalFrameDefault frames (recognised by symbol name) are matched with the
// runs of Python frames that start at entry frames (StackEntry::entry), innermost first. Extra
// outer evaluation frames belong to frames the capture hid (memray's own start-up code) and are
// dropped; extra outer Python runs (the native stack was cut short, or the interpreter has no
// symbols) go on top. So when pairing fails the result degrades to Python frames over native
// ones instead of being wrong in the middle.
//
// Noise (dropped unless HybridOptions::keep_interpreter_frames):
//  * every native frame above the outermost Python frame: process and thread start-up
//    (_start, main, Py_RunMain, clone, start_thread, thread_run...);
//  * native frames of the interpreter itself (libpython, or the python executable when it is
//    linked statically) that are CPython's generic call paths or private helpers, by name:
//    _Py*, PyEval*, *ectorcall*, PyObject_Call*, PyCFunction_Call*, cfunction_call*,
//    function_code_fastcall and call_function (3.8-3.10 call helpers). How a call got
//    somewhere, never what the program asked for;
//  * native frames of the interpreter itself that have no name at all (no symbol, no debug
//    info: "python3.11+0x1a2b3c" in a stripped interpreter such as Debian's
//    /usr/bin/python3.11). These are its static helpers -- the same machinery, unnamed -- and
//    a person can make nothing of them. They are flagged HybridFrame::unnamed_interpreter,
//    and kept with that flag under HybridOptions::keep_unnamed_interpreter_frames, so that a
//    report can hide them by default and still offer to show them.
// Everything else stays, interpreter frames with a name or a source location included: public
// entry points the program calls (PyMem_Malloc, PyList_Append...) and what builtins do
// (builtin_sorted -> list_extend -> gen_iternext shows who drives a generator; map_next who
// calls a mapped function). A stack without Python frames (a native thread that never ran
// Python) keeps all its frames. Both rules only apply inside the interpreter's image: a C
// extension's own _Py-named function stays, and so do its unnamed frames ("_foo.so+0x1234").
#pragma once

#include "memray/reader/capture_reader.h"
#include "memray/reader/native_symbolizer.h"

#include <cstdint>
#include <string_view>
#include <vector>

namespace memray::reader {

struct HybridFrame
{
    std::string_view function;
    std::string_view file;  // "" for a native frame without debug info
    uint64_t line = 0;
    bool native = false;
    bool unnamed = false;  // native, without symbol or debug info: function is "object+0xoffset"
    // Native, in CPython's own build: the interpreter's image or one of the standard library's
    // extension modules (lib-dynload: _ctypes...). The program's own C code never is.
    bool python_build = false;
    // A native frame of the interpreter's own image, below the outermost Python frame, with no
    // name (see above): CPython's machinery that reports hide unless asked to show everything.
    bool unnamed_interpreter = false;
};

struct HybridOptions
{
    // Every frame: start-up, named call machinery and unnamed interpreter frames (flagged).
    bool keep_interpreter_frames = false;
    // Unnamed interpreter frames only, flagged, for reports that show or hide them on request.
    bool keep_unnamed_interpreter_frames = false;
};

class HybridStackBuilder
{
  public:
    // Both must outlive the builder; the views it returns live as long as they do.
    HybridStackBuilder(const CaptureReader& capture, NativeSymbolizer& symbolizer, HybridOptions options = {});

    // The merged frames of an allocation, outermost first. With native_stack_id 0 (not a
    // native capture, or nothing unwound) this is just the Python stack.
    std::vector<HybridFrame> build(uint64_t python_stack_id, uint64_t native_stack_id);

    // Whether a native function is the interpreter's evaluation loop.
    static bool isEvalFunction(std::string_view function);

  private:
    bool isInterpreterImage(std::string_view path) const;

    const CaptureReader& capture_;
    NativeSymbolizer& symbolizer_;
    HybridOptions options_;
};

}  // namespace memray::reader
