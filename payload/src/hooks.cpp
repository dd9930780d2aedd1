// Each intercept calls the real function (our own references to malloc & co. go through the
// payload's GOT, which is never patched, so they reach libc or whatever allocator the process
// interposed) and records what happened. Deallocations are recorded before the real call, so
// the address cannot be handed out again, and recorded by another thread, before our record.
#include "hooks.h"

#include "tracker.h"

#include <cstdarg>
#include <cstdlib>
#include <dlfcn.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

namespace memray::payload {

using format::Allocator;
using format::Deallocator;

namespace {

void* interceptMalloc(size_t size) noexcept
{
    void* ptr = malloc(size);
    if (ptr) {
        trackAllocation(Allocator::Malloc, reinterpret_cast<uintptr_t>(ptr), size);
    }
    return ptr;
}

void interceptFree(void* ptr) noexcept
{
    if (ptr) {
        trackDeallocation(Deallocator::Free, reinterpret_cast<uintptr_t>(ptr), 0);
    }
    free(ptr);
}

void* interceptCalloc(size_t count, size_t size) noexcept
{
    void* ptr = calloc(count, size);
    if (ptr) {
        trackAllocation(Allocator::Calloc, reinterpret_cast<uintptr_t>(ptr), count * size);
    }
    return ptr;
}

// GCC 12 reports recording the old address after realloc as a use after free, although
// only its integer value is recorded, never the memory behind it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuse-after-free"
void* interceptRealloc(void* old, size_t size) noexcept
{
    const auto old_address = reinterpret_cast<uintptr_t>(old);
    void* ptr = realloc(old, size);
    if (ptr || size == 0) {
        // realloc(p, 0) frees p (glibc); a failed realloc leaves it alone.
        if (old_address) {
            trackDeallocation(Deallocator::Free, old_address, 0);
        }
        if (ptr) {
            trackAllocation(Allocator::Realloc, reinterpret_cast<uintptr_t>(ptr), size);
        }
    }
    return ptr;
}
#pragma GCC diagnostic pop

int interceptPosixMemalign(void** out, size_t alignment, size_t size) noexcept
{
    int result = posix_memalign(out, alignment, size);
    if (result == 0 && *out) {
        trackAllocation(Allocator::PosixMemalign, reinterpret_cast<uintptr_t>(*out), size);
    }
    return result;
}

void* interceptAlignedAlloc(size_t alignment, size_t size) noexcept
{
    void* ptr = aligned_alloc(alignment, size);
    if (ptr) {
        trackAllocation(Allocator::AlignedAlloc, reinterpret_cast<uintptr_t>(ptr), size);
    }
    return ptr;
}

void* interceptMemalign(size_t alignment, size_t size) noexcept
{
    void* ptr = memalign(alignment, size);
    if (ptr) {
        trackAllocation(Allocator::Memalign, reinterpret_cast<uintptr_t>(ptr), size);
    }
    return ptr;
}

void* interceptValloc(size_t size) noexcept
{
    void* ptr = valloc(size);
    if (ptr) {
        trackAllocation(Allocator::Valloc, reinterpret_cast<uintptr_t>(ptr), size);
    }
    return ptr;
}

void* interceptPvalloc(size_t size) noexcept
{
    void* ptr = pvalloc(size);
    if (ptr) {
        trackAllocation(Allocator::Pvalloc, reinterpret_cast<uintptr_t>(ptr), size);
    }
    return ptr;
}

void* interceptMmap(void* address, size_t length, int protection, int flags, int fd, off_t offset) noexcept
{
    void* ptr = mmap(address, length, protection, flags, fd, offset);
    if (ptr != MAP_FAILED) {
        trackAllocation(Allocator::Mmap, reinterpret_cast<uintptr_t>(ptr), length);
    }
    return ptr;
}

void* interceptMmap64(void* address, size_t length, int protection, int flags, int fd, off64_t offset) noexcept
{
    void* ptr = mmap64(address, length, protection, flags, fd, offset);
    if (ptr != MAP_FAILED) {
        trackAllocation(Allocator::Mmap, reinterpret_cast<uintptr_t>(ptr), length);
    }
    return ptr;
}

int interceptMunmap(void* address, size_t length) noexcept
{
    trackDeallocation(Deallocator::Munmap, reinterpret_cast<uintptr_t>(address), length);
    return munmap(address, length);
}

void* interceptDlopen(const char* filename, int flags) noexcept
{
    // NOTE: the loader resolves a bare library name against the RUNPATH of the object that
    // calls dlopen, which is now the payload rather than the original caller. Python loads
    // extension modules by full path, so this rarely matters; see docs/capture-pipeline.md.
    void* handle = dlopen(filename, flags);
    if (handle && g_tracking.load(std::memory_order_relaxed) && !RecursionGuard::active()) {
        Tracker::patchNewlyLoadedObjects();
        Tracker::loadedObjectsChanged(/*unloaded=*/false);
    }
    return handle;
}

int interceptDlclose(void* handle) noexcept
{
    int result = dlclose(handle);
    if (result == 0 && g_tracking.load(std::memory_order_relaxed) && !RecursionGuard::active()) {
        Tracker::loadedObjectsChanged(/*unloaded=*/true);
    }
    return result;
}

int interceptPrctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5) noexcept
{
    int result = prctl(option, arg2, arg3, arg4, arg5);
    if (result == 0 && option == PR_SET_NAME && g_tracking.load(std::memory_order_relaxed)
        && !RecursionGuard::active())
    {
        RecursionGuard guard;
        Tracker::setCurrentThreadName(reinterpret_cast<const char*>(arg2));
    }
    return result;
}

// os._exit() and multiprocessing's forked workers end through _exit, which runs no atexit
// handler: the records still in memory would be lost without this.
[[noreturn]] void interceptExit(int status) noexcept
{
    Tracker::finishAtProcessExit();
    _exit(status);
}

[[noreturn]] void interceptExitUpper(int status) noexcept
{
    Tracker::finishAtProcessExit();
    _Exit(status);
}

}  // namespace

const std::vector<HookSpec>& interceptedFunctions()
{
    static const std::vector<HookSpec> hooks = {
            {"malloc", reinterpret_cast<void*>(&interceptMalloc)},
            {"free", reinterpret_cast<void*>(&interceptFree)},
            {"calloc", reinterpret_cast<void*>(&interceptCalloc)},
            {"realloc", reinterpret_cast<void*>(&interceptRealloc)},
            {"posix_memalign", reinterpret_cast<void*>(&interceptPosixMemalign)},
            {"aligned_alloc", reinterpret_cast<void*>(&interceptAlignedAlloc)},
            {"memalign", reinterpret_cast<void*>(&interceptMemalign)},
            {"valloc", reinterpret_cast<void*>(&interceptValloc)},
            {"pvalloc", reinterpret_cast<void*>(&interceptPvalloc)},
            {"mmap", reinterpret_cast<void*>(&interceptMmap)},
            {"mmap64", reinterpret_cast<void*>(&interceptMmap64)},
            {"munmap", reinterpret_cast<void*>(&interceptMunmap)},
            {"dlopen", reinterpret_cast<void*>(&interceptDlopen)},
            {"dlclose", reinterpret_cast<void*>(&interceptDlclose)},
            {"prctl", reinterpret_cast<void*>(&interceptPrctl)},
            {"_exit", reinterpret_cast<void*>(&interceptExit)},
            {"_Exit", reinterpret_cast<void*>(&interceptExitUpper)},
    };
    return hooks;
}

}  // namespace memray::payload
