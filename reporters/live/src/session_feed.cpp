#include "session_feed.h"

#include <pthread.h>

#include <algorithm>
#include <cstring>
#include <exception>

namespace memray::live {

namespace {

constexpr size_t kPumpBlock = 64 << 10;
// The pump stops reading while this much is queued: a session that falls behind leaves the
// backlog in the file or the socket (where backlog() still sees it), not in memory.
constexpr uint64_t kMaxQueued = 16 << 20;

}  // namespace

Feed::Feed(std::unique_ptr<format::ByteStream> source)
: source_(std::move(source))
, pump_([this] { pump(); })
{
}

Feed::~Feed()
{
    stop();
    pump_.join();
}

void Feed::pump()
{
    pthread_setname_np(pthread_self(), "memray-live-recv");
    std::vector<uint8_t> buffer(kPumpBlock);
    for (;;) {
        size_t got = 0;
        std::string error;
        try {
            got = source_->read(buffer.data(), buffer.size());
        } catch (const std::exception& failure) {
            error = failure.what();
        }
        std::unique_lock<std::mutex> lock(mutex_);
        if (got == 0 || stopped_) {
            ended_ = true;
            error_ = error;
            readable_.notify_all();
            return;
        }
        // A copy of just what came: a socket hands out a few hundred bytes at a time, and
        // queueing whole read buffers would hold far more memory than kMaxQueued counts.
        queued_ += got;
        queue_.emplace_back(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(got));
        readable_.notify_all();
        writable_.wait(lock, [&] { return queued_ < kMaxQueued || stopped_; });
        if (stopped_) {
            ended_ = true;
            return;
        }
    }
}

std::optional<size_t> Feed::read(void* buffer, size_t size, Clock::time_point until)
{
    std::unique_lock<std::mutex> lock(mutex_);
    readable_.wait_until(lock, until, [&] { return !queue_.empty() || ended_ || stopped_ || woken_; });
    if (stopped_) {
        return 0;
    }
    if (queue_.empty()) {
        if (ended_) {
            return 0;
        }
        woken_ = false;
        return std::nullopt;
    }
    size_t copied = 0;
    while (copied < size && !queue_.empty()) {
        const std::vector<uint8_t>& front = queue_.front();
        const size_t take = std::min(size - copied, front.size() - head_offset_);
        std::memcpy(static_cast<uint8_t*>(buffer) + copied, front.data() + head_offset_, take);
        copied += take;
        head_offset_ += take;
        if (head_offset_ == front.size()) {
            queue_.pop_front();
            head_offset_ = 0;
        }
    }
    queued_ -= copied;
    writable_.notify_all();
    return copied;
}

void Feed::sleepUntil(Clock::time_point until)
{
    std::unique_lock<std::mutex> lock(mutex_);
    readable_.wait_until(lock, until, [&] { return stopped_ || woken_; });
    woken_ = false;
}

void Feed::wake()
{
    std::lock_guard<std::mutex> lock(mutex_);
    woken_ = true;
    readable_.notify_all();
}

void Feed::stop()
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopped_ = true;
        readable_.notify_all();
        writable_.notify_all();
    }
    source_->cancel();
}

uint64_t Feed::backlog() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return queued_ + source_->backlog();
}

std::string Feed::error() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return error_;
}

}  // namespace memray::live
