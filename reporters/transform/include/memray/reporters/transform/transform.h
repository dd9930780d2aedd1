// `memray transform FORMAT RESULTS`: a snapshot of a capture (peak, leaks or temporary
// allocations, as reader::analyseCapture computes it) written in a format other tools read.
//
//   csv         one row per location: allocator, count, bytes, thread, stack (csv.h)
//   gprof2dot   gprof2dot's JSON profile format, bytes per call chain (gprof2dot.h)
//   speedscope  speedscope's file format: two sampled profiles, bytes and allocations (speedscope.h)
//
// Stacks are those of the other reports: the Python stack, or for a --native capture the
// hybrid stack (reader/include/memray/reader/hybrid_stack.h), innermost frame last in the
// capture's call tree. Nothing is hidden: every frame of the stack is written.
#pragma once

#include "memray/reader/allocation_snapshot.h"

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace memray::reporters::transform {

enum class Format {
    Csv,
    Gprof2dot,
    Speedscope,
};

struct FormatInfo
{
    Format format;
    std::string_view name;    // as typed on the command line (lower case)
    std::string_view suffix;  // of the default output file name
};

// Every format, in the order `memray transform --help` lists them.
std::span<const FormatInfo> formats();
const FormatInfo& formatInfo(Format format);
// The format called `name`, whatever its case; nullopt if there is none.
std::optional<Format> formatNamed(std::string_view name);

// Whether the format wants the snapshot's threads kept apart (reader::SnapshotOptions::
// split_threads): csv names a thread per row; the others merge threads.
bool wantsSplitThreads(Format format);

struct TransformOptions
{
    std::string exporter = "memray";  // speedscope's "exporter", e.g. "memray@0.1.0"
};

// The whole output file for `analysed`.
std::string renderTransform(Format format, const reader::AnalysedCapture& analysed, const TransformOptions& options);

}  // namespace memray::reporters::transform
