// The live view: a full-screen terminal UI (ncurses) drawing the frames of a LiveSession.
//
// Header (PID, command, thread, snapshots, duration, heap now / peak, RSS, heap-over-time graph,
// status line), then the table of the live heap by function, then a key line. Keys follow
// memray's: t/o/a sort by total/own/allocations, m merges or splits threads, </> and the arrow
// keys change thread, space pauses the table, arrows/PgUp/PgDn/Home/End scroll, q/Esc quit;
// beyond memray: / filters rows by a substring of function or file, ? lists the keys, +/- change
// the refresh interval. See docs/live.md.
#pragma once

#include "memray/live/live_session.h"

#include <functional>
#include <string>

namespace memray::live {

struct LiveViewOptions
{
    // Shown in the title line: how this view was started ("memray live app.bin").
    std::string title = "memray live";
    // Called about every 100 ms from the view's loop (in its thread); returns a short note for
    // the status line, e.g. "program exited with status 3", or "" for none. May be empty.
    std::function<std::string()> poll_note;
};

// Why runLiveView() returned.
enum class ViewExit {
    Quit,     // the user pressed q or Esc
    Hangup,   // the terminal went away (SIGHUP, or its input closed)
    Signal,   // SIGINT or SIGTERM arrived
};

// True when standard input and output are a terminal the view can use; else `why` says what is
// missing, in one line ("standard output is not a terminal").
bool canRunLiveView(std::string* why);

// Takes over the terminal, draws `session`'s frames until the user quits (or the terminal goes
// away, or SIGINT/SIGTERM), then restores the terminal exactly as it was.
ViewExit runLiveView(LiveSession& session, const LiveViewOptions& options);

}  // namespace memray::live
