// The live view without the terminal: what the screen shows, and what each key does.
//
// LiveScreen keeps the view's state (sort column, thread selection, pause, scroll, filter,
// help, refresh interval, terminal size), takes the session's frames as they come, turns a key
// into a new state plus requests for the session (ViewRequests), and draws the whole screen
// into a Grid. It knows nothing of curses or of time: the terminal loop (view_terminal.cpp)
// feeds it keys, frames, the window size and the clock's text, and copies the grid to curses.
// The tests drive it the same way and read the grid as text.
//
// Cost: the table's rows are sorted and filtered only when a new frame is shown, or the sort
// or the filter changes; drawing touches the visible rows only.
#pragma once

#include "memray/live/live_frame.h"
#include "view_grid.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace memray::live::view {

enum class SortColumn { Total, Own, Allocations };

// A key press, as the terminal loop reads it.
enum class Key {
    Character,  // `ch` says which (Enter, Esc, Backspace and Ctrl-L may come as characters too)
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    Enter,
    Escape,
    Backspace,
};

struct KeyPress
{
    Key key = Key::Character;
    char32_t ch = 0;

    static KeyPress character(char32_t c) { return KeyPress{Key::Character, c}; }
    static KeyPress special(Key k) { return KeyPress{k, 0}; }
};

// What a key asks of the session and the terminal.
struct ViewRequests
{
    bool quit = false;
    bool redraw = false;       // the screen changed: draw it
    bool full_redraw = false;  // Ctrl-L: repaint every cell, not just what changed
    // Select these threads (nullopt: all merged): LiveSession::selectThread.
    std::optional<std::optional<uint64_t>> select_thread;
    std::optional<std::chrono::milliseconds> refresh;  // LiveSession::setRefresh
    bool refresh_now = false;                          // LiveSession::refreshNow
};

struct ViewState
{
    SortColumn sort = SortColumn::Total;
    bool split = false;              // one thread at a time (false: all threads merged)
    uint64_t thread = 0;             // the thread shown while split (capture thread id)
    bool paused = false;             // the table keeps `frozen`; the header goes on
    size_t scroll = 0;               // the first row shown
    std::string filter;              // rows whose function or file contains it (any case)
    bool editing_filter = false;     // the filter prompt has the keys
    bool help = false;               // the key list replaces the table
    std::chrono::milliseconds refresh{1000};
    int columns = 80;
    int lines = 24;
    bool utf8 = true;
};

// Refresh intervals for + and -: 100 ms steps below a second, 500 ms steps from there, between
// kMinRefresh and 10 s.
std::chrono::milliseconds longerRefresh(std::chrono::milliseconds refresh);
std::chrono::milliseconds shorterRefresh(std::chrono::milliseconds refresh);
// "100 ms", "1 s", "1.5 s".
std::string formatRefresh(std::chrono::milliseconds refresh);

class LiveScreen
{
  public:
    explicit LiveScreen(ViewState initial = {});

    const ViewState& state() const { return state_; }

    // A new frame from the session. The header always shows the newest; the table too, unless
    // paused (then it keeps the frame it had, except to follow a thread selection made since).
    void setFrame(std::shared_ptr<const LiveFrame> frame);
    void resize(int columns, int lines);
    ViewRequests press(const KeyPress& key);

    // The whole screen. `clock` is the text at the title line's right end; `note` a line for
    // the status (LiveViewOptions::poll_note), "" for none.
    Grid render(std::string_view title, std::string_view clock, std::string_view note) const;

    // Rows of the table the current size shows (what PgUp and PgDn move by).
    int pageRows() const;

  private:
    struct Table;  // the rows in order, for one frame, sort and filter

    const LiveFrame& latest() const { return *latest_; }
    const LiveFrame& shown() const { return state_.paused && frozen_ ? *frozen_ : *latest_; }
    const Table& table() const;
    void scrollBy(long long rows);
    void moveThread(int step, ViewRequests& requests);

    ViewState state_;
    std::shared_ptr<const LiveFrame> latest_;
    std::shared_ptr<const LiveFrame> frozen_;  // the table's frame while paused
    uint64_t graph_max_ = 0;                   // the graph's scale: the highest heap seen
    int location_width_ = 0;                   // widest location and file seen (never shrink,
    int file_width_ = 0;                       // so the columns stay put)
    mutable std::shared_ptr<const Table> table_;
};

}  // namespace memray::live::view
