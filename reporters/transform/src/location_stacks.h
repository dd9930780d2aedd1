// The stacks of a snapshot's locations, for the transform writers: the reports' call tree
// (reader::buildCallTree: Python stacks, or hybrid stacks for --native captures, frames
// interned), with each location's node.
#pragma once

#include "memray/reader/call_tree.h"

#include <cstdint>
#include <vector>

namespace memray::reporters::transform {

class LocationStacks
{
  public:
    LocationStacks(const reader::CaptureReader& capture, const std::vector<reader::LocationUsage>& locations);

    const reader::CallTree& tree() const { return tree_; }

    // The node of locations[i]: its innermost frame. 0, the root, for an allocation without a
    // stack (the tree's "<unknown>" frame stands for none here).
    uint32_t node(size_t location) const { return node_of_location_[location]; }

    // f(const reader::TreeFrame&, uint32_t frame_index) for each frame of `node`'s stack,
    // innermost first.
    template <typename F>
    void forEachFrame(uint32_t node, F&& f) const
    {
        while (node != 0) {
            const reader::TreeNode& n = tree_.nodes[node];
            f(tree_.frames[n.frame], n.frame);
            node = n.parent;
        }
    }

  private:
    std::vector<uint32_t> node_of_location_;  // first: the tree's construction fills it
    reader::CallTree tree_;
};

}  // namespace memray::reporters::transform
