#include "capture_config.h"

#include <charconv>
#include <string_view>

namespace memray::payload {

namespace {

bool parseFlag(std::string_view value, bool* out)
{
    if (value == "1" || value == "true") {
        *out = true;
    } else if (value == "0" || value == "false") {
        *out = false;
    } else {
        return false;
    }
    return true;
}

}  // namespace

bool parseCaptureConfig(const char* text, CaptureConfig* config, std::string* error)
{
    if (!text) {
        *error = "no configuration given";
        return false;
    }
    std::string_view rest(text);
    while (!rest.empty()) {
        size_t newline = rest.find('\n');
        std::string_view line = rest.substr(0, newline);
        rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
        if (line.empty()) {
            continue;
        }
        size_t equals = line.find('=');
        if (equals == std::string_view::npos) {
            *error = "malformed configuration line: " + std::string(line);
            return false;
        }
        std::string_view key = line.substr(0, equals);
        std::string_view value = line.substr(equals + 1);
        bool ok = true;
        if (key == "output") {
            config->output = value;
        } else if (key == "force") {
            ok = parseFlag(value, &config->force);
        } else if (key == "trace_python_allocators") {
            ok = parseFlag(value, &config->trace_python_allocators);
        } else if (key == "native") {
            ok = parseFlag(value, &config->native);
        } else if (key == "follow_fork") {
            ok = parseFlag(value, &config->follow_fork);
        } else if (key == "skip_caller_frames") {
            ok = parseFlag(value, &config->skip_caller_frames);
        } else if (key == "entry_frame") {
            auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), config->entry_frame);
            ok = ec == std::errc() && end == value.data() + value.size() && config->entry_frame >= 0
                 && config->entry_frame < 64;
        } else if (key == "attached") {
            ok = parseFlag(value, &config->attached);
        } else if (key == "stop_at_exit") {
            ok = parseFlag(value, &config->stop_at_exit);
        } else if (key == "aggregate") {
            ok = parseFlag(value, &config->aggregate);
        } else if (key == "aggregate_verify") {
            ok = parseFlag(value, &config->aggregate_verify);
        } else if (key == "rss_interval_ms") {
            auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), config->rss_interval_ms);
            ok = ec == std::errc() && end == value.data() + value.size() && config->rss_interval_ms > 0
                 && config->rss_interval_ms <= 60000;
        } else if (key == "fork_window_ms") {
            auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), config->fork_window_ms);
            ok = ec == std::errc() && end == value.data() + value.size() && config->fork_window_ms <= 60000;
        } else {
            *error = "unknown configuration key: " + std::string(key);
            return false;
        }
        if (!ok) {
            *error = "invalid value for " + std::string(key) + ": " + std::string(value);
            return false;
        }
    }
    if (config->output.empty()) {
        *error = "no output file given";
        return false;
    }
    return true;
}

}  // namespace memray::payload
