// Counting replacements for malloc & co.: see got_patcher_testhooks.h.
#include "got_patcher_testhooks.h"

#include <dlfcn.h>
#include <link.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>

namespace got_test {
namespace {

// The real functions, looked up in libc's own symbol table. Not `&::malloc`: in a process
// whose non-PIE executable takes malloc's address (Debian's python3.11 does), that address is
// the executable's PLT stub, which jumps through the executable's GOT slot, i.e. to our hook.
struct Real
{
    decltype(&::malloc) malloc;
    decltype(&::calloc) calloc;
    decltype(&::realloc) realloc;
    decltype(&::free) free;
    decltype(&::posix_memalign) posix_memalign;
    decltype(&::mmap) mmap;
    decltype(&::munmap) munmap;
};

template<typename F>
F lookup(void* libc, const char* name)
{
    void* fn = dlsym(libc, name);
    if (fn == nullptr) {
        abort();
    }
    return reinterpret_cast<F>(fn);
}

Real resolveReal()
{
    void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    if (libc == nullptr) {
        abort();
    }
    return Real{
            lookup<decltype(&::malloc)>(libc, "malloc"),
            lookup<decltype(&::calloc)>(libc, "calloc"),
            lookup<decltype(&::realloc)>(libc, "realloc"),
            lookup<decltype(&::free)>(libc, "free"),
            lookup<decltype(&::posix_memalign)>(libc, "posix_memalign"),
            lookup<decltype(&::mmap)>(libc, "mmap"),
            lookup<decltype(&::munmap)>(libc, "munmap"),
    };
}

// Resolved while the shim is loaded, before any test can patch anything.
const Real real = resolveReal();

constexpr int kMaxTracked = 16;

// Hooks read these concurrently with track() adding an entry: an entry is filled before
// g_tracked is raised to include it.
struct Range
{
    std::atomic<uintptr_t> start{0};
    std::atomic<uintptr_t> end{0};
};
Range g_ranges[kMaxTracked];
std::atomic<int> g_tracked{0};
std::atomic<uint64_t> g_counts[kMaxTracked][kFnCount];

void note(Fn fn, void* return_address)
{
    const auto pc = reinterpret_cast<uintptr_t>(return_address);
    const int tracked = g_tracked.load(std::memory_order_acquire);
    for (int i = 0; i < tracked; ++i) {
        if (pc >= g_ranges[i].start.load(std::memory_order_relaxed)
            && pc < g_ranges[i].end.load(std::memory_order_relaxed)) {
            g_counts[i][fn].fetch_add(1, std::memory_order_relaxed);
        }
    }
}

void* hookMalloc(size_t size)
{
    note(kMalloc, __builtin_return_address(0));
    return real.malloc(size);
}

void* hookCalloc(size_t count, size_t size)
{
    note(kCalloc, __builtin_return_address(0));
    return real.calloc(count, size);
}

void* hookRealloc(void* ptr, size_t size)
{
    note(kRealloc, __builtin_return_address(0));
    return real.realloc(ptr, size);
}

void hookFree(void* ptr)
{
    note(kFree, __builtin_return_address(0));
    real.free(ptr);
}

int hookPosixMemalign(void** ptr, size_t alignment, size_t size)
{
    note(kPosixMemalign, __builtin_return_address(0));
    return real.posix_memalign(ptr, alignment, size);
}

void* hookMmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset)
{
    note(kMmap, __builtin_return_address(0));
    return real.mmap(addr, length, prot, flags, fd, offset);
}

int hookMunmap(void* addr, size_t length)
{
    note(kMunmap, __builtin_return_address(0));
    return real.munmap(addr, length);
}

struct Found
{
    uintptr_t address;
    uintptr_t start = UINTPTR_MAX;
    uintptr_t end = 0;
};

int findExecutableRange(dl_phdr_info* info, size_t, void* data)
{
    auto& found = *static_cast<Found*>(data);
    uintptr_t start = UINTPTR_MAX, end = 0;
    bool contains = false;
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& ph = info->dlpi_phdr[i];
        if (ph.p_type != PT_LOAD) {
            continue;
        }
        const uintptr_t seg_start = info->dlpi_addr + ph.p_vaddr;
        const uintptr_t seg_end = seg_start + ph.p_memsz;
        contains |= found.address >= seg_start && found.address < seg_end;
        if (ph.p_flags & PF_X) {
            start = std::min(start, seg_start);
            end = std::max(end, seg_end);
        }
    }
    if (contains) {
        found.start = start;
        found.end = end;
        return 1;
    }
    return 0;
}

}  // namespace

int track(const void* address)
{
    Found found{reinterpret_cast<uintptr_t>(address)};
    dl_iterate_phdr(&findExecutableRange, &found);
    if (found.end == 0) {
        abort();
    }
    const int tracked = g_tracked.load(std::memory_order_relaxed);
    for (int i = 0; i < tracked; ++i) {
        if (g_ranges[i].start.load() == found.start && g_ranges[i].end.load() == found.end) {
            return i;
        }
    }
    if (tracked == kMaxTracked) {
        abort();
    }
    g_ranges[tracked].start.store(found.start, std::memory_order_relaxed);
    g_ranges[tracked].end.store(found.end, std::memory_order_relaxed);
    g_tracked.store(tracked + 1, std::memory_order_release);
    return tracked;
}

uint64_t count(int id, Fn fn)
{
    return g_counts[id][fn].load(std::memory_order_relaxed);
}

const std::vector<memray::payload::HookSpec>& hooks()
{
    static const std::vector<memray::payload::HookSpec> specs{
            {"malloc", reinterpret_cast<void*>(&hookMalloc)},
            {"calloc", reinterpret_cast<void*>(&hookCalloc)},
            {"realloc", reinterpret_cast<void*>(&hookRealloc)},
            {"free", reinterpret_cast<void*>(&hookFree)},
            {"posix_memalign", reinterpret_cast<void*>(&hookPosixMemalign)},
            {"mmap", reinterpret_cast<void*>(&hookMmap)},
            {"mmap64", reinterpret_cast<void*>(&hookMmap)},
            {"munmap", reinterpret_cast<void*>(&hookMunmap)},
    };
    return specs;
}

const void* ownObjectAddress()
{
    return reinterpret_cast<const void*>(&hookMalloc);
}

void shimAllocate()
{
    void* p = malloc(32);
    __asm__ volatile("" : : "r"(p) : "memory");
    free(p);
}

}  // namespace got_test
