#include "attach_config.h"

#include <charconv>
#include <string_view>

namespace memray::payload {

bool parseAttachOptions(const char* text, AttachOptions* options, std::string* error)
{
    if (text == nullptr) {
        *error = "no configuration given";
        return false;
    }
    std::string_view rest(text);
    while (!rest.empty()) {
        size_t newline = rest.find('\n');
        std::string_view line = rest.substr(0, newline);
        rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
        if (line.starts_with("control_socket=")) {
            options->control_socket = line.substr(15);
        } else if (line.starts_with("duration_s=")) {
            std::string_view value = line.substr(11);
            auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), options->duration_s);
            if (ec != std::errc() || end != value.data() + value.size()) {
                *error = "invalid value for duration_s: " + std::string(value);
                return false;
            }
        } else if (!line.empty()) {
            options->capture_config.append(line);
            options->capture_config += '\n';
        }
    }
    if (options->control_socket.empty() || options->control_socket.front() != '/') {
        *error = "no absolute control_socket path given";
        return false;
    }
    return true;
}

}  // namespace memray::payload
