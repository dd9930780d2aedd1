#include "memray/reader/read_progress.h"

#include <atomic>

namespace memray::reader {

namespace {
// Atomic only so that readers opened on several threads (the Python package's) read it cleanly.
std::atomic<ReadProgressListener*> g_listener{nullptr};
}  // namespace

void setReadProgressListener(ReadProgressListener* listener)
{
    g_listener.store(listener, std::memory_order_release);
}

ReadProgressListener* readProgressListener()
{
    return g_listener.load(std::memory_order_acquire);
}

}  // namespace memray::reader
