// Intercepting allocator calls by rewriting GOT slots of every loaded ELF object.
//
// Each object calls malloc & co. through its Global Offset Table (JUMP_SLOT relocations for
// PLT calls, GLOB_DAT for -fno-plt calls and address-taken uses). Rewriting those slots
// redirects the calls without touching code, works on stripped objects, and is undone by
// writing the saved values back. Objects loaded later with dlopen are patched when the
// payload's dlopen hook calls patchNewObjects().
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace memray::payload {

// A replacement must reach the real function through libc's own symbol table (dlsym on a
// dlopen("libc.so.6", RTLD_NOLOAD) handle, or dlsym(RTLD_NEXT)), or through a plain PLT call in
// the payload, which is never patched (ld.so binds JUMP_SLOTs to libc itself). Never through
// `&::malloc`, dlsym(RTLD_DEFAULT) or a -fno-plt call: in a non-PIE executable that takes
// malloc's address (Debian's /usr/bin/python3.11 does), those yield the executable's PLT stub,
// which jumps through a slot we patch: infinite recursion.
struct HookSpec
{
    const char* symbol;  // e.g. "malloc"; matches every symbol version (dlopen@GLIBC_2.34 too)
    void* replacement;   // our intercept function
};

// Not thread-safe against itself: the payload serializes the calls to one patcher (the calls
// of different patchers are serialized by the loader lock, which dl_iterate_phdr holds).
class GotPatcher
{
  public:
    // `hooks` must outlive the patcher. `own_object_address`: any address inside the payload
    // itself, whose object is never patched (nor are ld.so and the vDSO).
    GotPatcher(const std::vector<HookSpec>& hooks, const void* own_object_address);

    // Patches every loaded object not patched yet (safe to call again after a dlopen: objects
    // already patched are skipped, new ones are patched). Safe while other threads run:
    // each slot is one aligned 8-byte store. Returns the number of slots written.
    size_t patchNewObjects();

    // Writes every saved original value back and forgets all objects. Slots of objects that
    // were unloaded since they were patched are skipped.
    size_t restoreAll();

    // How many slots are currently patched.
    size_t patchedSlots() const;

  private:
    struct PatchedSlot
    {
        uintptr_t* slot;
        uintptr_t original;     // what the slot held before we wrote it
        uintptr_t replacement;  // what we wrote: restore only if it is still there
    };
    struct PatchedObject
    {
        uintptr_t base;      // dlpi_addr
        std::string name;    // dlpi_name
        std::vector<PatchedSlot> slots;
    };
    // The dl_iterate_phdr callbacks (defined in got_patcher.cpp). All reads and writes of GOT
    // slots happen inside them, while the loader lock keeps every object mapped.
    class Walker;

    const std::vector<HookSpec>& hooks_;
    const void* own_object_address_;
    std::vector<PatchedObject> objects_;
};

}  // namespace memray::payload
