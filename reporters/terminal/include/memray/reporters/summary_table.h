// `memray summary`: the functions of a snapshot as a table.
//
//     ┌───────────────────┬────────────────┬────────────────┬────────────┬──────────────┬──────────────────┐
//     │ Location          │ <Total Memory> │ Total Memory % │ Own Memory │ Own Memory % │ Allocation Count │
//     ├───────────────────┼────────────────┼────────────────┼────────────┼──────────────┼──────────────────┤
//     │ a at /app/job.py  │       10.486MB │         66.67% │   10.486MB │       66.67% │                1 │
//     └───────────────────┴────────────────┴────────────────┴────────────┴──────────────┴──────────────────┘
//
// The column the rows are sorted by has its heading in <>. Shares are of the whole snapshot and
// coloured as in the tree (red above 60%, yellow above 20%, green above 5%). Given a width the
// one-line table does not fit, the headings take two lines ("Total" over "Memory %") and the
// locations are shortened to what is left, so an 80-column terminal gets a whole table.
#pragma once

#include "memray/reporters/function_summary.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace memray::reporters {

struct SummaryTableOptions
{
    SummaryColumn sort_column = SummaryColumn::TotalMemory;  // only marks the heading
    size_t max_rows = 0;   // 0: every row; else the rest are counted in a line below the table
    size_t max_width = 0;  // 0: no limit; else the table is narrowed to fit (see above)
    bool colour = false;
};

// `functions` in the order to show them (sortFunctions); shares are of `snapshot_bytes`.
std::string renderSummaryTable(const std::vector<FunctionUsage>& functions, uint64_t snapshot_bytes,
                               const SummaryTableOptions& options);

// "function at file", or just the function when it has no file (no stack, or a native frame
// without debug info); "[native] function at file" for a C/C++ function.
std::string functionLocation(const FunctionUsage& usage);

}  // namespace memray::reporters
