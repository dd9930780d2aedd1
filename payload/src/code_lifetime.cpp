#include "code_lifetime.h"

#include <atomic>
#include <cstddef>
#include <cstring>

namespace memray::payload {

namespace {

using Destructor = void (*)(void* object);

// PyTypeObject on 64-bit CPython 3.7-3.13 (without Py_TRACE_REFS, which the payload does not
// support): PyVarObject (refcount, type, size), tp_name, tp_basicsize, tp_itemsize, tp_dealloc.
constexpr size_t kTpNameOffset = 24;
constexpr size_t kTpDeallocOffset = 48;

std::atomic<Destructor> g_original_dealloc{nullptr};
std::atomic<void (*)(const void*)> g_on_death{nullptr};

void deallocWatched(void* code)
{
    if (auto on_death = g_on_death.load(std::memory_order_acquire)) {
        on_death(code);
    }
    g_original_dealloc.load(std::memory_order_acquire)(code);
}

// The code type's tp_dealloc slot, read and written as one aligned pointer.
std::atomic<Destructor>* deallocSlot(const void* code_type)
{
    return reinterpret_cast<std::atomic<Destructor>*>(static_cast<char*>(const_cast<void*>(code_type)) + kTpDeallocOffset);
}

}  // namespace

bool watchCodeDeaths(const void* code_type, void (*on_death)(const void* code))
{
    auto* slot = deallocSlot(code_type);
    const Destructor current = slot->load(std::memory_order_relaxed);
    if (current == &deallocWatched) {
        return true;
    }
    if (Destructor original = g_original_dealloc.load(); original != nullptr) {
        if (current != original) {
            return false;  // somebody else wrapped it since: theirs is not ours to skip
        }
    } else {
        const char* name = *reinterpret_cast<const char* const*>(static_cast<const char*>(code_type) + kTpNameOffset);
        if (name == nullptr || std::strcmp(name, "code") != 0 || current == nullptr) {
            return false;
        }
        g_original_dealloc.store(current, std::memory_order_release);
    }
    g_on_death.store(on_death, std::memory_order_release);
    // One aligned pointer store: a thread reading the slot at the same time sees either function.
    slot->store(&deallocWatched, std::memory_order_release);
    return true;
}

void unwatchCodeDeaths(const void* code_type)
{
    Destructor ours = &deallocWatched;
    // A thread already inside deallocWatched finishes there: the payload is never unloaded.
    deallocSlot(code_type)->compare_exchange_strong(ours, g_original_dealloc.load(std::memory_order_acquire));
}

}  // namespace memray::payload
