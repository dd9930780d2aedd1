// The payload as a Python extension module, for `memray run`'s bootstrap.
//
// The bootstrap used to load the payload with ctypes, and importing ctypes (with libffi) was
// about a tenth of the fixed cost of every `memray run`. Python's own extension loader
// (_imp.create_dynamic, no import needed) loads it instead, under the module name
// "libmemray_payload" whatever the file is called, and calls start() below.
//
// Multi-phase initialisation: the module is created from the definition and the spec, and,
// unlike a single-phase module, is neither put in sys.modules nor cached, so the program
// never sees it. attach does not come this way: the injector calls memray_attach directly.
#include "memray/payload/payload_api.h"
#include "process_title.h"
#include "python_c_abi.h"
#include "run_status.h"

namespace {

using memray::payload::python_abi::MethodDef;
using memray::payload::python_abi::ModuleDef;
using memray::payload::python_abi::PyObject;

struct ModuleApi
{
    char* (*PyBytes_AsString)(PyObject*);
    long (*PyBytes_Size)(PyObject*);
    void (*PyErr_SetString)(PyObject*, const char*);
    PyObject** PyExc_RuntimeError;
    void (*Py_IncRef)(PyObject*);
    PyObject* none;  // &_Py_NoneStruct
    PyObject* (*PyModuleDef_Init)(ModuleDef*);
};

ModuleApi g_module_api;

// start(config: bytes) -> None: starts a capture (see memray_start), or raises RuntimeError
// with the reason. Entered with the GIL held, with the caller's frame the innermost one,
// which the capture's skip_caller_frames counts on.
PyObject* start(PyObject*, PyObject* config)
{
    const char* text = g_module_api.PyBytes_AsString(config);
    if (text == nullptr) {
        return nullptr;  // TypeError already set
    }
    // Only `memray run`'s bootstrap comes this way: its CLI listens for failures.
    memray::payload::enableRunStatusReports();
    if (memray_start(text) != 0) {
        g_module_api.PyErr_SetString(*g_module_api.PyExc_RuntimeError, memray_last_error());
        return nullptr;
    }
    g_module_api.Py_IncRef(g_module_api.none);
    return g_module_api.none;
}

// set_command_line(arguments: bytes) -> None: what ps shows after the interpreter, the
// arguments NUL-separated (process_title.h). Best effort: nothing is raised if it cannot.
PyObject* setCommandLine(PyObject*, PyObject* arguments)
{
    const char* text = g_module_api.PyBytes_AsString(arguments);
    if (text == nullptr) {
        return nullptr;  // TypeError already set
    }
    memray::payload::setCommandLineArguments(text, static_cast<size_t>(g_module_api.PyBytes_Size(arguments)));
    g_module_api.Py_IncRef(g_module_api.none);
    return g_module_api.none;
}

MethodDef g_methods[] = {
        {"start", reinterpret_cast<void*>(&start), memray::payload::python_abi::kMethO, nullptr},
        {"set_command_line", reinterpret_cast<void*>(&setCommandLine), memray::payload::python_abi::kMethO, nullptr},
        {nullptr, nullptr, 0, nullptr},
};

ModuleDef g_module{1, nullptr, nullptr, 0, nullptr, "libmemray_payload", nullptr, 0, g_methods,
                   nullptr, nullptr, nullptr, nullptr};

}  // namespace

extern "C" __attribute__((visibility("default"))) PyObject* PyInit_libmemray_payload()
{
    using memray::payload::python_abi::lookUp;
    ModuleApi api{};
    if (!lookUp("PyBytes_AsString", &api.PyBytes_AsString) || !lookUp("PyBytes_Size", &api.PyBytes_Size)
        || !lookUp("PyErr_SetString", &api.PyErr_SetString)
        || !lookUp("PyExc_RuntimeError", &api.PyExc_RuntimeError) || !lookUp("Py_IncRef", &api.Py_IncRef)
        || !lookUp("_Py_NoneStruct", &api.none) || !lookUp("PyModuleDef_Init", &api.PyModuleDef_Init)) {
        return nullptr;  // not inside a Python process: the import fails with SystemError
    }
    g_module_api = api;
    return api.PyModuleDef_Init(&g_module);
}
