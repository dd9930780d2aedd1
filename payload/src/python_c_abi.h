// The few pieces of CPython's C ABI the payload builds by hand. It includes no Python header
// (one payload binary serves every interpreter), so these are the stable-ABI layouts,
// unchanged from 3.7 to 3.13, and the entry points are found with dlsym at run time.
#pragma once

#include <cstdint>
#include <dlfcn.h>

namespace memray::payload::python_abi {

using PyObject = void;

// Finds a C API symbol among those the process already has (libpython's, or a static
// Python's own). False if there is none.
template<typename Symbol>
bool lookUp(const char* name, Symbol* out)
{
    *out = reinterpret_cast<Symbol>(dlsym(RTLD_DEFAULT, name));
    return *out != nullptr;
}

constexpr int kMethVarargs = 0x0001;
constexpr int kMethNoargs = 0x0004;
constexpr int kMethO = 0x0008;
constexpr int kMethFastcall = 0x0080;

// PyMethodDef.
struct MethodDef
{
    const char* name;
    void* function;
    int flags;
    const char* doc;
};

// PyModuleDef, with its PyModuleDef_Base head (PyObject_HEAD_INIT(NULL), m_init, m_index,
// m_copy).
struct ModuleDef
{
    intptr_t ob_refcnt;
    void* ob_type;
    void* m_init;
    intptr_t m_index;
    PyObject* m_copy;
    const char* m_name;
    const char* m_doc;
    intptr_t m_size;
    MethodDef* m_methods;
    void* m_slots;
    void* m_traverse;
    void* m_clear;
    void* m_free;
};

}  // namespace memray::payload::python_abi
