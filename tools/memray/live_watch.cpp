#include "live_watch.h"

#include "cli_common.h"

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace memray::cli {

namespace fs = std::filesystem;

std::optional<int> refuseWithoutTerminal(std::string_view command)
{
    std::string why;
    if (live::canRunLiveView(&why)) {
        return std::nullopt;
    }
    return usageError(command, "the live view needs a terminal: " + why);
}

WatchResult watchLive(std::unique_ptr<format::ByteStream> stream, const WatchOptions& options)
{
    live::LiveSession session(std::move(stream), options.session);
    live::LiveViewOptions view;
    view.title = options.title;
    view.poll_note = options.poll_note;
    WatchResult result;
    result.exit = live::runLiveView(session, view);
    result.last = session.frame();
    return result;
}

std::optional<uint16_t> parseLivePort(const std::string& text)
{
    unsigned long port = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (error != std::errc() || end != text.data() + text.size() || port < 1 || port > 65535) {
        return std::nullopt;
    }
    return static_cast<uint16_t>(port);
}

std::string memrayCommandName()
{
    std::error_code error;
    const fs::path self = fs::read_symlink("/proc/self/exe", error);
    if (error) {
        return "memray";
    }
    const char* path = std::getenv("PATH");
    std::string_view directories = path ? path : "";
    while (!directories.empty()) {
        const size_t colon = directories.find(':');
        const fs::path candidate = fs::path(std::string(directories.substr(0, colon))) / "memray";
        if (fs::exists(candidate, error) && fs::equivalent(candidate, self, error)) {
            return "memray";
        }
        if (colon == std::string_view::npos) {
            break;
        }
        directories.remove_prefix(colon + 1);
    }
    return self.string();
}

}  // namespace memray::cli
