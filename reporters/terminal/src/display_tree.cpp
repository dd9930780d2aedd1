#include "memray/reporters/display_tree.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace memray::reporters {
namespace {

bool isHidden(const reader::TreeFrame& frame, const FrameFilter& filter)
{
    return (filter.hide_import_system && frame.import_system)
           || (filter.hide_irrelevant && (frame.irrelevant || frame.unnamed_interpreter));
}

}  // namespace

DisplayTree buildDisplayTree(const reader::CallTree& tree, const FrameFilter& filter)
{
    DisplayTree display;
    display.nodes.emplace_back();  // the root
    if (tree.nodes.empty()) {
        return display;
    }
    // Where each call-tree node landed. Parents come before children in both trees, so one
    // forward pass places every node under its caller's place.
    std::vector<uint32_t> place(tree.nodes.size(), 0);
    std::map<std::tuple<uint32_t, uint32_t, uint64_t>, uint32_t> by_key;  // (parent, frame, thread)
    for (size_t i = 1; i < tree.nodes.size(); ++i) {
        const reader::TreeNode& node = tree.nodes[i];
        const uint32_t parent = place[node.parent];
        uint32_t target = parent;
        if (isHidden(tree.frames[node.frame], filter)) {
            ++display.hidden_frames;
        } else {
            auto [it, inserted] = by_key.try_emplace({parent, node.frame, node.thread_id}, 0);
            if (inserted) {
                it->second = static_cast<uint32_t>(display.nodes.size());
                DisplayNode shown;
                shown.frame = node.frame;
                shown.parent = parent;
                display.nodes.push_back(shown);
            }
            target = it->second;
        }
        place[i] = target;
        display.nodes[target].self_bytes += node.self_bytes;
        display.nodes[target].self_count += node.self_count;
    }
    display.nodes[0].self_bytes += tree.nodes[0].self_bytes;
    display.nodes[0].self_count += tree.nodes[0].self_count;

    // Totals in one backward sweep: every child has a larger index than its parent.
    for (size_t i = display.nodes.size(); i-- > 0;) {
        DisplayNode& node = display.nodes[i];
        node.total_bytes += node.self_bytes;
        node.total_count += node.self_count;
        if (node.parent != DisplayNode::kNone) {
            display.nodes[node.parent].total_bytes += node.total_bytes;
            display.nodes[node.parent].total_count += node.total_count;
        }
    }
    for (uint32_t i = 1; i < display.nodes.size(); ++i) {
        display.nodes[display.nodes[i].parent].children.push_back(i);
    }
    for (DisplayNode& node : display.nodes) {
        std::stable_sort(node.children.begin(), node.children.end(), [&](uint32_t a, uint32_t b) {
            return display.nodes[a].total_bytes > display.nodes[b].total_bytes;
        });
    }
    return display;
}

}  // namespace memray::reporters
