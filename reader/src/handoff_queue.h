// Hands batches from one producer thread to one consumer thread, at most `capacity` batches
// in flight, recycling the batch buffers so a long run allocates nothing after warming up.
//
// Batches are large (thousands of events), so one mutex round trip per batch costs nothing
// next to the work on it.
#pragma once

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
    : capacity_(capacity)
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
        has_room_.wait(lock, [&] { return full_.size() < capacity_ || abandoned_; });
        if (abandoned_) {
            return false;
        }
        full_.push_back(std::move(batch));
        has_batch_.notify_one();
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
        has_batch_.wait(lock, [&] { return !full_.empty() || closed_; });
        if (full_.empty()) {
            return false;
        }
        *batch = std::move(full_.front());
        full_.pop_front();
        has_room_.notify_one();
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
    std::mutex mutex_;
    std::condition_variable has_batch_;
    std::condition_variable has_room_;
    std::deque<Batch> full_;
    std::vector<Batch> spare_;
    bool closed_ = false;
    bool abandoned_ = false;
};

}  // namespace memray::reader
