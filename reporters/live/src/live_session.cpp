// LiveSession's public side: construction and teardown, and what the view asks of it.
#include "memray/live/live_session.h"

#include "session_state.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace memray::live {

namespace {

std::chrono::milliseconds clampRefresh(std::chrono::milliseconds refresh)
{
    return std::max(refresh, kMinRefresh);
}

}  // namespace

SessionState::SessionState(std::unique_ptr<format::ByteStream> stream, LiveSessionOptions session_options)
: options(session_options)
, feed(std::move(stream))
, notify_fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC))
, refresh(clampRefresh(session_options.refresh))
{
    if (notify_fd < 0) {
        throw std::runtime_error(std::string("cannot create an eventfd: ") + std::strerror(errno));
    }
    // The first frame is there before the reading starts: nothing received yet.
    auto first = std::make_shared<LiveFrame>();
    first->sequence = 1;
    first->status = feed.source().waitingFor();
    frame = std::move(first);
}

SessionState::~SessionState()
{
    ::close(notify_fd);
}

void SessionState::publish(std::shared_ptr<const LiveFrame> next)
{
    {
        std::lock_guard<std::mutex> lock(frame_mutex);
        frame = std::move(next);
    }
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t ignored = ::write(notify_fd, &one, sizeof(one));
}

std::optional<uint64_t> SessionState::selectedThread() const
{
    std::lock_guard<std::mutex> lock(requests_mutex);
    return thread;
}

std::chrono::milliseconds SessionState::refreshInterval() const
{
    std::lock_guard<std::mutex> lock(requests_mutex);
    return refresh;
}

LiveSession::LiveSession(std::unique_ptr<format::ByteStream> stream, LiveSessionOptions options)
{
    if (!stream) {
        throw std::invalid_argument("LiveSession needs a stream");
    }
    state_ = std::make_unique<SessionState>(std::move(stream), options);
    SessionState* state = state_.get();
    state_->reader = std::thread([state] { state->run(); });
}

LiveSession::~LiveSession()
{
    state_->stopping = true;
    state_->feed.stop();
    state_->reader.join();
}

std::shared_ptr<const LiveFrame> LiveSession::frame() const
{
    std::lock_guard<std::mutex> lock(state_->frame_mutex);
    return state_->frame;
}

int LiveSession::notifyFd() const
{
    return state_->notify_fd;
}

void LiveSession::acknowledge()
{
    uint64_t count;
    [[maybe_unused]] ssize_t ignored = ::read(state_->notify_fd, &count, sizeof(count));
}

void LiveSession::selectThread(std::optional<uint64_t> tid)
{
    {
        std::lock_guard<std::mutex> lock(state_->requests_mutex);
        state_->thread = tid;
    }
    refreshNow();
}

void LiveSession::setRefresh(std::chrono::milliseconds refresh)
{
    {
        std::lock_guard<std::mutex> lock(state_->requests_mutex);
        state_->refresh = clampRefresh(refresh);
    }
    state_->feed.wake();  // a wait for the old interval's next frame starts over
}

std::chrono::milliseconds LiveSession::refresh() const
{
    return state_->refreshInterval();
}

void LiveSession::refreshNow()
{
    state_->frame_wanted = true;
    state_->feed.wake();
}

}  // namespace memray::live
