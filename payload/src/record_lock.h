// The lock of the record stream: taken once per recorded event, by every thread.
//
// Held for a few hundred nanoseconds at a time and rarely contended (the GIL already
// serialises most allocating threads), so a waiter spins instead of sleeping on a futex, then
// yields, then naps, and a preempted holder costs the waiters little CPU.
//
// Biased to the thread that uses it most. Even uncontended, an atomic exchange per event was
// 38% of the samples of recordDeallocation with --trace-python-allocators: the locked
// instruction waits for the store buffer to drain. So once one thread has taken the lock many
// times in a row, it is given the bias, and takes the lock with plain stores and loads:
//
//   owner:  in_use_ = true;  (compiler barrier)  if bias_owner_ still names me: I hold it
//   other:  bias_owner_ = 0;  membarrier();       wait until in_use_ is false
//
// The owner's store and load may be reordered by the CPU; membarrier(PRIVATE_EXPEDITED) runs a
// full memory barrier on every CPU that runs one of our threads (a thread that is not running
// went through one in the context switch). So either the owner's in_use_ is visible to the
// revoker, which waits, or the owner reads bias_owner_ after the revocation, and takes the
// ordinary path. A revocation costs the revoker a system call (~1.5 us here), which is why
// the bias goes only to a thread that has won the lock kBiasStreak times in a row.
//
// Biasing needs membarrier registered (enableBiasing()); without it, and in a forked child,
// every acquisition is the ordinary atomic exchange.
//
// BasicLockable (std::unique_lock, std::lock_guard, std::condition_variable_any).
#pragma once

#include <atomic>
#include <cstdint>

namespace memray::payload {

class RecordLock
{
  public:
    RecordLock() = default;
    RecordLock(const RecordLock&) = delete;
    RecordLock& operator=(const RecordLock&) = delete;

    // Registers the process for membarrier and lets the lock be biased. Once per process, not
    // from a hot path (registration takes about a millisecond). False, leaving the lock
    // unbiased, where the kernel lacks membarrier or a seccomp filter might forbid it.
    bool enableBiasing();
    // In a forked child, with the lock held: the child's address space is not registered, and
    // no other thread's acquisition under way in the parent survives.
    void disableBiasingInChild();

    // Inline, with only the biased path in it: taken for every recorded event, and as a call
    // (with std::unique_lock's wrapper around it) it cost more than the path itself.
    [[gnu::always_inline]] void lock()
    {
        const uint64_t me = threadIdentity();
        if (bias_owner_.load(std::memory_order_relaxed) == me) {
            in_use_.store(true, std::memory_order_relaxed);
            std::atomic_signal_fence(std::memory_order_seq_cst);
            // Acquire: on x86 a plain load that keeps the critical section's accesses after it.
            if (bias_owner_.load(std::memory_order_acquire) == me) {
                held_fast_.store(true, std::memory_order_relaxed);
                return;
            }
            in_use_.store(false, std::memory_order_release);  // revoked meanwhile
        }
        lockOrdinary(me);
    }

    [[gnu::always_inline]] void unlock()
    {
        if (held_fast_.load(std::memory_order_relaxed)) {
            held_fast_.store(false, std::memory_order_relaxed);
            in_use_.store(false, std::memory_order_release);
        } else {
            held_.store(false, std::memory_order_release);
        }
    }

    // For tests and the benchmark's reasoning: how often the bias was taken away.
    uint64_t revocations() const { return revocations_; }

  private:
    // Ordinary acquisitions in a row by one thread before it gets the bias.
    static constexpr uint32_t kBiasStreak = 256;

    // A number no other thread ever had (thread-local addresses are reused by later threads).
    static uint64_t threadIdentity()
    {
        return t_identity != 0 ? t_identity : assignThreadIdentity();
    }
    static uint64_t assignThreadIdentity();

    [[gnu::noinline]] void lockOrdinary(uint64_t me)
    {
        if (held_.exchange(true, std::memory_order_acquire)) {
            waitForHeld();
        }
        afterOrdinaryAcquire(me);
    }
    void waitForHeld();
    // With held_ taken: revokes another thread's bias, and grants it to `me` after a streak.
    void afterOrdinaryAcquire(uint64_t me)
    {
        const uint64_t owner = bias_owner_.load(std::memory_order_relaxed);
        if (owner != 0 && owner != me) {
            revokeBias();
        }
        if (!biasing_enabled_) {
            return;
        }
        if (last_holder_ != me) {
            last_holder_ = me;
            streak_ = 0;
        } else if (++streak_ >= kBiasStreak) {
            bias_owner_.store(me, std::memory_order_relaxed);
        }
    }
    void revokeBias();

    // initial-exec: no __tls_get_addr on the hot path (see recursion_guard.h).
    static constinit thread_local uint64_t t_identity __attribute__((tls_model("initial-exec")));

    std::atomic<bool> held_{false};               // the ordinary lock
    std::atomic<uint64_t> bias_owner_{0};         // the biased thread's identity, 0 for none
    std::atomic<bool> in_use_{false};             // written only by the biased thread
    std::atomic<bool> held_fast_{false};          // the current hold came through the bias
    bool biasing_enabled_ = false;                // written with held_ taken (or before use)
    uint64_t last_holder_ = 0;                    // these three: with held_ taken
    uint32_t streak_ = 0;
    uint64_t revocations_ = 0;
};

// A scoped hold of a RecordLock for the event hot paths. std::lock_guard does the same, but
// link-time optimisation left its constructor a call (with the lock's path inlined inside).
class RecordLockHold
{
  public:
    [[gnu::always_inline]] explicit RecordLockHold(RecordLock& lock)
    : lock_(lock)
    {
        lock_.lock();
    }
    [[gnu::always_inline]] ~RecordLockHold() { lock_.unlock(); }
    RecordLockHold(const RecordLockHold&) = delete;
    RecordLockHold& operator=(const RecordLockHold&) = delete;

  private:
    RecordLock& lock_;
};

}  // namespace memray::payload
