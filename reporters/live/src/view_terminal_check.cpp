// canRunLiveView (live_view.h): apart from the view's loop, so that it links without a session.
#include "memray/live/live_view.h"

#define NCURSES_WIDECHAR 1
#include <ncursesw/curses.h>
#include <ncursesw/term.h>

#include <cstdlib>
#include <string>
#include <unistd.h>

namespace memray::live {

bool canRunLiveView(std::string* why)
{
    const auto refuse = [why](std::string reason) {
        if (why) {
            *why = std::move(reason);
        }
        return false;
    };
    if (!isatty(STDIN_FILENO)) {
        return refuse("standard input is not a terminal");
    }
    if (!isatty(STDOUT_FILENO)) {
        return refuse("standard output is not a terminal");
    }
    const char* term = std::getenv("TERM");
    if (!term || !*term) {
        return refuse("TERM is not set");
    }
    // What newterm() will look up: the terminal's terminfo entry, which must be able to move
    // the cursor (a full-screen view on a "dumb" terminal or a printer cannot work).
    TERMINAL* const before = cur_term;
    int error = 0;
    if (setupterm(nullptr, STDOUT_FILENO, &error) != OK) {
        set_curterm(before);
        return refuse(error == -1 ? "the terminfo database cannot be found"
                                  : "the terminal TERM=" + std::string(term) + " is unknown to terminfo");
    }
    const char* move_capability = tigetstr(const_cast<char*>("cup"));
    const bool addressable = move_capability != nullptr && move_capability != reinterpret_cast<char*>(-1);
    del_curterm(set_curterm(before));
    if (!addressable) {
        return refuse("the terminal TERM=" + std::string(term) + " cannot move its cursor");
    }
    return true;
}

}  // namespace memray::live
