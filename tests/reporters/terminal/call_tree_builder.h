// Call trees written by hand for the renderer tests, so that a test states exactly the tree it
// renders (buildCallTree's own tests cover how captures become trees).
#pragma once

#include "memray/reader/call_tree.h"

#include <algorithm>
#include <string>

namespace memray::testing {

// What TreeFrame says a frame is (a nested struct could not be a default argument).
struct FrameFlags
{
    bool import_system = false;
    bool irrelevant = false;
    bool native = false;
    bool unnamed = false;              // native, without symbol ("libfoo.so+0x1234")
    bool unnamed_interpreter = false;  // and in the interpreter's image, among Python frames
    bool python_build = false;         // native, in CPython's own build (libpython, _ctypes...)
};

class CallTreeBuilder
{
  public:
    static constexpr uint32_t kRoot = 0;

    CallTreeBuilder() { tree_.nodes.emplace_back(); }

    // A new node under `parent` for the frame (function, file, line), allocating `self_bytes` in
    // `self_count` allocations itself. Frames are shared by equal (function, file, line).
    uint32_t add(uint32_t parent, const std::string& function, const std::string& file, uint64_t line,
                 uint64_t self_bytes = 0, uint64_t self_count = 0, FrameFlags flags = {})
    {
        reader::TreeNode node;
        node.parent = parent;
        node.frame = frame(function, file, line, flags);
        node.depth = tree_.nodes[parent].depth + 1;
        node.self_bytes = self_bytes;
        node.self_count = self_count;
        tree_.nodes.push_back(node);
        return static_cast<uint32_t>(tree_.nodes.size() - 1);
    }

    // Adds each node's own figures to it and every caller above it, and lists children.
    reader::CallTree build()
    {
        reader::CallTree tree = tree_;
        for (const reader::TreeNode& node : tree_.nodes) {
            for (uint32_t at = static_cast<uint32_t>(&node - tree_.nodes.data()); at != reader::TreeNode::kNone;
                 at = tree.nodes[at].parent) {
                tree.nodes[at].total_bytes += node.self_bytes;
                tree.nodes[at].total_count += node.self_count;
            }
        }
        for (reader::TreeNode& parent : tree.nodes) {
            parent.first_child = static_cast<uint32_t>(tree.children.size());
            for (uint32_t i = 1; i < tree.nodes.size(); ++i) {
                if (&tree.nodes[tree.nodes[i].parent] == &parent) {
                    tree.children.push_back(i);
                }
            }
            parent.child_count = static_cast<uint32_t>(tree.children.size()) - parent.first_child;
            std::stable_sort(tree.children.begin() + parent.first_child, tree.children.end(),
                             [&](uint32_t a, uint32_t b) { return tree.nodes[a].total_bytes > tree.nodes[b].total_bytes; });
        }
        return tree;
    }

  private:
    uint32_t frame(const std::string& function, const std::string& file, uint64_t line, FrameFlags flags)
    {
        for (uint32_t i = 0; i < tree_.frames.size(); ++i) {
            const reader::TreeFrame& known = tree_.frames[i];
            if (known.function == function && known.file == file && known.line == line) {
                return i;
            }
        }
        tree_.frames.push_back(reader::TreeFrame{function, file, line, flags.import_system, flags.irrelevant, flags.native,
                                                 flags.unnamed, flags.python_build, flags.unnamed_interpreter});
        return static_cast<uint32_t>(tree_.frames.size() - 1);
    }

    reader::CallTree tree_;
};

}  // namespace memray::testing
