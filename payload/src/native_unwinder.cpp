#include "native_unwinder.h"

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include <cstdint>
#include <link.h>
#include <mutex>

namespace memray::payload::native_unwinder {

namespace {

// Deeper stacks lose their outermost frames.
constexpr size_t kMaxNativeFrames = 4096;

// The payload's own code: [begin, end).
uintptr_t g_payload_begin = 0;
uintptr_t g_payload_end = 0;

int findPayloadRange(dl_phdr_info* info, size_t, void*)
{
    const auto self = reinterpret_cast<uintptr_t>(&prepare);
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

void prepare()
{
    static std::once_flag once;
    std::call_once(once, [] {
        unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
        unw_set_cache_size(unw_local_addr_space, 1024, 0);
        dl_iterate_phdr(&findPayloadRange, nullptr);
    });
}

size_t unwind(std::vector<void*>& scratch)
{
    if (scratch.empty()) {
        scratch.resize(128);
    }
    int count;
    for (;;) {
        count = unw_backtrace(scratch.data(), static_cast<int>(scratch.size()));
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
    unw_flush_cache(unw_local_addr_space, 0, 0);
}

}  // namespace memray::payload::native_unwinder
