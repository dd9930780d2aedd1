// The exported C API (payload_api.h): a thin shell over Tracker.
#include "memray/payload/payload_api.h"

#include "capture_config.h"
#include "recursion_guard.h"
#include "tracker.h"

#include <mutex>
#include <string>

namespace {

std::mutex g_message_mutex;
std::string g_last_error;
std::string g_last_summary;

void setLastError(const std::string& message)
{
    std::lock_guard lock(g_message_mutex);
    g_last_error = message;
}

}  // namespace

#define MEMRAY_EXPORT extern "C" __attribute__((visibility("default")))

MEMRAY_EXPORT int memray_start(const char* config_text)
{
    using namespace memray::payload;
    RecursionGuard guard;
    CaptureConfig config;
    std::string error;
    if (!parseCaptureConfig(config_text, &config, &error) || !Tracker::start(config, &error)) {
        setLastError(error);
        return 1;
    }
    return 0;
}

MEMRAY_EXPORT int memray_stop(void)
{
    using namespace memray::payload;
    RecursionGuard guard;
    std::string error, summary;
    if (!Tracker::stop(&error, &summary)) {
        setLastError(error);
        return 1;
    }
    std::lock_guard lock(g_message_mutex);
    g_last_summary = summary;
    return 0;
}

MEMRAY_EXPORT int memray_is_active(void)
{
    return memray::payload::Tracker::isActive() ? 1 : 0;
}

MEMRAY_EXPORT const char* memray_last_error(void)
{
    std::lock_guard lock(g_message_mutex);
    return g_last_error.c_str();
}

MEMRAY_EXPORT const char* memray_last_summary(void)
{
    std::lock_guard lock(g_message_mutex);
    return g_last_summary.c_str();
}
