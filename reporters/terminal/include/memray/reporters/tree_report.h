// `memray tree`: the call tree of a snapshot as printable text.
//
//     📂 15.729MB (100.00%) <root>
//     └── 📂 15.729MB (100.00%) <module>  /app/job.py:20
//         ↳ main  /app/job.py:17
//         ├── 📄 10.486MB (66.67%) a  /app/job.py:5
//         ├── 📄 5.243MB (33.33%) b  /app/job.py:9
//         └── … 3 more locations, 12.000B (0.00%), not shown (see -b/--biggest-allocs)
//
// Each line is a frame, "function  file:line" ("[native] function  file:line" for a C/C++ frame
// of a --native capture), with what it and its callees allocated and
// that as a share of the whole snapshot; 📄 marks where allocations were made, 📂 a caller
// (a caller that also allocates itself says "(own SIZE)"). A linear chain of calls -- each
// calling only the next, allocating nothing itself -- is listed under its first frame with ↳
// instead of being indented ever deeper, and without --show-all-frames only its two first and
// two last frames are listed. The root's last child sums the locations left out of the tree.
#pragma once

#include "memray/reader/call_tree.h"

#include <cstdint>
#include <string>

namespace memray::reporters {

struct TreeReportOptions
{
    // Shows the import system's and start-up frames (DisplayTree), and whole call chains.
    bool show_all_frames = false;
    bool colour = false;
};

// The snapshot's locations that were left out of the tree (the smallest ones).
struct ElidedLocations
{
    uint64_t count = 0;
    uint64_t bytes = 0;
};

// Shares are of the tree's total plus the elided bytes: the whole snapshot.
std::string renderTree(const reader::CallTree& tree, const ElidedLocations& elided, const TreeReportOptions& options);

}  // namespace memray::reporters
