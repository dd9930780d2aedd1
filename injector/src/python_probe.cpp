#include "memray/injector/python_probe.h"

#include "memray/injector/failure.h"
#include "remote_memory.h"

#include <charconv>
#include <elf.h>

namespace memray::injector {

namespace {

// The C API the payload needs to start: without these it is not (a usable) CPython.
constexpr const char* kRequiredSymbols[] = {"PyGILState_Ensure", "PyGILState_Release", "Py_IsInitialized", "Py_GetVersion"};

bool providesCApi(const Module& module)
{
    for (const char* name : kRequiredSymbols) {
        if (!module.elf->symbol(name)) {
            return false;
        }
    }
    return true;
}

}  // namespace

std::string PythonProcess::version() const
{
    std::string text = std::to_string(major) + "." + std::to_string(minor);
    if (micro >= 0) {
        text += "." + std::to_string(micro);
    }
    return text;
}

bool versionFromFileName(const std::string& base, int* major, int* minor, bool* free_threaded)
{
    size_t at = base.find("python");
    if (at == std::string::npos) {
        return false;
    }
    const char* cursor = base.data() + at + 6;
    const char* end = base.data() + base.size();
    auto [after_major, error1] = std::from_chars(cursor, end, *major);
    if (error1 != std::errc() || after_major == end || *after_major != '.') {
        return false;
    }
    auto [after_minor, error2] = std::from_chars(after_major + 1, end, *minor);
    if (error2 != std::errc()) {
        return false;
    }
    *free_threaded = after_minor != end && *after_minor == 't';
    return true;
}

PythonProcess probePython(pid_t pid, const std::string& process_name, TargetModules& modules)
{
    const std::string who = "process " + std::to_string(pid) + " (" + process_name + ")";
    const Module& executable = modules.executable();
    if (executable.elf->machine() != EM_X86_64) {
        throw Failure(FailureKind::UnsupportedPython, who + " is not an x86-64 program; memray attach supports x86-64 only");
    }
    PythonProcess python;
    if (providesCApi(executable)) {
        python.module = &executable;
        python.static_libpython = true;
    } else if (const Module* library = modules.libpython(); library && providesCApi(*library)) {
        python.module = library;
    } else {
        throw Failure(FailureKind::NotPython,
                      who + " is not a Python process: neither " + executable.path
                              + " nor a libpython it loaded provides the CPython C API");
    }

    bool free_threaded = false;
    int file_major = 0, file_minor = 0;
    bool named = versionFromFileName(baseName(python.module->path), &file_major, &file_minor, &free_threaded)
                 || versionFromFileName(baseName(executable.path), &file_major, &file_minor, &free_threaded);
    if (auto address = python.module->address("Py_Version")) {
        // 3.11+: PY_VERSION_HEX as a constant, 0xMMmmuuRS.
        auto hex = readRemoteValue<uint64_t>(pid, *address);
        if (!hex) {
            throw Failure(FailureKind::PermissionDenied, "cannot read the memory of " + who);
        }
        python.major = static_cast<int>((*hex >> 24) & 0xff);
        python.minor = static_cast<int>((*hex >> 16) & 0xff);
        python.micro = static_cast<int>((*hex >> 8) & 0xff);
    } else if (named) {
        python.major = file_major;
        python.minor = file_minor;
    } else {
        throw Failure(FailureKind::UnsupportedPython,
                      "cannot tell which Python version " + who + " runs (no Py_Version, no version in "
                              + python.module->path + ")");
    }
    if (free_threaded) {
        throw Failure(FailureKind::UnsupportedPython,
                      who + " runs a free-threaded CPython " + python.version() + ", which memray cannot track yet");
    }
    if (python.major != 3 || python.minor < kMinSupportedMinor || python.minor > kMaxSupportedMinor) {
        throw Failure(FailureKind::UnsupportedPython,
                      who + " runs Python " + python.version() + "; memray attach supports Python 3."
                              + std::to_string(kMinSupportedMinor) + " to 3." + std::to_string(kMaxSupportedMinor));
    }
    return python;
}

}  // namespace memray::injector
