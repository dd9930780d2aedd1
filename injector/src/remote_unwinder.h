// Walks the stack of a stopped thread of another process with libunwind, fast.
//
// libunwind-ptrace's own accessors (_UPT_*) re-read /proc/PID/maps and mmap the whole ELF file
// for every frame, and read memory one word per PTRACE_PEEKDATA: 10-15 ms for a 20-frame
// Python stack here, most of the time a thread may be held. So libunwind gets accessors of
// ours instead:
//   - unwind tables: before anything is stopped, the ELF header, program headers and
//     .eh_frame_hdr of every object the target has mapped (the vdso included) are read from
//     its memory, giving libunwind a ready "remote table" per object, which it binary-searches
//     itself (dwarf_search_unwind_table, the same entry point perf uses);
//   - memory: process_vm_readv a page at a time, cached for the duration of one walk;
//   - registers: from the PTRACE_GETREGSET snapshot the injector takes anyway.
#pragma once

#include "memray/injector/proc.h"

#include <sys/user.h>

#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace memray::injector {

class RemoteUnwinder
{
  public:
    RemoteUnwinder(pid_t pid, const std::vector<MapEntry>& maps);
    ~RemoteUnwinder();
    RemoteUnwinder(const RemoteUnwinder&) = delete;
    RemoteUnwinder& operator=(const RemoteUnwinder&) = delete;

    // Re-reads the objects the target has mapped (a library loaded since).
    void refresh(const std::vector<MapEntry>& maps);

    struct Walk
    {
        std::vector<uint64_t> ips;  // innermost first
        int error = 0;              // 0: reached the outermost frame; < 0: libunwind's error
    };
    // The thread must be stopped; `regs` are its registers.
    Walk walk(const user_regs_struct& regs, size_t max_frames);

    size_t tableCount() const;

    // The libunwind accessors (public for the C callback table only).
    struct Table;
    const Table* tableFor(uint64_t ip) const;
    bool readWord(uint64_t address, uint64_t* value);
    bool readRegister(int regnum, uint64_t* value) const;

  private:
    bool readPage(uint64_t page, const uint8_t** data);

    pid_t pid_;
    std::vector<Table> tables_;
    void* address_space_ = nullptr;  // unw_addr_space_t
    const user_regs_struct* regs_ = nullptr;
    std::unordered_map<uint64_t, std::array<uint8_t, 4096>> pages_;
};

}  // namespace memray::injector
