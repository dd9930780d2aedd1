// The lock of the record stream: taken once per recorded event, by every thread.
//
// std::mutex costs two atomic read-modify-writes per event (lock and unlock: the unlock must
// learn whether someone sleeps on the futex). On the profiled workloads those two were a
// quarter of the tracker's time with --trace-python-allocators. This lock is held for a few
// hundred nanoseconds at a time and rarely contended (the GIL already serialises most
// allocating threads), so it spins instead of sleeping on a futex: lock is one atomic
// exchange, unlock a plain release store. A waiter spins briefly, then yields, then sleeps in
// short naps, so a preempted holder costs the waiters little CPU.
//
// BasicLockable (std::unique_lock, std::lock_guard, std::condition_variable_any).
#pragma once

#include <atomic>
#include <cstdint>
#include <sched.h>
#include <time.h>

namespace memray::payload {

class RecordLock
{
  public:
    RecordLock() = default;
    RecordLock(const RecordLock&) = delete;
    RecordLock& operator=(const RecordLock&) = delete;

    void lock()
    {
        if (held_.exchange(true, std::memory_order_acquire)) {
            lockSlow();
        }
    }
    bool try_lock() { return !held_.load(std::memory_order_relaxed) && !held_.exchange(true, std::memory_order_acquire); }
    void unlock() { held_.store(false, std::memory_order_release); }

  private:
    void lockSlow()
    {
        for (uint32_t attempt = 0;; ++attempt) {
            if (!held_.load(std::memory_order_relaxed) && !held_.exchange(true, std::memory_order_acquire)) {
                return;
            }
            if (attempt < 100) {
                __builtin_ia32_pause();
            } else if (attempt < 200) {
                sched_yield();
            } else {
                timespec nap{0, 20'000};
                nanosleep(&nap, nullptr);
            }
        }
    }

    std::atomic<bool> held_{false};
};

}  // namespace memray::payload
