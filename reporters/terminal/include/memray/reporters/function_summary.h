// `memray summary`'s figures: a snapshot's memory by function (a function being a name in a
// file, whatever line it was at).
//
//  * own: allocated by the function itself (it was the innermost frame);
//  * total: allocated while it was anywhere on the stack -- counted once per stack, so a
//    recursive function is not charged twice for the same bytes;
//  * allocations: how many allocations it made itself (as memray's summary counts them).
#pragma once

#include "memray/reader/call_tree.h"

#include <cstdint>
#include <string>
#include <vector>

namespace memray::reporters {

struct FunctionUsage
{
    std::string function;
    std::string file;  // "" for allocations without a stack, or a native frame without debug info
    uint64_t total_bytes = 0;
    uint64_t own_bytes = 0;
    uint64_t own_count = 0;
    uint64_t total_count = 0;  // allocations made with it on the stack (counted once per stack, as total_bytes)
    bool native = false;  // a C/C++ function of a --native capture
};

// One entry per function in `tree`, in no particular order.
std::vector<FunctionUsage> summariseFunctions(const reader::CallTree& tree);

// The columns of the summary table, numbered as -s/--sort-column takes them.
enum class SummaryColumn {
    TotalMemory = 1,
    TotalMemoryPercent = 2,
    OwnMemory = 3,
    OwnMemoryPercent = 4,
    AllocationCount = 5,
};

// Largest first by `column`; ties by total, then own memory, then location, so the order is
// always the same.
void sortFunctions(std::vector<FunctionUsage>& functions, SummaryColumn column);

}  // namespace memray::reporters
