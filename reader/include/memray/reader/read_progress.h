// How far the readers of capture files have got, for a program that wants to show it.
//
// Analyses create their CaptureReaders deep inside (a temporal report reads the file twice, a
// peak report sometimes does), so rather than threading a callback through every analysis, a
// program installs one listener for the whole process and every CaptureReader opened on a file
// reports to it: after each chunk, the bytes read so far of the file's size, and once when it
// stops reading (at the end of the file, on corruption, or when it is destroyed early). Readers
// of a stream (the live view's followed file or socket) have no size and never report.
//
// A reader calls its listener on the thread that reads it, which may be an analysis' decoding
// thread: a listener must be thread-safe. It is called once per chunk (up to megabytes of
// records), so its cost does not show next to the decoding.
#pragma once

#include <cstdint>
#include <string>

namespace memray::reader {

class ReadProgressListener
{
  public:
    virtual ~ReadProgressListener() = default;
    // The reader `reader` (an identity, for telling passes apart) of `path` has read
    // `bytes_read` of the file's `file_size` bytes.
    virtual void advanced(const void* reader, const std::string& path, uint64_t bytes_read, uint64_t file_size) = 0;
    // That reader will not read any more.
    virtual void finished(const void* reader) = 0;
};

// Readers opened from now on report to `listener` (nullptr: to no one). Not thread-safe
// against readers being opened at the same time: set it before reading starts.
void setReadProgressListener(ReadProgressListener* listener);
ReadProgressListener* readProgressListener();

}  // namespace memray::reader
