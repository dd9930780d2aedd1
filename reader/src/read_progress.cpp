#include "memray/reader/read_progress.h"

namespace memray::reader {

namespace {
ReadProgressListener* g_listener = nullptr;
}

void setReadProgressListener(ReadProgressListener* listener)
{
    g_listener = listener;
}

ReadProgressListener* readProgressListener()
{
    return g_listener;
}

}  // namespace memray::reader
