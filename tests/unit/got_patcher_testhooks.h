// Counting replacements for malloc & co., used by got_patcher_test.cpp.
//
// They live in libgot_patcher_testshim.so together with the GotPatcher under test, which plays
// the payload: the test passes ownObjectAddress() so the shim itself is never patched.
//
// Each hook attributes its call to the object that made it (by return address), so a test can
// ask "how many mallocs did libgot_patcher_testlib_now.so make through the hook" without being
// disturbed by the allocations of gtest, libstdc++ or other threads.
#pragma once

#include "got_patcher.h"

#include <cstdint>
#include <vector>

namespace got_test {

enum Fn { kMalloc, kCalloc, kRealloc, kFree, kPosixMemalign, kMmap, kMunmap, kFnCount };

// Starts attributing hook calls made from the code of the object containing `address` (its
// executable segments) and returns that object's id; returns the same id when asked again.
int track(const void* address);

// Hook calls of `fn` made from the tracked object `id` so far.
uint64_t count(int id, Fn fn);

// The hooks: malloc, calloc, realloc, free, posix_memalign, mmap, mmap64, munmap.
const std::vector<memray::payload::HookSpec>& hooks();

// An address inside the shim, for GotPatcher's own_object_address.
const void* ownObjectAddress();

// Calls malloc and free once each through the shim's own GOT (which must stay unpatched).
void shimAllocate();

}  // namespace got_test
