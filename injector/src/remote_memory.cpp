#include "remote_memory.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <vector>

namespace memray::injector {

namespace {

// process_vm_readv/writev may move fewer bytes than asked (a range that crosses into an unmapped
// page stops short), so both directions loop until everything moved or nothing more can.
using VmTransfer = ssize_t (*)(pid_t, const iovec*, unsigned long, const iovec*, unsigned long, unsigned long);

bool transferRemote(VmTransfer transfer, pid_t pid, uint64_t address, char* local_buffer, size_t size)
{
    while (size > 0) {
        iovec local{local_buffer, size};
        iovec remote{reinterpret_cast<void*>(address), size};
        ssize_t count = transfer(pid, &local, 1, &remote, 1, 0);
        if (count <= 0) {
            return false;
        }
        local_buffer += count;
        address += static_cast<uint64_t>(count);
        size -= static_cast<size_t>(count);
    }
    return true;
}

}  // namespace

bool readRemote(pid_t pid, uint64_t address, void* out, size_t size)
{
    return transferRemote(::process_vm_readv, pid, address, static_cast<char*>(out), size);
}

bool writeRemote(pid_t pid, uint64_t address, const void* data, size_t size)
{
    // process_vm_writev only reads the local buffer; the cast is for the shared iovec type.
    return transferRemote(::process_vm_writev, pid, address, const_cast<char*>(static_cast<const char*>(data)), size);
}

std::optional<std::string> readRemoteString(pid_t pid, uint64_t address, size_t limit)
{
    std::string text;
    char chunk[256];
    while (text.size() < limit) {
        // Never read across a page boundary in one go: the next page may not be mapped.
        size_t to_page_end = 4096 - (address & 4095);
        size_t want = std::min({sizeof(chunk), to_page_end, limit - text.size()});
        if (!readRemote(pid, address, chunk, want)) {
            return std::nullopt;
        }
        size_t length = ::strnlen(chunk, want);
        text.append(chunk, length);
        if (length < want) {
            return text;
        }
        address += want;
    }
    return text;
}

std::optional<uint64_t> peekText(pid_t tid, uint64_t address)
{
    errno = 0;
    long word = ::ptrace(PTRACE_PEEKTEXT, tid, reinterpret_cast<void*>(address), nullptr);
    if (errno != 0) {
        return std::nullopt;
    }
    return static_cast<uint64_t>(word);
}

bool pokeText(pid_t tid, uint64_t address, uint64_t word)
{
    return ::ptrace(PTRACE_POKETEXT, tid, reinterpret_cast<void*>(address), reinterpret_cast<void*>(word)) == 0;
}

}  // namespace memray::injector
