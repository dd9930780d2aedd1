// The call tree as `memray tree` shows it: with the frames a reader rarely cares about folded
// into their callers.
//
// A hidden frame is made transparent, not cut off: its callees hang from its nearest shown
// caller (merging with a callee of the same frame there), and what it allocated itself counts
// as its caller's own allocations. So `import x` leads straight to x's module body, and no byte
// disappears from the tree.
#pragma once

#include "memray/reader/call_tree.h"

#include <cstdint>
#include <vector>

namespace memray::reporters {

struct FrameFilter
{
    bool hide_import_system = true;  // TreeFrame::import_system: importlib's own frames
    bool hide_irrelevant = true;     // TreeFrame::irrelevant: start-up plumbing (runpy), and
                                     // TreeFrame::unnamed_interpreter: CPython's unnamed machinery
};

struct DisplayNode
{
    static constexpr uint32_t kNone = reader::TreeNode::kNone;

    uint32_t frame = kNone;   // index into CallTree::frames; kNone for the root
    uint32_t parent = kNone;  // kNone for the root
    uint64_t self_bytes = 0;
    uint64_t self_count = 0;
    uint64_t total_bytes = 0;
    uint64_t total_count = 0;
    std::vector<uint32_t> children;  // largest total first; ties in call-tree order
};

struct DisplayTree
{
    std::vector<DisplayNode> nodes;  // nodes[0] is the root; parents before children
    uint64_t hidden_frames = 0;      // call-tree nodes folded into their callers
};

DisplayTree buildDisplayTree(const reader::CallTree& tree, const FrameFilter& filter);

}  // namespace memray::reporters
