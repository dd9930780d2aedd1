#include "pymalloc_hooks.h"

#include "recursion_guard.h"
#include "tracker.h"

#include <dlfcn.h>

namespace memray::payload {

namespace {

// PyMemAllocatorEx: stable since 3.5.
struct AllocatorFunctions
{
    void* ctx;
    void* (*malloc)(void* ctx, size_t size);
    void* (*calloc)(void* ctx, size_t count, size_t size);
    void* (*realloc)(void* ctx, void* ptr, size_t size);
    void (*free)(void* ctx, void* ptr);
};

enum Domain { kRaw = 0, kMem = 1, kObj = 2, kDomains = 3 };

void (*g_get_allocator)(int, AllocatorFunctions*) = nullptr;
void (*g_set_allocator)(int, AllocatorFunctions*) = nullptr;
// Written once per install, before our functions are published; never cleared, so a wrapper
// that is still running after removal keeps calling valid originals.
AllocatorFunctions g_original[kDomains];

template<int D>
void* wrappedMalloc(void*, size_t size)
{
    void* ptr;
    {
        RecursionGuard guard;
        ptr = g_original[D].malloc(g_original[D].ctx, size);
    }
    if (ptr) {
        trackAllocation(format::Allocator::PymallocMalloc, reinterpret_cast<uintptr_t>(ptr), size);
    }
    return ptr;
}

template<int D>
void* wrappedCalloc(void*, size_t count, size_t size)
{
    void* ptr;
    {
        RecursionGuard guard;
        ptr = g_original[D].calloc(g_original[D].ctx, count, size);
    }
    if (ptr) {
        trackAllocation(format::Allocator::PymallocCalloc, reinterpret_cast<uintptr_t>(ptr), count * size);
    }
    return ptr;
}

// GCC 12 reports recording the old address after realloc as a use after free, although
// only its integer value is recorded, never the memory behind it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuse-after-free"
template<int D>
void* wrappedRealloc(void*, void* old, size_t size)
{
    const auto old_address = reinterpret_cast<uintptr_t>(old);
    void* ptr;
    {
        RecursionGuard guard;
        ptr = g_original[D].realloc(g_original[D].ctx, old, size);
    }
    if (ptr) {
        if (old_address) {
            trackDeallocation(format::Deallocator::PymallocFree, old_address, 0);
        }
        trackAllocation(format::Allocator::PymallocRealloc, reinterpret_cast<uintptr_t>(ptr), size);
    }
    return ptr;
}
#pragma GCC diagnostic pop

template<int D>
void wrappedFree(void*, void* ptr)
{
    if (ptr) {
        trackDeallocation(format::Deallocator::PymallocFree, reinterpret_cast<uintptr_t>(ptr), 0);
    }
    RecursionGuard guard;
    g_original[D].free(g_original[D].ctx, ptr);
}

template<int D>
AllocatorFunctions wrappers()
{
    return AllocatorFunctions{nullptr, &wrappedMalloc<D>, &wrappedCalloc<D>, &wrappedRealloc<D>, &wrappedFree<D>};
}

bool g_installed = false;

}  // namespace

bool resolvePymallocApi(std::string* error)
{
    g_get_allocator = reinterpret_cast<decltype(g_get_allocator)>(dlsym(RTLD_DEFAULT, "PyMem_GetAllocator"));
    g_set_allocator = reinterpret_cast<decltype(g_set_allocator)>(dlsym(RTLD_DEFAULT, "PyMem_SetAllocator"));
    if (!g_get_allocator || !g_set_allocator) {
        *error = "Python C API function not found: PyMem_SetAllocator";
        return false;
    }
    return true;
}

void installPymallocHooks()
{
    if (g_installed) {
        return;
    }
    AllocatorFunctions ours[kDomains] = {wrappers<kRaw>(), wrappers<kMem>(), wrappers<kObj>()};
    for (int domain = 0; domain < kDomains; ++domain) {
        g_get_allocator(domain, &g_original[domain]);
        g_set_allocator(domain, &ours[domain]);
    }
    g_installed = true;
}

void removePymallocHooks()
{
    if (!g_installed) {
        return;
    }
    for (int domain = 0; domain < kDomains; ++domain) {
        g_set_allocator(domain, &g_original[domain]);
    }
    g_installed = false;
}

}  // namespace memray::payload
