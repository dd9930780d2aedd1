#include "native_unwinder.h"

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include <atomic>
#include <cstdint>
#include <dlfcn.h>
#include <link.h>
#include <mutex>
#include <string>

namespace memray::payload::native_unwinder {

namespace {

// Deeper stacks lose their outermost frames.
constexpr size_t kMaxNativeFrames = 4096;

// libunwind is loaded by the first native capture, not with the payload: it and the liblzma
// it needs cost every capture about a millisecond of loading (and an attach, that long a hold
// of the target thread that runs the dlopen), and only native captures use them.
constexpr const char* kLibunwind = "libunwind.so.8";  // Debian's libunwind8

// libunwind's names are macros over per-architecture symbols (unw_flush_cache is
// _Ux86_64_flush_cache): the header's own expansion gives the names to look up.
#define MEMRAY_SYMBOL_TEXT(name) #name
#define MEMRAY_UNWIND_SYMBOL(name) MEMRAY_SYMBOL_TEXT(name)

struct Libunwind
{
    decltype(&unw_backtrace) backtrace = nullptr;
    decltype(&unw_set_caching_policy) set_caching_policy = nullptr;
    decltype(&unw_set_cache_size) set_cache_size = nullptr;
    decltype(&unw_flush_cache) flush_cache = nullptr;
    unw_addr_space_t* local_addr_space = nullptr;
};

// Written once by prepare() before any native capture records; read without a lock after.
Libunwind g_unwind;
std::atomic<bool> g_loaded{false};

template<typename Symbol>
bool lookUp(void* library, const char* name, Symbol* out, std::string* error)
{
    *out = reinterpret_cast<Symbol>(dlsym(library, name));
    if (*out == nullptr) {
        *error = std::string(kLibunwind) + " has no " + name;
        return false;
    }
    return true;
}

bool load(std::string* error)
{
    void* library = dlopen(kLibunwind, RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
        const char* reason = dlerror();
        *error = std::string("native mode needs ") + kLibunwind + ": " + (reason ? reason : "cannot load it");
        return false;
    }
    Libunwind api;
    if (!lookUp(library, MEMRAY_UNWIND_SYMBOL(unw_backtrace), &api.backtrace, error)
        || !lookUp(library, MEMRAY_UNWIND_SYMBOL(unw_set_caching_policy), &api.set_caching_policy, error)
        || !lookUp(library, MEMRAY_UNWIND_SYMBOL(unw_set_cache_size), &api.set_cache_size, error)
        || !lookUp(library, MEMRAY_UNWIND_SYMBOL(unw_flush_cache), &api.flush_cache, error)
        || !lookUp(library, MEMRAY_UNWIND_SYMBOL(unw_local_addr_space), &api.local_addr_space, error)) {
        dlclose(library);
        return false;
    }
    g_unwind = api;  // the library stays loaded for the life of the process
    return true;
}

// The payload's own code: [begin, end).
uintptr_t g_payload_begin = 0;
uintptr_t g_payload_end = 0;

int findPayloadRange(dl_phdr_info* info, size_t, void*)
{
    const auto self = reinterpret_cast<uintptr_t>(&findPayloadRange);
    uintptr_t begin = UINTPTR_MAX, end = 0;
    for (int i = 0; i < info->dlpi_phnum; ++i) {
        const ElfW(Phdr)& segment = info->dlpi_phdr[i];
        if (segment.p_type != PT_LOAD) {
            continue;
        }
        const uintptr_t start = info->dlpi_addr + segment.p_vaddr;
        begin = start < begin ? start : begin;
        end = start + segment.p_memsz > end ? start + segment.p_memsz : end;
    }
    if (self >= begin && self < end) {
        g_payload_begin = begin;
        g_payload_end = end;
        return 1;
    }
    return 0;
}

bool inPayload(void* address)
{
    const auto value = reinterpret_cast<uintptr_t>(address);
    return value >= g_payload_begin && value < g_payload_end;
}

}  // namespace

bool prepare(std::string* error)
{
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    if (g_loaded.load(std::memory_order_acquire)) {
        return true;
    }
    if (!load(error)) {
        return false;
    }
    g_unwind.set_caching_policy(*g_unwind.local_addr_space, UNW_CACHE_PER_THREAD);
    g_unwind.set_cache_size(*g_unwind.local_addr_space, 1024, 0);
    dl_iterate_phdr(&findPayloadRange, nullptr);
    g_loaded.store(true, std::memory_order_release);
    return true;
}

size_t unwind(std::vector<void*>& scratch)
{
    if (scratch.empty()) {
        scratch.resize(128);
    }
    int count;
    for (;;) {
        count = g_unwind.backtrace(scratch.data(), static_cast<int>(scratch.size()));
        if (count < static_cast<int>(scratch.size()) || scratch.size() >= kMaxNativeFrames) {
            break;
        }
        scratch.resize(scratch.size() * 2);
    }
    if (count <= 0) {
        return 0;
    }
    size_t skip = 0;
    while (skip < static_cast<size_t>(count) && inPayload(scratch[skip])) {
        ++skip;
    }
    if (skip > 0) {
        std::copy(scratch.begin() + static_cast<std::ptrdiff_t>(skip), scratch.begin() + count, scratch.begin());
    }
    return static_cast<size_t>(count) - skip;
}

void flushCaches()
{
    if (g_loaded.load(std::memory_order_acquire)) {
        g_unwind.flush_cache(*g_unwind.local_addr_space, 0, 0);
    }
}

}  // namespace memray::payload::native_unwinder
