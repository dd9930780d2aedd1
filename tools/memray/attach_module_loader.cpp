// attachCommand and detachCommand in the executable: load libmemray_attach.so (see
// attach_module.h) and run the command there, lending attach the live view (LiveViewHooks).
#include "attach_module.h"
#include "cli_common.h"
#include "commands.h"
#include "live_watch.h"
#include "payload_locator.h"

#include "memray/reader/capture_streams.h"

#include <cerrno>
#include <csignal>

#include <dlfcn.h>

#include <stdexcept>
#include <string>

namespace memray::cli {

namespace {

// Loads the library and returns `entry` in it, or nullptr after saying why not.
void* attachModuleEntry(const char* command, const char* entry)
{
    std::string path;
    try {
        path = findBundledLibrary(MEMRAY_ATTACH_LIBRARY).string();
    } catch (const std::runtime_error& error) {
        fail(command, error.what());
        return nullptr;
    }
    void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
        const char* reason = dlerror();
        fail(command, std::string("cannot load ") + path + ": " + (reason ? reason : "unknown error"));
        return nullptr;
    }
    void* function = dlsym(library, entry);
    if (function == nullptr) {
        fail(command, path + " has no " + entry + ": it does not belong to this memray");
    }
    return function;  // the library stays loaded until the process ends
}

int refuseLiveView()
{
    return refuseWithoutTerminal("attach").value_or(0);
}

int watchAttached(int pid, const char* capture, const char* title)
{
    WatchOptions watch;
    watch.title = title;
    watch.poll_note = [pid] {
        return kill(pid, 0) != 0 && errno == ESRCH ? "process " + std::to_string(pid) + " has exited" : std::string();
    };
    try {
        WatchResult result = watchLive(reader::openFollowedFile(capture, pid), watch);
        if (result.last->state == live::StreamState::Error) {
            return fail("attach", result.last->status);
        }
    } catch (const std::exception& error) {
        return fail("attach", error.what());
    }
    return kExitOk;
}

}  // namespace

int attachCommand(int argc, char** argv)
{
    static const LiveViewHooks hooks = {&refuseLiveView, &watchAttached};
    auto* run = reinterpret_cast<int (*)(int, char**, const LiveViewHooks*)>(attachModuleEntry("attach", MEMRAY_ATTACH_ENTRY));
    return run ? run(argc, argv, &hooks) : kExitFailure;
}

int detachCommand(int argc, char** argv)
{
    auto* run = reinterpret_cast<int (*)(int, char**)>(attachModuleEntry("detach", MEMRAY_DETACH_ENTRY));
    return run ? run(argc, argv) : kExitFailure;
}

}  // namespace memray::cli
