// The progress bar of a long read: while a ReadProgressBar lives, every capture file the
// command reads reports to it (memray/reader/read_progress.h), and once reading has gone on for
// a second it draws, on one line of stderr, how much of the file has been read:
//
//     Reading memray-app.py.1234.bin (pass 2)   45% [##########.............]  1.2/2.6 GB
//
// Quick reads show nothing (MEMRAY_PROGRESS_AFTER_MS=N changes the second to N ms), and neither
// does a stderr that is not a terminal (a pipe, a file, TERM=dumb), so logs and scripts never
// see it. The line is redrawn at most ten times a second, fitted to the terminal's width at
// each redraw (a resized terminal gets a line that fits), and erased when each pass over the
// file ends, before the command prints anything else.
#pragma once

#include "memray/reader/read_progress.h"

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace memray::cli {

class ReadProgressBar final : public reader::ReadProgressListener
{
  public:
    ReadProgressBar();  // starts listening if stderr is a terminal
    ~ReadProgressBar() override;
    ReadProgressBar(const ReadProgressBar&) = delete;
    ReadProgressBar& operator=(const ReadProgressBar&) = delete;

    void advanced(const void* reader, const std::string& path, uint64_t bytes_read, uint64_t file_size) override;
    void finished(const void* reader) override;

  private:
    using Clock = std::chrono::steady_clock;
    void eraseLocked();

    std::mutex mutex_;
    bool listening_ = false;
    Clock::time_point started_;    // when the command began reading: quick reads stay silent
    Clock::duration quiet_for_;    // how long they may take before the bar shows
    Clock::time_point last_draw_;
    const void* reader_ = nullptr;  // the pass being shown
    unsigned passes_ = 0;           // readers seen so far: the second read of a file is pass 2
    bool drawn_ = false;            // a bar is on the screen now
};

// The bar's line for a terminal `columns` wide, never wider than columns - 1 (a line that
// reaches the last column would wrap and leave its start behind on the next redraw).
std::string readProgressLine(const std::string& path, unsigned pass, uint64_t bytes_read, uint64_t file_size,
                             unsigned columns);

}  // namespace memray::cli
