#include "record_lock.h"

#include <cstring>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

namespace memray::payload {

constinit thread_local uint64_t RecordLock::t_identity = 0;

namespace {

std::atomic<uint64_t> g_next_identity{1};
// Registration is per address space and lasts until exec.
std::atomic<bool> g_registered{false};

long membarrier(int command)
{
    return syscall(SYS_membarrier, command, 0, 0);
}

// A process under a seccomp filter may be killed by a system call the filter does not expect;
// a profiler must never be the reason. Only a process without one gets membarrier.
bool underSeccompFilter()
{
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return true;
    }
    char status[4096];
    ssize_t length = read(fd, status, sizeof(status) - 1);
    close(fd);
    if (length <= 0) {
        return true;
    }
    status[length] = '\0';
    const char* field = std::strstr(status, "\nSeccomp:");
    if (!field) {
        return false;  // kernels without seccomp have no field
    }
    field += std::strlen("\nSeccomp:");
    while (*field == ' ' || *field == '\t') {
        ++field;
    }
    return *field != '0';
}

// Spins, then yields, then naps: the holder is usually running and about to release.
void backOff(uint32_t attempt)
{
    if (attempt < 100) {
        __builtin_ia32_pause();
    } else if (attempt < 200) {
        sched_yield();
    } else {
        timespec nap{0, 20'000};
        nanosleep(&nap, nullptr);
    }
}

}  // namespace

uint64_t RecordLock::assignThreadIdentity()
{
    t_identity = g_next_identity.fetch_add(1, std::memory_order_relaxed);
    return t_identity;
}

bool RecordLock::enableBiasing()
{
    if (!g_registered) {
        if (underSeccompFilter()) {
            return false;
        }
        long supported = membarrier(MEMBARRIER_CMD_QUERY);
        if (supported < 0 || !(supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED)) {
            return false;
        }
        if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) != 0) {
            return false;
        }
        g_registered = true;
    }
    lock();
    biasing_enabled_ = true;
    unlock();
    return true;
}

void RecordLock::disableBiasingInChild()
{
    biasing_enabled_ = false;
    bias_owner_.store(0, std::memory_order_relaxed);
    // The forking thread holds the lock, but if through the bias, another thread of the parent
    // may have been half-way through an ordinary acquisition: held_ taken, waiting in
    // revokeBias() for that biased hold to end. That thread does not exist here, and held_
    // would stay taken for good: the only thread here holds the lock, through held_fast_ or
    // held_, and unlock() releases either way.
    if (held_fast_.load(std::memory_order_relaxed)) {
        held_.store(false, std::memory_order_relaxed);
    }
    g_registered = false;  // a new address space: registering again is up to the next start
}

void RecordLock::waitForHeld()
{
    for (uint32_t attempt = 0;; ++attempt) {
        if (!held_.load(std::memory_order_relaxed) && !held_.exchange(true, std::memory_order_acquire)) {
            return;
        }
        backOff(attempt);
    }
}

void RecordLock::revokeBias()
{
    bias_owner_.store(0, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0) {
        // Cannot happen once registered. Were it to, stop biasing: the owner this revokes
        // has at most one acquisition in flight, which the wait below still sees through on
        // x86 in all but a window of a few instructions.
        biasing_enabled_ = false;
    }
    ++revocations_;
    for (uint32_t attempt = 0; in_use_.load(std::memory_order_acquire); ++attempt) {
        backOff(attempt);
    }
}

}  // namespace memray::payload
