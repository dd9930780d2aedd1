#include "session_rows.h"

#include "memray/reporters/function_summary.h"

namespace memray::live {

std::vector<LiveRow> functionRows(reader::CallTreeBuilder& trees, const std::vector<reader::LocationUsage>& locations,
                                  std::optional<uint64_t> thread, uint64_t* selected_bytes)
{
    // The tree is built with every location's thread cleared: one thread's rows, or all
    // threads' merged, either way one node per stack, shared from one frame to the next.
    std::vector<reader::LocationUsage> selected;
    selected.reserve(locations.size());
    *selected_bytes = 0;
    for (const reader::LocationUsage& location : locations) {
        if (!thread || location.key.thread_id == *thread) {
            selected.push_back(location);
            selected.back().key.thread_id = 0;
            *selected_bytes += location.bytes;
        }
    }
    // The summary's figures: own and total by (function, file), recursion counted once.
    const std::vector<reporters::FunctionUsage> functions = reporters::summariseFunctions(trees.build(selected));
    std::vector<LiveRow> rows;
    rows.reserve(functions.size());
    for (const reporters::FunctionUsage& function : functions) {
        // The tree keeps the nodes of stacks no longer live, with nothing under them.
        if (function.total_bytes == 0 && function.total_count == 0) {
            continue;
        }
        rows.push_back(LiveRow{function.function, function.file, function.total_bytes, function.own_bytes,
                               function.total_count, function.own_count, function.native});
    }
    return rows;
}

}  // namespace memray::live
