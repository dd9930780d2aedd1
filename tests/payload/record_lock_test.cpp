// The record lock against real threads: mutual exclusion while the bias is granted, revoked
// and granted again, and hand-over through a condition variable.
#include "record_lock.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace memray::payload {
namespace {

// A critical section that counts its entries in a plain integer and notices company: a broken
// exclusion shows as a lost increment or an overlap.
class Room
{
  public:
    explicit Room(RecordLock& lock)
    : lock_(lock)
    {
    }
    void enter()
    {
        std::lock_guard guard(lock_);
        if (inside_.fetch_add(1, std::memory_order_relaxed) != 0) {
            overlaps_.fetch_add(1);
        }
        ++entries_;
        inside_.fetch_sub(1, std::memory_order_relaxed);
    }
    uint64_t entries() const { return entries_; }
    int overlaps() const { return overlaps_.load(); }

  private:
    RecordLock& lock_;
    uint64_t entries_ = 0;
    std::atomic<int> inside_{0};
    std::atomic<int> overlaps_{0};
};

// Threads enter in bursts long enough to earn the bias, so it keeps being revoked by the next.
void enterInBursts(Room& room, int threads, int bursts, int burst_length)
{
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&] {
            for (int burst = 0; burst < bursts; ++burst) {
                for (int i = 0; i < burst_length; ++i) {
                    room.enter();
                }
                std::this_thread::yield();
            }
        });
    }
    for (auto& worker : workers) {
        worker.join();
    }
}

// Four threads in bursts: every entry counted, nobody ever in company.
void expectExclusionInBursts(RecordLock& lock, int bursts, int burst_length)
{
    Room room(lock);
    enterInBursts(room, 4, bursts, burst_length);
    EXPECT_EQ(room.entries(), 4u * static_cast<uint64_t>(bursts) * static_cast<uint64_t>(burst_length));
    EXPECT_EQ(room.overlaps(), 0);
}

TEST(RecordLock, ExcludesWhileTheBiasMovesBetweenThreads)
{
    RecordLock lock;
    ASSERT_TRUE(lock.enableBiasing()) << "membarrier is available on every machine this runs on";
    expectExclusionInBursts(lock, 200, 2000);
    // The bias was granted and taken away, again and again: the fast path was exercised.
    EXPECT_GT(lock.revocations(), 10u);
}

TEST(RecordLock, WithoutBiasingItIsAnOrdinaryLock)
{
    RecordLock lock;
    expectExclusionInBursts(lock, 50, 1000);
    EXPECT_EQ(lock.revocations(), 0u);
}

TEST(RecordLock, ExcludesWhenOneThreadKeepsTheBiasAndAnotherKeepsAsking)
{
    // The race the membarrier exists for: the owner enters through its bias in a tight loop
    // while another thread takes the lock as often as it gets a CPU, each time revoking the
    // bias that the owner earns back in between. Without the wait for the owner to leave,
    // it fails every time. Without the membarrier only now and then (an overlap, or a
    // deadlock that the ctest timeout turns into a failure): that race is a few instructions
    // wide and shows only while both threads run at once.
    for (int round = 0; round < 8; ++round) {
        RecordLock lock;
        ASSERT_TRUE(lock.enableBiasing());
        Room room(lock);
        std::atomic<bool> done{false};
        constexpr uint64_t kOwned = 2'000'000;
        std::thread owner([&] {
            for (uint64_t i = 0; i < kOwned; ++i) {
                room.enter();
            }
            done = true;
        });
        uint64_t asked = 0;
        while (!done) {
            room.enter();
            ++asked;
            std::this_thread::yield();
        }
        owner.join();
        ASSERT_EQ(room.entries(), kOwned + asked) << "round " << round;
        ASSERT_EQ(room.overlaps(), 0) << "round " << round;
        EXPECT_GT(lock.revocations(), 0u);
    }
}

TEST(RecordLock, ABiasedHolderWaitsOnAConditionVariable)
{
    // The capture writer's waiters release and retake the lock inside condition_variable_any.
    RecordLock lock;
    ASSERT_TRUE(lock.enableBiasing());
    std::condition_variable_any changed;
    int turn = 0;
    constexpr int kTurns = 2000;
    auto player = [&](int parity) {
        for (int i = 0; i < 300; ++i) {  // earn the bias first
            std::lock_guard guard(lock);
        }
        std::unique_lock guard(lock);
        while (turn < kTurns) {
            changed.wait(guard, [&] { return turn >= kTurns || turn % 2 == parity; });
            if (turn < kTurns) {
                ++turn;
                changed.notify_all();
            }
        }
    };
    std::thread even(player, 0);
    std::thread odd(player, 1);
    even.join();
    odd.join();
    EXPECT_EQ(turn, kTurns);
}

}  // namespace
}  // namespace memray::payload
