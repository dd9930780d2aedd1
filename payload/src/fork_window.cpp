#include "fork_window.h"

#include <atomic>
#include <cerrno>
#include <dlfcn.h>
#include <time.h>

namespace memray::payload {

namespace {

std::atomic<unsigned> g_fork_window_ms{0};

}  // namespace

void setForkWindowForTests(unsigned ms)
{
    g_fork_window_ms.store(ms, std::memory_order_relaxed);
}

void widenForkWindowForTests()
{
    const unsigned ms = g_fork_window_ms.load(std::memory_order_relaxed);
    if (ms == 0) {
        return;
    }
    timespec pause{static_cast<time_t>(ms / 1000), static_cast<long>(ms % 1000) * 1000000L};
    while (nanosleep(&pause, &pause) != 0 && errno == EINTR) {
    }
}

void dropGilForForkWindowForTests()
{
    if (g_fork_window_ms.load(std::memory_order_relaxed) == 0) {
        return;
    }
    using Save = void* (*)();
    using Restore = void (*)(void*);
    auto save = reinterpret_cast<Save>(dlsym(RTLD_DEFAULT, "PyEval_SaveThread"));
    auto restore = reinterpret_cast<Restore>(dlsym(RTLD_DEFAULT, "PyEval_RestoreThread"));
    if (!save || !restore) {
        return;
    }
    void* thread_state = save();
    widenForkWindowForTests();
    restore(thread_state);
}

}  // namespace memray::payload
