// HandoffQueue between two real threads: every batch arrives once and in order whatever the
// capacity and whichever side is slower (each side then waits for the queue to be half full or
// half empty, so a wrong wake-up condition shows up here as a hang), and a consumer that
// abandons releases a producer blocked on a full queue.
#include "../../reader/src/handoff_queue.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <random>
#include <thread>

namespace memray::reader {
namespace {

using namespace std::chrono_literals;

constexpr int kBatches = 400;
constexpr int kItemsPerBatch = 3;

// Runs `test` on its own thread and fails (aborting: a hung thread cannot be stopped) if it
// has not finished within a generous time.
template <typename F>
void withinSeconds(int seconds, F test)
{
    auto done = std::async(std::launch::async, test);
    if (done.wait_for(std::chrono::seconds(seconds)) != std::future_status::ready) {
        ADD_FAILURE() << "the queue hung";
        std::abort();
    }
    done.get();
}

// Pauses for 0-20 us on about one call in `one_in`, so that side falls behind now and then.
class Dawdler
{
  public:
    Dawdler(unsigned seed, unsigned one_in)
    : random_(seed)
    , one_in_(one_in)
    {
    }
    void maybePause()
    {
        if (random_() % one_in_ == 0) {
            std::this_thread::sleep_for(std::chrono::microseconds(random_() % 20));
        }
    }

  private:
    std::mt19937 random_;
    unsigned one_in_;
};

void deliverAll(size_t capacity, unsigned producer_pauses, unsigned consumer_pauses)
{
    HandoffQueue<int> queue(capacity);
    std::thread producer([&] {
        Dawdler dawdler(1, producer_pauses);
        for (int b = 0; b < kBatches; ++b) {
            auto batch = queue.takeEmpty();
            for (int i = 0; i < kItemsPerBatch; ++i) {
                batch.push_back(b * kItemsPerBatch + i);
            }
            dawdler.maybePause();
            ASSERT_TRUE(queue.push(std::move(batch)));
        }
        queue.close();
    });
    Dawdler dawdler(2, consumer_pauses);
    int expected = 0;
    HandoffQueue<int>::Batch batch;
    while (queue.pop(&batch)) {
        for (int item : batch) {
            ASSERT_EQ(item, expected++);
        }
        dawdler.maybePause();
        queue.recycle(std::move(batch));
    }
    producer.join();
    EXPECT_EQ(expected, kBatches * kItemsPerBatch);
    EXPECT_FALSE(queue.pop(&batch));  // closed and drained stays so
}

TEST(HandoffQueue, DeliversEveryBatchInOrder)
{
    withinSeconds(60, [] {
        for (size_t capacity : {1, 2, 3, 4, 7, 8}) {
            SCOPED_TRACE("capacity " + std::to_string(capacity));
            deliverAll(capacity, 1000000, 1000000);  // both sides flat out
            deliverAll(capacity, 2, 1000000);        // the producer is slower
            deliverAll(capacity, 1000000, 2);        // the consumer is slower
            deliverAll(capacity, 3, 3);              // either, by turns
        }
    });
}

TEST(HandoffQueue, EmptyStreamEnds)
{
    withinSeconds(60, [] {
        HandoffQueue<int> queue(4);
        std::thread producer([&] {
            std::this_thread::sleep_for(1ms);
            queue.close();
        });
        HandoffQueue<int>::Batch batch;
        EXPECT_FALSE(queue.pop(&batch));
        producer.join();
    });
}

TEST(HandoffQueue, AbandonReleasesABlockedProducer)
{
    withinSeconds(60, [] {
        HandoffQueue<int> queue(4);
        std::promise<void> full;
        std::thread producer([&] {
            int pushed = 0;
            while (queue.push(HandoffQueue<int>::Batch{pushed})) {
                if (++pushed == 4) {
                    full.set_value();  // the next push blocks
                }
            }
            EXPECT_EQ(pushed, 4);
        });
        full.get_future().wait();
        std::this_thread::sleep_for(1ms);
        HandoffQueue<int>::Batch batch;
        ASSERT_TRUE(queue.pop(&batch));
        EXPECT_EQ(batch, HandoffQueue<int>::Batch{0});
        queue.abandon();
        producer.join();
    });
}

}  // namespace
}  // namespace memray::reader
