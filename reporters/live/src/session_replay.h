// Replay pacing (LiveSessionOptions::replay): a finished capture shown at the pace it was
// recorded, times a speed. The memory samples carry the capture's clock (ms since its start):
// the records up to a sample are shown once the wall clock since the replay began has caught
// up with the sample's time divided by the speed.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>

namespace memray::live {

class ReplayClock
{
  public:
    using Clock = std::chrono::steady_clock;

    // A speed that is not a positive number replays at the recorded pace.
    explicit ReplayClock(double speed)
    : speed_(std::isfinite(speed) && speed > 0 ? speed : 1.0)
    {
    }

    void start(Clock::time_point now) { start_ = now; }

    // When the records up to a sample taken `capture_ms` into the capture may be shown.
    Clock::time_point due(uint64_t capture_ms) const
    {
        // Capped at a year: a hostile sample time must not overflow the clock.
        const double ms = std::min(static_cast<double>(capture_ms) / speed_, 365.0 * 24 * 3600 * 1000);
        return start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(ms));
    }

  private:
    double speed_;
    Clock::time_point start_;
};

}  // namespace memray::live
