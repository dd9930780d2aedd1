// Is a stopped thread at a point where it may run dlopen() and pthread_create()?
//
// Both take locks: malloc's arena locks, the loader's dl_load_lock and its TLS and stack-cache
// locks. If the thread we borrow already holds one of them, it waits for itself forever. So
// before borrowing a thread we unwind its stack remotely (libunwind, remote_unwinder.h) and
// refuse it if any frame is inside:
//   - the allocator: malloc, free, calloc, realloc, memalign & co., malloc_trim, mallinfo...;
//   - the dynamic loader: anything in ld.so, and libc's dlopen/dlclose/dlsym/dl_iterate_phdr
//     family (dl_iterate_phdr holds a loader lock while it runs its callback);
//   - thread and process creation: pthread_create, fork (its atfork handlers run with fork's
//     locks held), posix_spawn (not clone/clone3 themselves: every thread's outermost frame is
//     in them, and the parent side is inside pthread_create or fork);
//   - process exit (exit, _exit): the process is going away;
//   - memray's own payload, when a previous attach left it loaded.
// Inner frames that the allocator's exported entry points call (_int_malloc and friends are
// not exported) are covered by those entry points being further out on the same stack. (An
// internal function reached by a tail call leaves no such outer frame; the ones that matter
// here -- malloc's, free's, the loader's -- are not tail calls in glibc.) A stack we cannot
// unwind completely is not known to be safe, so it is refused too.
// And the loader must be idle: _r_debug.r_state == RT_CONSISTENT, else another thread is in the
// middle of a dlopen/dlclose, which ours would wait for while we hold this thread.
//
// Everything that needs symbols is resolved in the constructor, before any thread is stopped.
#pragma once

#include "memray/injector/target_modules.h"
#include "remote_unwinder.h"

#include <sys/user.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace memray::injector {

class SafePointChecker
{
  public:
    SafePointChecker(pid_t pid, TargetModules& modules, const std::string& payload_path);
    ~SafePointChecker();
    SafePointChecker(const SafePointChecker&) = delete;
    SafePointChecker& operator=(const SafePointChecker&) = delete;

    // `tid` must be ptrace-stopped with registers `regs`. nullopt when it is safe to borrow;
    // otherwise why not.
    std::optional<std::string> check(pid_t tid, const user_regs_struct& regs);
    // Takes in objects mapped since (with no thread stopped).
    void refresh();
    // How many frames the last check looked at.
    size_t lastDepth() const { return last_depth_; }

  private:
    struct Forbidden
    {
        AddressRange range;
        std::string what;
    };
    const Forbidden* find(uint64_t address) const;

    pid_t pid_;
    std::vector<Forbidden> forbidden_;
    std::string payload_name_;
    uint64_t r_state_address_ = 0;
    std::unique_ptr<RemoteUnwinder> unwinder_;
    size_t last_depth_ = 0;
};

}  // namespace memray::injector
