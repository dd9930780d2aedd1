#include "live_streams.h"

#include "process_state.h"

#include "memray/reader/capture_streams.h"

#include <chrono>
#include <condition_variable>
#include <mutex>

#include <unistd.h>

namespace memray::cli {

namespace {

constexpr auto kCreationPoll = std::chrono::milliseconds(20);

// Whether process `pid` exists and has not ended (a zombie has ended).
bool processRunning(pid_t pid)
{
    const char state = processState(pid);
    return state != '?' && state != 'Z' && state != 'X';
}

class PendingCaptureStream : public format::ByteStream
{
  public:
    PendingCaptureStream(std::string path, pid_t writer, std::string name)
    : path_(std::move(path))
    , writer_(writer)
    , name_(std::move(name))
    {
    }

    size_t read(void* buffer, size_t size) override
    {
        format::ByteStream* stream = followed();
        return stream ? stream->read(buffer, size) : 0;
    }

    void cancel() override
    {
        std::lock_guard lock(mutex_);
        cancelled_ = true;
        if (followed_) {
            followed_->cancel();
        }
        wake_.notify_all();
    }

    std::string name() const override { return name_; }

    uint64_t backlog() const override
    {
        std::lock_guard lock(mutex_);
        return followed_ ? followed_->backlog() : 0;
    }

    std::string waitingFor() const override
    {
        std::lock_guard lock(mutex_);
        return followed_ ? followed_->waitingFor() : "the program to start its capture";
    }

  private:
    // The followed file once it exists; nullptr if cancelled or the writer died first.
    format::ByteStream* followed()
    {
        std::unique_lock lock(mutex_);
        while (!followed_ && !cancelled_) {
            if (access(path_.c_str(), F_OK) == 0) {
                lock.unlock();
                auto stream = reader::openFollowedFile(path_, writer_);
                lock.lock();
                followed_ = std::move(stream);
                if (cancelled_) {
                    followed_->cancel();
                }
                break;
            }
            if (!processRunning(writer_)) {
                return nullptr;
            }
            wake_.wait_for(lock, kCreationPoll);
        }
        return followed_.get();
    }

    const std::string path_;
    const pid_t writer_;
    const std::string name_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool cancelled_ = false;
    std::unique_ptr<format::ByteStream> followed_;
};

}  // namespace

std::unique_ptr<format::ByteStream> followCaptureOnceCreated(const std::string& path, pid_t writer,
                                                             const std::string& name)
{
    return std::make_unique<PendingCaptureStream>(path, writer, name);
}

}  // namespace memray::cli
