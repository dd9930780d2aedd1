// runLiveView (live_view.h): the curses loop around LiveScreen (view_screen.h).
//
// One thread. poll() waits on the terminal's input, the session's notify fd and a self-pipe
// written by the signal handlers, for at most a tick (100 ms: the clock, the caller's note,
// and a window size change all show within it). A key redraws at once. Each draw erases the
// window and writes it whole, and curses sends the terminal only the cells that changed
// (wnoutrefresh + doupdate), so nothing flickers; Ctrl-L repaints every cell.
//
// SIGINT, SIGTERM and SIGHUP only write to the self-pipe; the loop returns, and the guard
// restores the terminal (endwin), the signal dispositions and LC_CTYPE, on every way out,
// exceptions included. SIGWINCH is handled the same way (the size read with TIOCGWINSZ and
// given to resizeterm), so the view does not depend on ncurses' own handler being installed.
#include "memray/live/live_view.h"
#include "memray/reporters/terminal.h"
#include "view_screen.h"

#define NCURSES_WIDECHAR 1
#include <ncursesw/curses.h>

#include <cerrno>
#include <clocale>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <iterator>
#include <langinfo.h>
#include <optional>
#include <poll.h>
#include <stdexcept>
#include <sys/ioctl.h>
#include <unistd.h>

namespace memray::live {
namespace {

using view::Grid;
using view::Key;
using view::KeyPress;
using view::LiveScreen;

constexpr int kTickMs = 100;
constexpr int kEscapeDelayMs = 25;
constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGWINCH};

int g_signal_pipe_write = -1;

extern "C" void onSignal(int signal)
{
    const int saved = errno;
    const unsigned char byte = static_cast<unsigned char>(signal);
    if (g_signal_pipe_write >= 0) {
        [[maybe_unused]] ssize_t ignored = write(g_signal_pipe_write, &byte, 1);
    }
    errno = saved;
}

enum Pair : short { kRedPair = 1, kYellowPair, kGreenPair, kCyanPair };

// Everything runLiveView changes in the process, put back by the destructor.
class TerminalGuard
{
  public:
    TerminalGuard()
    {
        // The character type only: curses needs it for UTF-8, and the numbers the session
        // formats on its own thread must not take the user's decimal comma.
        const char* locale = std::setlocale(LC_CTYPE, nullptr);
        saved_locale_ = locale ? locale : "C";
        std::setlocale(LC_CTYPE, "");
        const char* codeset = nl_langinfo(CODESET);
        utf8_ = codeset && std::strcmp(codeset, "UTF-8") == 0;

        if (pipe2(pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
            throw std::runtime_error(std::string("cannot create a pipe: ") + std::strerror(errno));
        }
        g_signal_pipe_write = pipe_[1];
        struct sigaction action = {};
        action.sa_handler = onSignal;
        sigemptyset(&action.sa_mask);
        for (size_t i = 0; i < std::size(kSignals); ++i) {
            sigaction(kSignals[i], &action, &saved_actions_[i]);
        }
        sigaction(SIGTSTP, nullptr, &saved_tstp_);  // ncurses may install its own: put it back

        screen_ = newterm(nullptr, stdout, stdin);
        if (!screen_) {
            restore();
            throw std::runtime_error("cannot start curses on this terminal");
        }
        set_term(screen_);
        cbreak();
        noecho();
        nonl();
        keypad(stdscr, TRUE);
        nodelay(stdscr, TRUE);
        intrflush(stdscr, FALSE);
        set_escdelay(kEscapeDelayMs);
        curs_set(0);
        if (reporters::colourWanted(STDOUT_FILENO) && has_colors() && start_color() == OK) {
            const short background = use_default_colors() == OK ? -1 : COLOR_BLACK;
            init_pair(kRedPair, COLOR_RED, background);
            init_pair(kYellowPair, COLOR_YELLOW, background);
            init_pair(kGreenPair, COLOR_GREEN, background);
            init_pair(kCyanPair, COLOR_CYAN, background);
            colours_ = true;
        }
    }

    ~TerminalGuard() { restore(); }
    TerminalGuard(const TerminalGuard&) = delete;
    TerminalGuard& operator=(const TerminalGuard&) = delete;

    bool utf8() const { return utf8_; }
    bool colours() const { return colours_; }
    int signalFd() const { return pipe_[0]; }

  private:
    void restore()
    {
        if (screen_) {
            curs_set(1);
            endwin();
            delscreen(screen_);
            screen_ = nullptr;
        }
        for (size_t i = 0; i < std::size(kSignals); ++i) {
            sigaction(kSignals[i], &saved_actions_[i], nullptr);
        }
        sigaction(SIGTSTP, &saved_tstp_, nullptr);
        g_signal_pipe_write = -1;
        for (int& fd : pipe_) {
            if (fd >= 0) {
                close(fd);
                fd = -1;
            }
        }
        std::setlocale(LC_CTYPE, saved_locale_.c_str());
    }

    std::string saved_locale_;
    bool utf8_ = false;
    bool colours_ = false;
    int pipe_[2] = {-1, -1};
    struct sigaction saved_actions_[std::size(kSignals)] = {};
    struct sigaction saved_tstp_ = {};
    SCREEN* screen_ = nullptr;
};

attr_t cursesAttr(uint16_t attr, bool colours)
{
    attr_t out = A_NORMAL;
    if (attr & view::kBold) {
        out |= A_BOLD;
    }
    if (attr & view::kUnderline) {
        out |= A_UNDERLINE;
    }
    if (attr & view::kReverse) {
        out |= A_REVERSE;
    }
    if (attr & view::kDim) {
        out |= A_DIM;
    }
    if (colours) {
        if (attr & view::kRed) {
            out |= COLOR_PAIR(kRedPair);
        } else if (attr & view::kYellow) {
            out |= COLOR_PAIR(kYellowPair);
        } else if (attr & view::kGreen) {
            out |= COLOR_PAIR(kGreenPair);
        } else if (attr & view::kCyan) {
            out |= COLOR_PAIR(kCyanPair);
        }
    }
    return out;
}

// Copies the grid to curses: runs of cells with the same attributes in one call, each wide
// character placed at its own cell (so a terminal that disagrees on its width cannot shift
// the rest of the line).
void draw(const Grid& grid, bool full, bool colours)
{
    if (full) {
        clearok(curscr, TRUE);
    }
    werase(stdscr);
    for (int y = 0; y < grid.lines(); ++y) {
        std::string run;
        int run_x = 0;
        uint16_t run_attr = 0;
        const auto flush = [&] {
            if (!run.empty()) {
                wattrset(stdscr, cursesAttr(run_attr, colours));
                mvwaddstr(stdscr, y, run_x, run.c_str());
                run.clear();
            }
        };
        for (int x = 0; x < grid.columns(); ++x) {
            const view::Cell& cell = grid.at(y, x);
            if (cell.glyph.empty()) {
                continue;  // the right half of a wide character
            }
            if (cell.wide || cell.attr != run_attr || run.empty()) {
                flush();
                run_x = x;
                run_attr = cell.attr;
            }
            run += cell.glyph;
            if (cell.wide) {
                flush();
            }
        }
        flush();
    }
    wattrset(stdscr, A_NORMAL);
    if (grid.cursor) {
        curs_set(1);
        wmove(stdscr, grid.cursor->line, grid.cursor->column);
    } else {
        curs_set(0);
    }
    wnoutrefresh(stdscr);
    doupdate();
}

std::string clockText()
{
    const std::time_t now = std::time(nullptr);
    std::tm local = {};
    localtime_r(&now, &local);
    char text[64];
    return std::strftime(text, sizeof(text), "%a %b %e %H:%M:%S %Y", &local) ? text : "";
}

std::optional<KeyPress> keyOf(int kind, wint_t code)
{
    if (kind == OK) {
        return KeyPress::character(static_cast<char32_t>(code));
    }
    switch (code) {
        case KEY_UP:
            return KeyPress::special(Key::Up);
        case KEY_DOWN:
            return KeyPress::special(Key::Down);
        case KEY_LEFT:
            return KeyPress::special(Key::Left);
        case KEY_RIGHT:
            return KeyPress::special(Key::Right);
        case KEY_PPAGE:
            return KeyPress::special(Key::PageUp);
        case KEY_NPAGE:
            return KeyPress::special(Key::PageDown);
        case KEY_HOME:
        case KEY_A1:
            return KeyPress::special(Key::Home);
        case KEY_END:
        case KEY_C1:
            return KeyPress::special(Key::End);
        case KEY_ENTER:
            return KeyPress::special(Key::Enter);
        case KEY_BACKSPACE:
            return KeyPress::special(Key::Backspace);
        default:
            return std::nullopt;
    }
}

// The window's size now, from the terminal itself (curses' idea of it lags a resize).
bool terminalSize(int& columns, int& lines)
{
    struct winsize size = {};
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) != 0 || size.ws_col == 0 || size.ws_row == 0) {
        return false;
    }
    columns = size.ws_col;
    lines = size.ws_row;
    return true;
}

ViewExit runLoop(LiveSession& session, const LiveViewOptions& options, const TerminalGuard& terminal)
{
    view::ViewState initial;
    initial.refresh = session.refresh();
    initial.utf8 = terminal.utf8();
    getmaxyx(stdscr, initial.lines, initial.columns);
    LiveScreen screen(initial);
    screen.setFrame(session.frame());

    std::string clock = clockText();
    std::string note = options.poll_note ? options.poll_note() : std::string();
    bool dirty = true;
    bool full = false;
    int silent_reads = 0;  // polls that found the input readable but with nothing in it
    for (;;) {
        if (dirty) {
            draw(screen.render(options.title, clock, note), full, terminal.colours());
            dirty = full = false;
        }
        pollfd fds[] = {{STDIN_FILENO, POLLIN, 0}, {session.notifyFd(), POLLIN, 0}, {terminal.signalFd(), POLLIN, 0}};
        if (poll(fds, std::size(fds), kTickMs) < 0 && errno != EINTR) {
            return ViewExit::Hangup;  // (EBADF, ENOMEM: nothing left to watch)
        }

        if (fds[2].revents & POLLIN) {
            unsigned char signals[32];
            const ssize_t count = read(terminal.signalFd(), signals, sizeof(signals));
            for (ssize_t i = 0; i < count; ++i) {
                switch (signals[i]) {
                    case SIGINT:
                    case SIGTERM:
                        return ViewExit::Signal;
                    case SIGHUP:
                        return ViewExit::Hangup;
                    case SIGWINCH: {
                        int columns = 0;
                        int lines = 0;
                        if (terminalSize(columns, lines)) {
                            resizeterm(lines, columns);
                            screen.resize(columns, lines);
                            dirty = true;
                        }
                        break;
                    }
                    default:
                        break;
                }
            }
        }
        if (fds[1].revents & POLLIN) {
            session.acknowledge();
            screen.setFrame(session.frame());
            dirty = true;
        }
        if (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL)) {
            return ViewExit::Hangup;
        }

        // Keys: every one typed since the last poll (each may change the screen).
        int keys = 0;
        wint_t code = 0;
        for (int kind; (kind = wget_wch(stdscr, &code)) != ERR;) {
            ++keys;
            if (kind == KEY_CODE_YES && code == KEY_RESIZE) {
                int lines = 0;
                int columns = 0;
                getmaxyx(stdscr, lines, columns);
                screen.resize(columns, lines);
                dirty = true;
                continue;
            }
            const std::optional<KeyPress> key = keyOf(kind, code);
            if (!key) {
                continue;
            }
            const view::ViewRequests requests = screen.press(*key);
            if (requests.quit) {
                return ViewExit::Quit;
            }
            if (requests.select_thread) {
                session.selectThread(*requests.select_thread);
            }
            if (requests.refresh) {
                session.setRefresh(*requests.refresh);
            }
            if (requests.refresh_now) {
                session.refreshNow();
            }
            dirty = dirty || requests.redraw || requests.full_redraw;
            full = full || requests.full_redraw;
        }
        // A terminal in non-canonical mode that polls readable with no byte to read has hung
        // up (its reads return 0): a few in a row, and the view is over.
        if ((fds[0].revents & POLLIN) && keys == 0) {
            int pending = 0;
            if (ioctl(STDIN_FILENO, FIONREAD, &pending) != 0 || pending == 0) {
                if (++silent_reads >= 3) {
                    return ViewExit::Hangup;
                }
            }
        } else {
            silent_reads = 0;
        }

        std::string now = clockText();
        if (now != clock) {
            clock = std::move(now);
            dirty = true;
        }
        if (options.poll_note) {
            std::string next = options.poll_note();
            if (next != note) {
                note = std::move(next);
                dirty = true;
            }
        }
    }
}

}  // namespace

ViewExit runLiveView(LiveSession& session, const LiveViewOptions& options)
{
    std::string why;
    if (!canRunLiveView(&why)) {
        throw std::runtime_error(why);
    }
    TerminalGuard terminal;
    return runLoop(session, options, terminal);
}

}  // namespace memray::live
