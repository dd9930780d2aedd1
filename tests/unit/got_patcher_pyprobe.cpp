// A stand-in payload for got_patcher_python_test.py: patches malloc & co. of a running CPython
// with counting hooks, so the test can check that walking and patching a real interpreter
// works (Debian's statically linked, non-PIE python3.11 as well as a shared libpython).
//
// Loaded with ctypes; exports plain C functions only.
#include "got_patcher.h"

#include <dlfcn.h>
#include <sys/mman.h>

#include <atomic>
#include <cstdlib>
#include <vector>

namespace {

using memray::payload::GotPatcher;
using memray::payload::HookSpec;

// From libc's own symbol table: in python3.11 `&::malloc` would be the executable's PLT stub,
// which jumps through a slot we patch (see got_patcher_testhooks.cpp).
template<typename F>
F libcFunction(const char* name)
{
    void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    void* fn = libc ? dlsym(libc, name) : nullptr;
    if (fn == nullptr) {
        abort();
    }
    return reinterpret_cast<F>(fn);
}

const auto real_malloc = libcFunction<decltype(&::malloc)>("malloc");
const auto real_calloc = libcFunction<decltype(&::calloc)>("calloc");
const auto real_realloc = libcFunction<decltype(&::realloc)>("realloc");
const auto real_free = libcFunction<decltype(&::free)>("free");
const auto real_mmap = libcFunction<decltype(&::mmap)>("mmap");

std::atomic<unsigned long long> g_allocations{0};
std::atomic<unsigned long long> g_frees{0};
std::atomic<unsigned long long> g_mmaps{0};

void* countingMalloc(size_t size)
{
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    return real_malloc(size);
}

void* countingCalloc(size_t count, size_t size)
{
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    return real_calloc(count, size);
}

void* countingRealloc(void* ptr, size_t size)
{
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    return real_realloc(ptr, size);
}

void countingFree(void* ptr)
{
    g_frees.fetch_add(1, std::memory_order_relaxed);
    real_free(ptr);
}

void* countingMmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset)
{
    g_mmaps.fetch_add(1, std::memory_order_relaxed);
    return real_mmap(addr, length, prot, flags, fd, offset);
}

const std::vector<HookSpec> g_hooks{
        {"malloc", reinterpret_cast<void*>(&countingMalloc)},
        {"calloc", reinterpret_cast<void*>(&countingCalloc)},
        {"realloc", reinterpret_cast<void*>(&countingRealloc)},
        {"free", reinterpret_cast<void*>(&countingFree)},
        {"mmap", reinterpret_cast<void*>(&countingMmap)},
        {"mmap64", reinterpret_cast<void*>(&countingMmap)},
};

GotPatcher g_patcher(g_hooks, reinterpret_cast<const void*>(&countingMalloc));

}  // namespace

extern "C" {

// Patches every object not patched yet; returns the number of slots written.
__attribute__((visibility("default"))) unsigned long got_probe_patch(void)
{
    return g_patcher.patchNewObjects();
}

// Restores everything; returns the number of slots written back.
__attribute__((visibility("default"))) unsigned long got_probe_restore(void)
{
    return g_patcher.restoreAll();
}

__attribute__((visibility("default"))) unsigned long got_probe_patched_slots(void)
{
    return g_patcher.patchedSlots();
}

__attribute__((visibility("default"))) unsigned long long got_probe_allocations(void)
{
    return g_allocations.load();
}

__attribute__((visibility("default"))) unsigned long long got_probe_frees(void)
{
    return g_frees.load();
}

__attribute__((visibility("default"))) unsigned long long got_probe_mmaps(void)
{
    return g_mmaps.load();
}
}
