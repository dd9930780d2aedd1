// The text memray attach passes to memray_attach_begin(): the capture's configuration
// (capture_config.h) plus two lines that only concern the attach session itself.
//
//   control_socket=PATH   the Unix socket the session serves (chosen by the CLI, so that
//                         `memray detach PID` finds it again without asking the target)
//   duration_s=N          stop the capture by itself after N seconds (0 or absent: never)
#pragma once

#include <string>

namespace memray::payload {

struct AttachOptions
{
    std::string control_socket;
    unsigned duration_s = 0;
    std::string capture_config;  // every other line, for parseCaptureConfig()
};

// False with a reason if the session lines are missing or malformed.
bool parseAttachOptions(const char* text, AttachOptions* options, std::string* error);

}  // namespace memray::payload
