#include "memray/reporters/terminal.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace memray::reporters {
namespace {

size_t positiveEnvironmentNumber(const char* name, size_t fallback)
{
    const char* text = std::getenv(name);
    if (!text) {
        return fallback;
    }
    size_t value = 0;
    const char* end = text + std::strlen(text);
    auto [stop, error] = std::from_chars(text, end, value);
    return error == std::errc() && stop == end && value > 0 ? value : fallback;
}

}  // namespace

bool colourWanted(int fd)
{
    const char* no_color = std::getenv("NO_COLOR");
    if (no_color && *no_color) {
        return false;
    }
    const char* term = std::getenv("TERM");
    if (term && std::string_view(term) == "dumb") {
        return false;
    }
    return ::isatty(fd) == 1;
}

TerminalSize terminalSize(int fd)
{
    TerminalSize size;
    struct winsize window = {};
    if (::ioctl(fd, TIOCGWINSZ, &window) == 0 && window.ws_col > 0 && window.ws_row > 0) {
        size.columns = window.ws_col;
        size.lines = window.ws_row;
        return size;
    }
    size.columns = positiveEnvironmentNumber("COLUMNS", size.columns);
    size.lines = positiveEnvironmentNumber("LINES", size.lines);
    return size;
}

}  // namespace memray::reporters
