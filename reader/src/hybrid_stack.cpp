#include "memray/reader/hybrid_stack.h"

#include <algorithm>

namespace memray::reader {

namespace {

std::string_view basename(std::string_view path)
{
    const size_t slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// One native frame after inline expansion, outermost first, with what the merge needs to know.
struct NativeSlot
{
    HybridFrame frame;
    uint64_t node = 0;  // the trie node it came from (inlined frames share their node)
    bool interpreter = false;  // in the interpreter's own image
};

bool contains(std::string_view text, std::string_view part)
{
    return text.find(part) != std::string_view::npos;
}

bool startsWith(std::string_view text, std::string_view prefix)
{
    return text.substr(0, prefix.size()) == prefix;
}

// CPython's generic call paths and private helpers: how a call got somewhere, never what the
// program asked for. Public entry points the program calls (PyMem_Malloc, PyList_Append...)
// and what a builtin does (builtin_sorted, map_next, list_extend...) stay. trace_call_function
// is the path calls take in a thread with a profile function (3.9-3.11), which the payload puts
// in threads found deep before 3.12.
bool isCallMachinery(std::string_view function)
{
    return startsWith(function, "_Py") || startsWith(function, "PyEval") || contains(function, "ectorcall")
           || startsWith(function, "PyObject_Call") || startsWith(function, "PyCFunction_Call")
           || startsWith(function, "cfunction_call") || function == "function_code_fastcall"
           || function == "call_function" || function == "trace_call_function";
}

// The standard library's extension modules (_ctypes, _json...): CPython installs them in its
// lib-dynload directory, whatever the prefix.
bool isStandardExtensionModule(std::string_view path)
{
    return contains(path, "/lib-dynload/");
}

}  // namespace

HybridStackBuilder::HybridStackBuilder(const CaptureReader& capture, NativeSymbolizer& symbolizer, HybridOptions options)
: capture_(capture)
, symbolizer_(symbolizer)
, options_(options)
{
}

bool HybridStackBuilder::isEvalFunction(std::string_view function)
{
    // GCC may split out "_PyEval_EvalFrameDefault.cold"; the symbol-table fallback shows it.
    return function.substr(0, 24) == "_PyEval_EvalFrameDefault";
}

bool HybridStackBuilder::isInterpreterImage(std::string_view path) const
{
    if (path.empty()) {
        return false;
    }
    return basename(path).substr(0, 9) == "libpython" || path == capture_.metadata().executable;
}

std::vector<HybridFrame> HybridStackBuilder::build(uint64_t python_stack_id, uint64_t native_stack_id)
{
    // Python frames outermost first, cut into runs that each start at an entry frame.
    std::vector<HybridFrame> python;
    std::vector<size_t> run_starts;
    {
        std::vector<uint64_t> ids;
        for (uint64_t id = python_stack_id; id && capture_.stack(id); id = capture_.stack(id)->parent_id) {
            ids.push_back(id);
        }
        for (size_t i = ids.size(); i-- > 0;) {
            const StackEntry* entry = capture_.stack(ids[i]);
            if (python.empty() || entry->entry) {
                run_starts.push_back(python.size());
            }
            const PythonFrame frame = capture_.pythonFrame(entry->frame_id);
            python.push_back(HybridFrame{frame.function, frame.file, frame.line, false});
        }
    }
    if (native_stack_id == 0) {
        return python;
    }

    // Native frames outermost first, inlined calls expanded; eval nodes remembered.
    std::vector<NativeSlot> native;
    std::vector<size_t> eval_slots;  // index in `native` of each eval node's first slot
    {
        std::vector<uint64_t> nodes;
        for (uint64_t id = native_stack_id; id && capture_.nativeFrame(id); id = capture_.nativeFrame(id)->parent_id) {
            nodes.push_back(id);
        }
        for (size_t i = nodes.size(); i-- > 0;) {
            const std::vector<SymbolizedFrame>& frames = symbolizer_.frames(nodes[i]);
            const bool eval = std::any_of(frames.begin(), frames.end(),
                                          [](const SymbolizedFrame& f) { return isEvalFunction(f.function); });
            if (eval) {
                eval_slots.push_back(native.size());
            }
            const bool interpreter = !frames.empty() && isInterpreterImage(frames.front().image);
            const bool python_build = interpreter || (!frames.empty() && isStandardExtensionModule(frames.front().image));
            for (size_t j = frames.size(); j-- > 0;) {
                HybridFrame frame{frames[j].function, frames[j].file, frames[j].line, true};
                frame.unnamed = frames[j].unnamed;
                frame.python_build = python_build;
                native.push_back(NativeSlot{frame, nodes[i], interpreter});
                if (eval) {
                    break;  // an eval node is replaced whole: its inlined helpers go with it
                }
            }
        }
    }

    // Pair eval nodes with Python runs, innermost first.
    const size_t pairs = std::min(eval_slots.size(), run_starts.size());
    const size_t first_paired_eval = eval_slots.size() - pairs;
    const size_t first_paired_run = run_starts.size() - pairs;
    std::vector<HybridFrame> merged;
    std::vector<bool> from_interpreter;  // per merged frame: a native interpreter frame
    auto add = [&](const HybridFrame& frame, bool interpreter) {
        merged.push_back(frame);
        from_interpreter.push_back(interpreter);
    };
    auto addRun = [&](size_t run) {
        const size_t end = run + 1 < run_starts.size() ? run_starts[run + 1] : python.size();
        for (size_t i = run_starts[run]; i < end; ++i) {
            add(python[i], false);
        }
    };
    // Unpaired outer Python runs first.
    for (size_t run = 0; run < first_paired_run; ++run) {
        addRun(run);
    }
    size_t next_eval = 0;
    for (size_t i = 0; i < native.size(); ++i) {
        if (next_eval < eval_slots.size() && eval_slots[next_eval] == i) {
            if (next_eval >= first_paired_eval) {
                addRun(first_paired_run + (next_eval - first_paired_eval));
            }
            ++next_eval;  // an unpaired outer eval frame is dropped
            continue;
        }
        add(native[i].frame, native[i].interpreter);
    }

    // Drop the noise (see the header).
    size_t outermost_python = merged.size();
    for (size_t i = 0; i < merged.size(); ++i) {
        if (!merged[i].native) {
            outermost_python = i;
            break;
        }
    }
    if (outermost_python == merged.size()) {
        return merged;  // no Python at all: a native thread
    }
    for (size_t i = outermost_python; i < merged.size(); ++i) {
        merged[i].unnamed_interpreter = from_interpreter[i] && merged[i].unnamed;
    }
    if (options_.keep_interpreter_frames) {
        return merged;
    }
    std::vector<HybridFrame> kept;
    kept.reserve(merged.size() - outermost_python);
    for (size_t i = outermost_python; i < merged.size(); ++i) {
        const bool machinery = merged[i].native && from_interpreter[i] && isCallMachinery(merged[i].function);
        const bool hidden = merged[i].unnamed_interpreter && !options_.keep_unnamed_interpreter_frames;
        if (!machinery && !hidden) {
            kept.push_back(merged[i]);
        }
    }
    return kept;
}

}  // namespace memray::reader
