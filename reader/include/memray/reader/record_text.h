// The one-line text form of each record, as `memray parse` prints it (a debugging aid):
//
//   HEADER format_version=3 pid=4242 python_version="3.11.7" command_line="app.py" ...
//   THREAD_START tid=1 os_tid=4242
//   THREAD_NAME tid=1 name="MainThread"
//   THREAD_SWITCH tid=1
//   CODE id=1 name="main" file="app.py" first_line=1
//   FRAME id=1 code=1 line=3
//   STACK id=1 parent=0 frame=1
//   ALLOCATION tid=1 address=0x55550000 size=1024 allocator=malloc stack=1
//   DEALLOCATION tid=1 address=0x55550000 deallocator=free
//   DEALLOCATION tid=1 address=0x7f0000000000 deallocator=munmap size=4096
//   MEMORY time_ms=10 rss=20971520
//   THREAD_EXIT tid=2
//   TRAILER time_us=1000500 allocations=3
//   AGGREGATE_BEGIN events=9 peak_events=7 peak_bytes=4096 current_bytes=1024 allocations=5 allocated_bytes=6000
//   AGGREGATE_LOCATION tid=1 stack=3 allocator=malloc last_change=7 live_bytes=1024 live_count=1 peak_bytes=0 peak_count=0
//   AGGREGATE_END
//   END state=complete records=12
//
// Allocations and aggregate locations add native_stack=N in captures with native traces. In
// aggregated captures memory records add heap=N, and the header aggregated=1
// aggregate_with_records=0|1. Strings are always quoted, with \" \\ and \xNN escapes (\u00NN for the C1
// controls; see terminal_text.h), so every line splits unambiguously on spaces outside quotes.
// Lines are built with std::to_chars into a local buffer: parse must print millions a second.
#pragma once

#include "memray/format/container.h"
#include "memray/reader/capture_reader.h"

#include <string>

namespace memray::reader {

void appendHeaderLine(std::string& out, const format::Metadata& metadata);
// `native_traces` and `aggregated`: the capture's options, which change some records' shape.
void appendRecordLine(std::string& out, const Record& record, bool native_traces, bool aggregated = false);
// The closing line: how the stream ended and how many records it had.
void appendEndLine(std::string& out, EndState state, uint64_t records);

}  // namespace memray::reader
