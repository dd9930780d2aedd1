// What every way into the live view shares: the terminal check, and running the view over a
// capture stream until the user quits.
#pragma once

#include "memray/format/byte_stream.h"
#include "memray/live/live_frame.h"
#include "memray/live/live_session.h"
#include "memray/live/live_view.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace memray::cli {

// A usage error ("memray COMMAND: error: standard output is not a terminal ...", exit 2) when
// the view cannot take over this terminal; nullopt when it can.
std::optional<int> refuseWithoutTerminal(std::string_view command);

struct WatchOptions
{
    std::string title;                     // the view's title line: how it was started
    std::function<std::string()> poll_note;  // see LiveViewOptions::poll_note
    live::LiveSessionOptions session;
};

struct WatchResult
{
    live::ViewExit exit = live::ViewExit::Quit;
    std::shared_ptr<const live::LiveFrame> last;  // the frame on screen when the view ended
};

WatchResult watchLive(std::unique_ptr<format::ByteStream> stream, const WatchOptions& options);

// A port as `memray live PORT` and `--live-port PORT` take it: 1 to 65535; nullopt otherwise
// (memray's message for that: "Invalid port: TEXT").
std::optional<uint16_t> parseLivePort(const std::string& text);

// "memray" if that is what PATH finds for this executable, else this executable's path: how
// to tell the user to run another memray command.
std::string memrayCommandName();

}  // namespace memray::cli
