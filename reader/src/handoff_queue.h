// Hands batches from one producer thread to one consumer thread, at most `capacity` batches
// in flight, recycling the batch buffers so a long run allocates nothing after warming up.
//
// Batches are large (thousands of events), so one mutex round trip per batch costs nothing
// next to the work on it. Waking a sleeping thread does not: it is a system call for the waker
// and, on the other core, an interrupt and a scheduler round trip (dearer still in a virtual
// machine), about as long as a batch's work. The faster thread would sleep and be woken again
// on every batch, so a thread that has to wait sleeps until the queue is half full (consumer)
// or half empty (producer): one wake-up per half a queue of batches instead of one per batch.
// A waiting consumer loses nothing by this, since the producer keeps going meanwhile, and
// neither does a waiting producer.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <vector>

namespace memray::reader {

template <typename Item>
class HandoffQueue
{
  public:
    using Batch = std::vector<Item>;

    explicit HandoffQueue(size_t capacity)
    : capacity_(std::max<size_t>(capacity, 2))
    , half_(capacity_ / 2)
    {
    }

    // Producer: an empty buffer to fill (a recycled one when available).
    Batch takeEmpty()
    {
        std::lock_guard lock(mutex_);
        if (spare_.empty()) {
            return Batch();
        }
        Batch batch = std::move(spare_.back());
        spare_.pop_back();
        batch.clear();
        return batch;
    }

    // Producer: hands over a filled batch, waiting while `capacity` batches are in flight.
    // Returns false if the consumer has gone (the producer should stop).
    bool push(Batch batch)
    {
        std::unique_lock lock(mutex_);
        if (full_.size() >= capacity_) {
            producer_waiting_ = true;
            has_room_.wait(lock, [&] { return full_.size() <= half_ || abandoned_; });
            producer_waiting_ = false;
        }
        if (abandoned_) {
            return false;
        }
        full_.push_back(std::move(batch));
        if (consumer_waiting_ && full_.size() >= half_) {
            has_batch_.notify_one();
        }
        return true;
    }

    // Producer: no more batches.
    void close()
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
        has_batch_.notify_one();
    }

    // Consumer: the next batch, or false once the producer has closed and all were taken.
    bool pop(Batch* batch)
    {
        std::unique_lock lock(mutex_);
        if (full_.empty()) {
            consumer_waiting_ = true;
            has_batch_.wait(lock, [&] { return full_.size() >= half_ || closed_; });
            consumer_waiting_ = false;
            if (full_.empty()) {
                return false;
            }
        }
        *batch = std::move(full_.front());
        full_.pop_front();
        if (producer_waiting_ && full_.size() <= half_) {
            has_room_.notify_one();
        }
        return true;
    }

    // Consumer: gives a processed batch's buffer back for reuse.
    void recycle(Batch batch)
    {
        std::lock_guard lock(mutex_);
        spare_.push_back(std::move(batch));
    }

    // Consumer: stop the producer (it is failing or leaving early).
    void abandon()
    {
        std::lock_guard lock(mutex_);
        abandoned_ = true;
        has_room_.notify_one();
    }

  private:
    const size_t capacity_;
    const size_t half_;  // the level at which a waiting thread is woken
    std::mutex mutex_;
    std::condition_variable has_batch_;
    std::condition_variable has_room_;
    std::deque<Batch> full_;
    std::vector<Batch> spare_;
    bool producer_waiting_ = false;
    bool consumer_waiting_ = false;
    bool closed_ = false;
    bool abandoned_ = false;
};

}  // namespace memray::reader
