// The csv format: one row per location, as memray writes it.
//
//   allocator,num_allocations,size,tid,thread_name,stack_trace
//   MALLOC,1,5242881,1,0x1 (MainThread),keep;/app/job.py;4|main;/app/job.py;16|<module>;/app/job.py;20
//
// A location is (stack, native stack, allocator): threads are merged into one row, which names
// the thread that allocated the most of it (its capture thread id, and "0x<id> (<name>)" or
// "0x<id>"); with a snapshot whose threads are already merged, tid is -1 and thread_name
// "merged thread". stack_trace is "function;file;line" per frame, innermost first, joined by
// "|" (empty for an allocation without a stack). Quoting is that of Python's csv module
// (QUOTE_MINIMAL: a field with a comma, a double quote or a line break is quoted, its quotes
// doubled), and rows end in CRLF, as csv.writer writes them. Rows: largest size first.
#pragma once

#include "memray/reader/allocation_snapshot.h"

#include <string>

namespace memray::reporters::transform {

std::string renderCsv(const reader::AnalysedCapture& analysed);

}  // namespace memray::reporters::transform
