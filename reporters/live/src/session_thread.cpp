// The reading thread of a LiveSession: reads the capture as it arrives, applies it to the
// model, and makes a frame at each refresh, at once when the view asks, as soon as the first
// allocations are in, and when the capture ends.
//
// The thread never blocks on the stream: it takes bytes from the feed with the next frame's
// time as deadline (FeedStream below), so frames keep coming while the writer is idle, and even
// while the header has not arrived (Waiting frames saying what the stream waits for).
#include "memray/reader/capture_reader.h"
#include "session_model.h"
#include "session_replay.h"
#include "session_state.h"

#include <pthread.h>

#include <exception>

namespace memray::live {

namespace {

using Clock = Feed::Clock;

constexpr const char* kEndedAbruptly = "the program was killed or the connection was lost";

class ReadingLoop;

// What the capture reader reads: the feed, serving frames while it waits.
class FeedStream final : public format::ByteStream
{
  public:
    explicit FeedStream(ReadingLoop& loop);
    size_t read(void* buffer, size_t size) override;
    void cancel() override;
    std::string name() const override;
    std::string waitingFor() const override;
    uint64_t backlog() const override;

  private:
    ReadingLoop& loop_;
};

class ReadingLoop
{
  public:
    explicit ReadingLoop(SessionState& state)
    : session_(state)
    , replay_(state.options.replay_speed)
    {
    }

    void run()
    {
        std::unique_ptr<reader::CaptureReader> capture;
        try {
            capture = std::make_unique<reader::CaptureReader>(std::make_unique<FeedStream>(*this));
        } catch (const std::exception& error) {
            finish(StreamState::Error, withCause(error.what()));
            return;
        }
        model_ = std::make_unique<SessionModel>(std::move(capture));
        stream_state_ = StreamState::Following;
        replay_.start(Clock::now());
        publish();
        if (!follow()) {
            return;  // the session is being destroyed
        }
        const reader::CaptureReader& capture_reader = model_->capture();
        switch (capture_reader.endState()) {
            case reader::EndState::Complete:
                finish(StreamState::Ended, {});
                break;
            case reader::EndState::Corrupt:
                finish(StreamState::Error, capture_reader.error());
                break;
            case reader::EndState::Reading:
            case reader::EndState::EndedAbruptly:
                finish(StreamState::EndedAbruptly, withCause(kEndedAbruptly));
                break;
        }
    }

    // While the reader waits for bytes: a frame if one is due. False once stopping.
    bool serveWhileWaiting()
    {
        if (session_.stopping) {
            return false;
        }
        if (frameDue()) {
            publish();
        }
        return true;
    }

    Clock::time_point nextFrameTime() const { return last_frame_ + session_.refreshInterval(); }
    SessionState& session() { return session_; }

  private:
    // Reads and applies the capture to its end; false if the session is being destroyed.
    bool follow()
    {
        for (;;) {
            const size_t count = model_->read();
            if (session_.stopping) {
                return false;
            }
            if (count == 0) {
                return true;
            }
            if (session_.options.replay) {
                if (const auto time = model_->pendingSampleTime(); time && !waitUntil(replay_.due(*time))) {
                    return false;
                }
            }
            model_->apply();
            // The screen fills as soon as there is something to show, then at each refresh.
            if ((!shown_data_ && model_->hasData()) || frameDue()) {
                shown_data_ = shown_data_ || model_->hasData();
                publish();
            }
        }
    }

    // `what` happened, and the stream's read error that made it, if one did.
    std::string withCause(std::string what) const
    {
        const std::string cause = session_.feed.error();
        return cause.empty() ? what : what + " (" + cause + ")";
    }

    // Sleeps until `until`, making frames as they fall due; false once stopping.
    bool waitUntil(Clock::time_point until)
    {
        while (!session_.stopping && Clock::now() < until) {
            session_.feed.sleepUntil(std::min(until, nextFrameTime()));
            if (frameDue()) {
                publish();
            }
        }
        return !session_.stopping;
    }

    // The last frame, then frames on request until the session ends (the view may still switch
    // threads on a capture that has ended).
    void finish(StreamState state, std::string status)
    {
        stream_state_ = state;
        status_ = std::move(status);
        if (session_.stopping) {
            return;
        }
        publish();
        while (!session_.stopping) {
            session_.feed.sleepUntil(Clock::now() + std::chrono::hours(1));
            if (session_.frame_wanted.exchange(false)) {
                publish();
            }
        }
    }

    bool frameDue() { return session_.frame_wanted.exchange(false) || Clock::now() >= nextFrameTime(); }

    void publish()
    {
        auto frame = std::make_shared<LiveFrame>();
        frame->sequence = ++sequence_;
        frame->state = stream_state_;
        frame->status = status_;
        if (model_) {
            model_->describe(*frame, session_.selectedThread());
            snapshots_ += model_->hasData() ? 1 : 0;
        } else if (stream_state_ == StreamState::Waiting) {
            frame->status = session_.feed.source().waitingFor();
            if (frame->status.empty()) {
                frame->status = "waiting for the capture to begin";
            }
        }
        frame->snapshots = snapshots_;
        frame->backlog_bytes = session_.feed.backlog();
        last_frame_ = Clock::now();
        session_.publish(std::move(frame));
    }

    SessionState& session_;
    ReplayClock replay_;
    std::unique_ptr<SessionModel> model_;
    StreamState stream_state_ = StreamState::Waiting;
    std::string status_;
    uint64_t sequence_ = 1;  // the constructor's first frame
    uint64_t snapshots_ = 0;
    bool shown_data_ = false;
    Clock::time_point last_frame_ = Clock::now();
};

FeedStream::FeedStream(ReadingLoop& loop)
: loop_(loop)
{
}

size_t FeedStream::read(void* buffer, size_t size)
{
    for (;;) {
        if (const auto got = loop_.session().feed.read(buffer, size, loop_.nextFrameTime())) {
            return *got;
        }
        if (!loop_.serveWhileWaiting()) {
            return 0;
        }
    }
}

void FeedStream::cancel()
{
    loop_.session().feed.stop();
}

std::string FeedStream::name() const
{
    return loop_.session().feed.source().name();
}

std::string FeedStream::waitingFor() const
{
    return loop_.session().feed.source().waitingFor();
}

uint64_t FeedStream::backlog() const
{
    return loop_.session().feed.backlog();
}

}  // namespace

void SessionState::run()
{
    pthread_setname_np(pthread_self(), "memray-live-read");
    ReadingLoop loop(*this);
    try {
        loop.run();
    } catch (const std::exception& error) {
        // Nothing may escape a thread; a failure here (out of memory on a hostile stream) ends
        // the session with its one line.
        std::shared_ptr<LiveFrame> frame;
        {
            std::lock_guard<std::mutex> lock(frame_mutex);
            frame = std::make_shared<LiveFrame>(*this->frame);
        }
        frame->sequence += 1;
        frame->state = StreamState::Error;
        frame->status = error.what();
        publish(std::move(frame));
    }
}

}  // namespace memray::live
