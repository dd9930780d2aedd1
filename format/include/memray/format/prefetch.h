// Starts loading the cache line at `address`, for a lookup that comes a little later.
//
// Not __builtin_prefetch: GCC models it as having no side effects, so a function whose body is
// only a prefetch is found "pure" and a call to it (returning nothing) is deleted as dead
// code, unless it happened to be inlined first. That silently removed every prefetch that
// went through a member function (AddressMap::prefetch and the callers above it). A volatile
// asm is never removed, nor is anything that calls it.
#pragma once

namespace memray::format {

inline void prefetch(const void* address)
{
#if defined(__x86_64__)
    asm volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(address)));
#else
    __builtin_prefetch(address);
#endif
}

}  // namespace memray::format
