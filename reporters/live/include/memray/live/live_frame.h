// One screenful of the live view: what the session (live_session.h) computes from the capture
// stream at each refresh and the view (live_view.h) draws. Plain values, no references into the
// reader, so the view can keep a frame while the session goes on reading.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace memray::live {

// Where the stream is.
enum class StreamState {
    Waiting,        // nothing received yet (e.g. nobody listens on the port yet): `status` says what
    Following,      // records are flowing (or the writer is idle but still there)
    Ended,          // the capture ended cleanly (the program exited, or tracking stopped)
    EndedAbruptly,  // the stream stopped without the capture's end: killed program, lost connection
    Error,          // not a capture, corrupted, unreadable: `status` says what (one line)
};

struct LiveThread
{
    uint64_t tid = 0;     // the capture's thread id (1, 2, ...; never reused)
    uint64_t os_tid = 0;  // gettid() in the tracked process; 0 if unknown
    std::string name;     // "" if the thread was never named
};

// The live heap under one function (a name in a file; lines merged), for the selected threads.
struct LiveRow
{
    std::string function;
    // Both as the capture has them (the summary report's Location shows the same): raw bytes
    // that the view must escape (reader::terminalSafe) before printing. Allocations without a
    // stack are under reader::kUnknownFunction ("<unknown>") with file "".
    std::string file;          // the source file's path; "" if unknown (a native frame without debug info)
    uint64_t total_bytes = 0;  // live bytes allocated with this function anywhere on the stack
    uint64_t own_bytes = 0;    // live bytes it allocated itself (innermost frame)
    uint64_t total_count = 0;  // live allocations with it on the stack (recursion counted once)
    uint64_t own_count = 0;    // live allocations it made itself
    bool native = false;       // a C/C++ frame of a --native capture
};

struct LiveFrame
{
    uint64_t sequence = 0;  // 1 for the first frame, +1 for each new one
    StreamState state = StreamState::Waiting;
    std::string status;  // one line for Waiting, EndedAbruptly and Error; may be empty otherwise

    // About the tracked process (from the capture's metadata; 0/"" until known).
    uint64_t pid = 0;
    std::string command_line;
    std::string python_version;
    bool native_traces = false;  // --native capture
    bool aggregated = false;     // --aggregate capture: figures as of its latest checkpoint (about
                                 // every second), not of each allocation

    uint64_t snapshots = 0;       // frames computed with data so far (memray's "Samples")
    uint64_t capture_ms = 0;      // how long the capture has run, as of the newest memory sample
                                  // (every RSS interval) or the trailer
    uint64_t heap_bytes = 0;      // live tracked heap now, all threads
    uint64_t peak_heap_bytes = 0; // highest tracked heap so far
    uint64_t rss_bytes = 0;       // newest RSS sample (0 if none yet)
    // The tracked heap over time: the highest it reached in each RSS interval of the capture,
    // oldest first, at most kMaxHistoryPoints (the oldest dropped first).
    static constexpr size_t kMaxHistoryPoints = 4096;
    std::vector<uint64_t> heap_history;
    uint64_t history_interval_ms = 0;  // capture time between two history points (the RSS interval)

    std::vector<LiveThread> threads;        // every thread seen, by first appearance
    std::optional<uint64_t> thread;         // the one `rows` are about; nullopt: all merged
    uint64_t thread_heap_bytes = 0;         // live heap of the selected thread (= heap_bytes if merged)
    std::vector<LiveRow> rows;              // every function with live memory, in no order

    // How far behind the writer the session is: bytes received but not yet read (0 when it
    // keeps up). Shown by the view when it grows.
    uint64_t backlog_bytes = 0;
};

}  // namespace memray::live
