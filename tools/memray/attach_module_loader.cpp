// attachCommand and detachCommand in the executable: load libmemray_attach.so (see
// attach_module.h) and run the command there.
#include "attach_module.h"
#include "cli_common.h"
#include "commands.h"
#include "payload_locator.h"

#include <dlfcn.h>

#include <stdexcept>
#include <string>

namespace memray::cli {

namespace {

int runInAttachModule(const char* command, const char* entry, int argc, char** argv)
{
    std::string path;
    try {
        path = findBundledLibrary(MEMRAY_ATTACH_LIBRARY).string();
    } catch (const std::runtime_error& error) {
        return fail(command, error.what());
    }
    void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
        const char* reason = dlerror();
        return fail(command, std::string("cannot load ") + path + ": " + (reason ? reason : "unknown error"));
    }
    auto* run = reinterpret_cast<int (*)(int, char**)>(dlsym(library, entry));
    if (run == nullptr) {
        return fail(command, path + " has no " + entry + ": it does not belong to this memray");
    }
    return run(argc, argv);  // the library stays loaded until the process ends
}

}  // namespace

int attachCommand(int argc, char** argv)
{
    return runInAttachModule("attach", MEMRAY_ATTACH_ENTRY, argc, argv);
}

int detachCommand(int argc, char** argv)
{
    return runInAttachModule("detach", MEMRAY_DETACH_ENTRY, argc, argv);
}

}  // namespace memray::cli
