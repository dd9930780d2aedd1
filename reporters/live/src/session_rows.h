// The table of a live frame: the live heap by function, from the live heap by location.
#pragma once

#include "memray/live/live_frame.h"
#include "memray/reader/allocation_snapshot.h"
#include "memray/reader/call_tree.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace memray::live {

// The rows of `locations` (LiveHeap::usage(): split by thread) for `thread`, or for all
// threads merged, and the live bytes they cover in `*selected_bytes`. `trees` keeps what it
// resolved (stack paths, native symbols) for the next frame.
std::vector<LiveRow> functionRows(reader::CallTreeBuilder& trees, const std::vector<reader::LocationUsage>& locations,
                                  std::optional<uint64_t> thread, uint64_t* selected_bytes);

}  // namespace memray::live
