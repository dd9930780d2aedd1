// Loads a library into a running process and calls one of its functions, without gdb.
//
// How (each step in its own file):
//   1. Before anything is stopped: resolve dlopen, dlerror, dlsym and __errno_location in the
//      target's libc (LIEF, target_modules.h), pick the call gadget's address (libc's ELF entry
//      point, remote_call.h) and the address ranges a safe point must avoid (safe_point.h).
//   2. Seize one thread (traced_thread.h): preferably one asleep in a call that restarts
//      transparently, then running ones, threads blocked in a call that an interruption would
//      make fail with EINTR (epoll_wait & co.) last, memray's own never; the main thread first.
//      Interrupt it, and unwind its stack: if it is inside malloc, the loader or thread creation,
//      let it go at once, wait a few milliseconds and try again (this or another thread), until
//      the deadline.
//   3. At a safe point: save every register, call __errno_location (to put errno back later),
//      dlopen(payload, RTLD_NOW) (dlerror() if that fails), dlsym(entry), entry(argument).
//      The entry point is expected to return at once (the payload's starts a thread).
//   4. Put back the gadget's bytes, errno and every register; detach, delivering any signal
//      that arrived meanwhile.
// Only the one thread is ever stopped; the whole hold typically takes a few milliseconds.
#pragma once

#include "memray/injector/interruption.h"
#include "memray/injector/target_modules.h"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace memray::injector {

struct InjectionRequest
{
    std::string payload_path;  // absolute, valid inside the target's mount namespace
    std::string entry_symbol;  // an exported function: int entry(const char* argument)
    std::string argument;
    std::chrono::milliseconds safe_point_timeout{5000};
    std::chrono::milliseconds stop_timeout{1000};   // for one thread to stop once interrupted
    std::chrono::milliseconds call_timeout{15000};  // for one remote call to return
    // Told which thread is about to call dlopen (what `attach -v` says, for the impatient).
    std::function<void(pid_t thread)> on_dlopen;
};

struct InjectionReport
{
    pid_t thread = 0;     // the thread that ran the calls
    int entry_result = 0;  // the entry point's return value (its low 32 bits)
    int attempts = 0;      // threads stopped, including the one that was used
    std::chrono::microseconds longest_hold{0};  // the longest time any thread was held stopped
    std::chrono::microseconds call_hold{0};     // the hold of the thread that ran the calls
    std::chrono::microseconds check_time{0};    // of which: the safe-point check (stack unwind)
    std::chrono::microseconds dlopen_time{0};   // of which: the remote dlopen()
    std::vector<std::pair<std::string, std::chrono::microseconds>> calls;  // every remote call
    size_t stack_depth = 0;                     // frames the safe-point check looked at
    std::vector<std::string> refusals;          // why earlier attempts were not safe (the last few)
};

class SafePointChecker;

class Injector
{
  public:
    // Step 1 (the slow part). Throws Failure.
    Injector(pid_t pid, TargetModules& modules, const std::string& payload_path);
    ~Injector();
    Injector(const Injector&) = delete;
    Injector& operator=(const Injector&) = delete;

    // Steps 2-4. Throws Failure; whatever happens, the target is left as it was found (apart
    // from the library, if dlopen succeeded: it is never unloaded).
    InjectionReport inject(const InjectionRequest& request, Interruption& interruption);

  private:
    std::vector<pid_t> candidateThreads() const;

    pid_t pid_;
    uint64_t dlopen_ = 0;
    uint64_t dlerror_ = 0;
    uint64_t dlsym_ = 0;
    uint64_t errno_location_ = 0;
    uint64_t gadget_ = 0;
    std::unique_ptr<SafePointChecker> safe_point_;
};

}  // namespace memray::injector
