// Is the target a CPython the payload can track, and which version? Decided from the
// target's files and memory only, before anything is stopped.
#pragma once

#include "memray/injector/target_modules.h"

#include <string>

namespace memray::injector {

struct PythonProcess
{
    const Module* module = nullptr;  // the object that exports the C API
    bool static_libpython = false;    // the C API is in the executable itself
    int major = 0;
    int minor = 0;
    int micro = -1;                   // -1 when only major.minor could be found
    std::string version() const;      // "3.11.7" or "3.9"
};

// The oldest and newest versions the payload supports.
inline constexpr int kMinSupportedMinor = 7;
inline constexpr int kMaxSupportedMinor = 13;

// Throws Failure(NotPython / UnsupportedPython) with a message naming the process.
PythonProcess probePython(pid_t pid, const std::string& process_name, TargetModules& modules);

// "3.12" from "libpython3.12.so.1.0", "python3.12", "libpython3.13t.so" (then *free_threaded).
bool versionFromFileName(const std::string& base, int* major, int* minor, bool* free_threaded);

}  // namespace memray::injector
