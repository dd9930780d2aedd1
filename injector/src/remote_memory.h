// Reading and writing the target's memory.
//
// process_vm_readv/writev for data (no stop needed, page protections honoured), and
// PTRACE_POKEDATA for the few code bytes of the call gadget (text pages are read-only; ptrace
// writes through them as a debugger does, copy-on-write, private to the process).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace memray::injector {

// False if any byte could not be transferred.
bool readRemote(pid_t pid, uint64_t address, void* out, size_t size);
bool writeRemote(pid_t pid, uint64_t address, const void* data, size_t size);

template<typename T>
std::optional<T> readRemoteValue(pid_t pid, uint64_t address)
{
    T value{};
    if (!readRemote(pid, address, &value, sizeof(value))) {
        return std::nullopt;
    }
    return value;
}

// A NUL-terminated string of at most `limit` bytes.
std::optional<std::string> readRemoteString(pid_t pid, uint64_t address, size_t limit = 4096);

// Word-sized text access through ptrace; `tid` must be a ptrace-stopped tracee.
std::optional<uint64_t> peekText(pid_t tid, uint64_t address);
bool pokeText(pid_t tid, uint64_t address, uint64_t word);

}  // namespace memray::injector
