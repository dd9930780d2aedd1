#include "python_integration.h"

#include "pymalloc_hooks.h"
#include "python_c_abi.h"
#include "tracker.h"


namespace memray::payload {

namespace {

using python_abi::MethodDef;
using python_abi::PyObject;

// The handful of C API entry points used here; all exist, with these signatures, in 3.7-3.13.
struct CApi
{
    PyObject* (*PyDict_New)();
    int (*PyDict_SetItemString)(PyObject*, const char*, PyObject*);
    PyObject* (*PyDict_GetItemString)(PyObject*, const char*);
    PyObject* (*PyEval_GetBuiltins)();
    PyObject* (*PyRun_StringFlags)(const char*, int, PyObject*, PyObject*, void*);
    PyObject* (*PyCFunction_NewEx)(void*, PyObject*, PyObject*);
    PyObject* (*PyObject_CallFunctionObjArgs)(PyObject*, ...);
    PyObject* (*PyObject_Str)(PyObject*);
    PyObject* (*PyLong_FromLong)(long);
    PyObject* (*PyTuple_GetItem)(PyObject*, long);
    const char* (*PyUnicode_AsUTF8)(PyObject*);
    int (*PyArg_ParseTuple)(PyObject*, const char*, ...);
    void (*Py_IncRef)(PyObject*);
    void (*Py_DecRef)(PyObject*);
    void (*PyErr_Fetch)(PyObject**, PyObject**, PyObject**);
    void (*PyErr_Restore)(PyObject*, PyObject*, PyObject*);
    void (*PyErr_Clear)();
    PyObject* none;  // &_Py_NoneStruct
};

CApi g_api;
PyObject* g_helpers = nullptr;  // globals of the helper module below, compiled once

constexpr int kPyFileInput = 257;

const char kHelperSource[] = R"PY(
import sys, os

class _ThreadNameReporter:
    # A data descriptor on threading.Thread for `_name` and `_ident`: it sees every assignment,
    # so names set before start, renames from any thread, and the ident becoming known all
    # reach the capture. Values still live in the instance dict, as before.
    def __init__(self, attribute, report):
        self.attribute = attribute
        self.report = report

    def __get__(self, thread, owner=None):
        if thread is None:
            return self
        try:
            return thread.__dict__[self.attribute]
        except KeyError:
            raise AttributeError(self.attribute) from None

    def __set__(self, thread, value):
        thread.__dict__[self.attribute] = value
        ident = thread.__dict__.get("_ident")
        name = thread.__dict__.get("_name")
        if ident is not None and name is not None:
            self.report(ident, str(name))

    def __delete__(self, thread):
        del thread.__dict__[self.attribute]


def describe():
    argv = getattr(sys, "argv", None) or [sys.executable or "python"]
    return " ".join(str(arg) for arg in argv), os.environ.get("PYTHONMALLOC", "pymalloc")


class _AfterThreadingImport:
    # A meta path finder that waits for the program's first `import threading`, from any
    # thread, and hands the module to `then` once its body has run. Importing threading
    # ourselves would cost every capture milliseconds, and change the program: threading
    # registers fork handlers and a shutdown step that a program without it does not have.
    def __init__(self, then):
        self.then = then

    def find_spec(self, name, path=None, target=None):
        if name != "threading":
            return None
        # An import, or only a lookup (importlib.util.find_spec): the watcher stays until the
        # module's body has run, and the spec is whatever the finders after it say.
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None) if finder is not self else None
            spec = find_spec(name, path, target) if find_spec is not None else None
            if spec is not None:
                break
        else:
            return None
        if hasattr(spec.loader, "exec_module"):
            spec.loader = _ThenLoader(spec.loader, self.ran)
        else:
            self.remove()  # a loader we cannot follow: give up on names rather than guess
        return spec

    def ran(self, module):
        self.remove()
        self.then(module)

    def remove(self):
        try:
            sys.meta_path.remove(self)
        except ValueError:
            pass


class _ThenLoader:
    # Stands in for the module's loader only until its body runs: the module keeps the real one.
    def __init__(self, loader, then):
        self.loader = loader
        self.then = then

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__spec__.loader = module.__loader__ = self.loader
        self.loader.exec_module(module)
        self.then(module)


def install(report_thread_name, stop_capture, stop_at_exit):
    import atexit
    reporters = []

    def follow_thread_names(threading):
        reporters[:] = [_ThreadNameReporter(a, report_thread_name) for a in ("_name", "_ident")]
        for reporter in reporters:
            setattr(threading.Thread, reporter.attribute, reporter)
        for thread in threading.enumerate():
            if thread.ident is not None:
                report_thread_name(thread.ident, thread.name)

    # Without threading there are no Python thread names to follow, until the program imports it.
    threading = sys.modules.get("threading")
    watcher = None
    if threading is not None:
        follow_thread_names(threading)
    else:
        watcher = _AfterThreadingImport(follow_thread_names)
        sys.meta_path.insert(0, watcher)
    if stop_at_exit:
        atexit.register(stop_capture)

    def uninstall():
        if watcher is not None:
            watcher.remove()
        threading = sys.modules.get("threading")
        for reporter in reporters:
            if threading is not None and threading.Thread.__dict__.get(reporter.attribute) is reporter:
                delattr(threading.Thread, reporter.attribute)
        if stop_at_exit:
            atexit.unregister(stop_capture)

    return uninstall


def watch_frame_exits(on_exit, every_frame):
    # 3.12+: a frame leaves its thread's stack by returning, unwinding or (a generator's or
    # coroutine's) yielding, and these three events report each. Returns and yields per code
    # object, through the set_local_events returned (the frames chosen as anchors,
    # exit_watched_codes.h), or returns for every frame if `every_frame`; unwinding (which
    # cannot be asked for per code object) for every frame once the first code object asks,
    # through the set_events returned. Yields are never asked for globally: a value yielded
    # through a deep recursive `yield from` chain would cost an event per frame of it. The id
    # is one no standard tool claims (0-2 are the debugger, coverage and profiler ids, 5 the
    # optimizer's); if both are taken, the capture does without.
    monitoring = getattr(sys, "monitoring", None)
    if monitoring is None:
        return None
    events = monitoring.events
    exits = (events.PY_RETURN, events.PY_UNWIND, events.PY_YIELD)
    returns = events.PY_RETURN
    local_exits = events.PY_RETURN | events.PY_YIELD
    for tool in (4, 3):
        try:
            monitoring.use_tool_id(tool, "memray")
        except ValueError:
            continue
        for event in exits:
            monitoring.register_callback(tool, event, on_exit)
        if every_frame:
            monitoring.set_events(tool, events.PY_UNWIND | returns)

        def unwatch():
            monitoring.set_events(tool, 0)
            for event in exits:
                monitoring.register_callback(tool, event, None)
            monitoring.free_tool_id(tool)

        return unwatch, monitoring.set_local_events, tool, local_exits, monitoring.set_events, events.PY_UNWIND
    return None
)PY";

PyObject* reportThreadName(PyObject*, PyObject* args)
{
    unsigned long ident = 0;
    const char* name = nullptr;
    if (!g_api.PyArg_ParseTuple(args, "ks", &ident, &name)) {
        return nullptr;
    }
    Tracker::setThreadNameByIdent(ident, name);
    g_api.Py_IncRef(g_api.none);
    return g_api.none;
}

PyObject* stopCapture(PyObject*, PyObject*)
{
    std::string error;
    Tracker::stop(&error, nullptr);  // at exit, "no capture active" is fine: detach came first
    g_api.Py_IncRef(g_api.none);
    return g_api.none;
}

// A METH_FASTCALL function: sys.monitoring passes (code, offset, value); none is needed.
PyObject* onFrameExit(PyObject*, PyObject* const*, long)
{
    Tracker::onPythonFrameExit();
    g_api.Py_IncRef(g_api.none);
    return g_api.none;
}

MethodDef g_report_thread_name_def{"_memray_report_thread_name", reinterpret_cast<void*>(&reportThreadName), python_abi::kMethVarargs, nullptr};
MethodDef g_stop_capture_def{"_memray_stop_capture", reinterpret_cast<void*>(&stopCapture), python_abi::kMethNoargs, nullptr};
MethodDef g_frame_exit_def{"_memray_frame_exit", reinterpret_cast<void*>(&onFrameExit), python_abi::kMethFastcall, nullptr};

std::string fetchError()
{
    PyObject *type = nullptr, *value = nullptr, *traceback = nullptr;
    g_api.PyErr_Fetch(&type, &value, &traceback);
    std::string message = "unknown Python error";
    if (value) {
        if (PyObject* text = g_api.PyObject_Str(value)) {
            if (const char* utf8 = g_api.PyUnicode_AsUTF8(text)) {
                message = utf8;
            }
            g_api.Py_DecRef(text);
        }
    }
    g_api.PyErr_Clear();
    for (PyObject* object : {type, value, traceback}) {
        if (object) {
            g_api.Py_DecRef(object);
        }
    }
    return message;
}

template<typename Function>
bool resolveOne(Function* slot, const char* name, std::string* error)
{
    if (!python_abi::lookUp(name, slot)) {
        *error = std::string("Python C API function not found: ") + name;
        return false;
    }
    return true;
}

}  // namespace

bool PythonIntegration::resolve(std::string* error)
{
    CApi api{};
    bool ok = resolveOne(&api.PyDict_New, "PyDict_New", error)
              && resolveOne(&api.PyDict_SetItemString, "PyDict_SetItemString", error)
              && resolveOne(&api.PyDict_GetItemString, "PyDict_GetItemString", error)
              && resolveOne(&api.PyEval_GetBuiltins, "PyEval_GetBuiltins", error)
              && resolveOne(&api.PyRun_StringFlags, "PyRun_StringFlags", error)
              && resolveOne(&api.PyCFunction_NewEx, "PyCFunction_NewEx", error)
              && resolveOne(&api.PyObject_CallFunctionObjArgs, "PyObject_CallFunctionObjArgs", error)
              && resolveOne(&api.PyObject_Str, "PyObject_Str", error)
              && resolveOne(&api.PyLong_FromLong, "PyLong_FromLong", error)
              && resolveOne(&api.PyTuple_GetItem, "PyTuple_GetItem", error)
              && resolveOne(&api.PyUnicode_AsUTF8, "PyUnicode_AsUTF8", error)
              && resolveOne(&api.PyArg_ParseTuple, "PyArg_ParseTuple", error)
              && resolveOne(&api.Py_IncRef, "Py_IncRef", error)
              && resolveOne(&api.Py_DecRef, "Py_DecRef", error)
              && resolveOne(&api.PyErr_Fetch, "PyErr_Fetch", error)
              && resolveOne(&api.PyErr_Restore, "PyErr_Restore", error)
              && resolveOne(&api.PyErr_Clear, "PyErr_Clear", error)
              && resolveOne(&api.none, "_Py_NoneStruct", error);
    if (!ok || !resolvePymallocApi(error)) {
        return false;
    }
    g_api = api;
    return true;
}

static bool compileHelpers(std::string* error)
{
    if (g_helpers) {
        return true;
    }
    PyObject* globals = g_api.PyDict_New();
    if (!globals) {
        *error = "cannot create a dict: " + fetchError();
        return false;
    }
    g_api.PyDict_SetItemString(globals, "__builtins__", g_api.PyEval_GetBuiltins());
    g_api.PyDict_SetItemString(globals, "__name__", g_api.none);
    PyObject* result = g_api.PyRun_StringFlags(kHelperSource, kPyFileInput, globals, globals, nullptr);
    if (!result) {
        *error = "cannot set up the capture's Python helpers: " + fetchError();
        g_api.Py_DecRef(globals);
        return false;
    }
    g_api.Py_DecRef(result);
    g_helpers = globals;  // kept for the life of the process, like the payload itself
    return true;
}

bool PythonIntegration::describeProcess(std::string* command_line, std::string* allocator, std::string* error)
{
    if (!compileHelpers(error)) {
        return false;
    }
    PyObject* describe = g_api.PyDict_GetItemString(g_helpers, "describe");
    PyObject* result = g_api.PyObject_CallFunctionObjArgs(describe, nullptr);
    if (!result) {
        *error = "cannot read sys.argv: " + fetchError();
        return false;
    }
    const char* argv = g_api.PyUnicode_AsUTF8(g_api.PyTuple_GetItem(result, 0));
    const char* malloc_name = g_api.PyUnicode_AsUTF8(g_api.PyTuple_GetItem(result, 1));
    *command_line = argv ? argv : "";
    *allocator = malloc_name ? malloc_name : "";
    g_api.Py_DecRef(result);
    return true;
}

bool PythonIntegration::install(bool stop_at_exit, bool trace_python_allocators, FrameExits frame_exits,
                                std::string* error)
{
    if (!compileHelpers(error)) {
        return false;
    }
    PyObject* report = g_api.PyCFunction_NewEx(&g_report_thread_name_def, nullptr, nullptr);
    PyObject* stop = g_api.PyCFunction_NewEx(&g_stop_capture_def, nullptr, nullptr);
    PyObject* at_exit = g_api.PyLong_FromLong(stop_at_exit ? 1 : 0);
    PyObject* result = nullptr;
    if (report && stop && at_exit) {
        PyObject* install = g_api.PyDict_GetItemString(g_helpers, "install");
        result = g_api.PyObject_CallFunctionObjArgs(install, report, stop, at_exit, nullptr);
    }
    for (PyObject* object : {report, stop, at_exit}) {
        if (object) {
            g_api.Py_DecRef(object);
        }
    }
    if (!result) {
        *error = "cannot install thread name tracking: " + fetchError();
        return false;
    }
    uninstall_callable_ = result;
    if (frame_exits != FrameExits::kNone) {
        watchFrameExits(frame_exits == FrameExits::kEveryFrame);
    }
    if (trace_python_allocators) {
        installPymallocHooks();
        pymalloc_installed_ = true;
    }
    return true;
}

void PythonIntegration::watchFrameExits(bool every_frame)
{
    PyObject* on_exit = g_api.PyCFunction_NewEx(&g_frame_exit_def, nullptr, nullptr);
    PyObject* every = g_api.PyLong_FromLong(every_frame ? 1 : 0);
    PyObject* result = nullptr;
    if (on_exit && every) {
        PyObject* watch = g_api.PyDict_GetItemString(g_helpers, "watch_frame_exits");
        result = g_api.PyObject_CallFunctionObjArgs(watch, on_exit, every, nullptr);
    }
    for (PyObject* object : {on_exit, every}) {
        if (object) {
            g_api.Py_DecRef(object);
        }
    }
    if (!result) {
        g_api.PyErr_Clear();  // an optimisation only: the capture goes on without it
        return;
    }
    if (result == g_api.none) {
        g_api.Py_DecRef(result);
        return;
    }
    // (unwatch, set_local_events, tool, returns, set_events, unwinding): the tuple keeps them
    // all alive.
    unwatch_callable_ = g_api.PyTuple_GetItem(result, 0);
    set_local_events_ = g_api.PyTuple_GetItem(result, 1);
    tool_ = g_api.PyTuple_GetItem(result, 2);
    return_events_ = g_api.PyTuple_GetItem(result, 3);
    set_events_ = g_api.PyTuple_GetItem(result, 4);
    unwind_events_ = g_api.PyTuple_GetItem(result, 5);
    unwinding_watched_ = every_frame;
    no_events_ = g_api.PyLong_FromLong(0);
    watch_result_ = result;
    every_frame_ = every_frame;
}

// Calls a sys.monitoring builtin from wherever the caller is in the interpreter (inside an
// allocation, an exception being raised included): the call must neither see nor leave an
// exception. A builtin runs no Python frame, so nothing can switch threads, run signal handlers
// or collect garbage in between. False if it failed.
static bool callMonitoring(void* function, void* first, void* second, void* third)
{
    PyObject *type = nullptr, *value = nullptr, *traceback = nullptr;
    g_api.PyErr_Fetch(&type, &value, &traceback);
    PyObject* result = third ? g_api.PyObject_CallFunctionObjArgs(function, first, second, third, nullptr)
                             : g_api.PyObject_CallFunctionObjArgs(function, first, second, nullptr);
    if (result) {
        g_api.Py_DecRef(result);
    } else {
        g_api.PyErr_Clear();
    }
    g_api.PyErr_Restore(type, value, traceback);
    return result != nullptr;
}

bool PythonIntegration::setLocalExitEvents(const void* code, bool on)
{
    if (set_local_events_ == nullptr || no_events_ == nullptr) {
        return false;
    }
    // Unwinding first: an anchor must never miss its frame's exit. On from the first code
    // object on, so a program that never runs deep pays nothing for its exceptions.
    if (on && !unwinding_watched_) {
        if (!callMonitoring(set_events_, tool_, unwind_events_, nullptr)) {
            return false;
        }
        unwinding_watched_ = true;
    }
    return callMonitoring(set_local_events_, tool_, const_cast<void*>(code), on ? return_events_ : no_events_);
}

// Calls an undo callable that install() kept (errors are dropped: undoing is best effort), and
// lets go of it.
static void callOnceAndRelease(void** callable)
{
    if (*callable == nullptr) {
        return;
    }
    PyObject* result = g_api.PyObject_CallFunctionObjArgs(*callable, nullptr);
    if (result) {
        g_api.Py_DecRef(result);
    } else {
        g_api.PyErr_Clear();
    }
    g_api.Py_DecRef(*callable);
    *callable = nullptr;
}

void PythonIntegration::uninstall(const std::vector<const void*>& exit_watched_codes)
{
    for (const void* code : exit_watched_codes) {
        setLocalExitEvents(code, false);
    }
    if (watch_result_ != nullptr) {
        g_api.Py_IncRef(unwatch_callable_);  // callOnceAndRelease lets go of one reference
        callOnceAndRelease(&unwatch_callable_);
        g_api.Py_DecRef(watch_result_);
        g_api.Py_DecRef(no_events_);
        watch_result_ = set_local_events_ = tool_ = return_events_ = no_events_ = nullptr;
        set_events_ = unwind_events_ = nullptr;
        every_frame_ = unwinding_watched_ = false;
    }
    if (pymalloc_installed_) {
        removePymallocHooks();
        pymalloc_installed_ = false;
    }
    callOnceAndRelease(&uninstall_callable_);
}

}  // namespace memray::payload
