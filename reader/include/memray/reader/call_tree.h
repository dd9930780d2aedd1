// The call tree of a snapshot: what flamegraph, tree and summary draw.
//
// Each location's Python stack is inserted outermost frame first, so nodes are call paths
// from the program's entry down to an allocating line. A node is (parent, frame, thread): with
// merged threads the thread is always 0. A node's `self_*` fields count the allocations made
// exactly there, its `total_*` fields those made there or in anything it called. The
// allocator is not part of a node (the table reporter is the one that splits by allocator).
//
// Frames are interned: one TreeFrame per distinct (function, file, line), each flagged with
// what reports may hide by default:
//  * import_system: CPython's import machinery (<frozen importlib._bootstrap...>) and every
//    frame called from it, as a module body run by an import is noise for most questions;
//  * irrelevant: frames that only start the program (runpy's module runner).
// Allocations with no Python stack hang from the root under a frame named kUnknownFunction.
//
// Native captures (--native): each location's stack is its hybrid stack (hybrid_stack.h):
// native frames, symbolized here, interleaved with the Python frames where the interpreter ran
// them, CPython's own call machinery left out. Native frames have TreeFrame::native set.
// Unnamed frames inside the interpreter's own image ("python3.11+0x1a2b3c") are left out too,
// unless CallTreeOptions::keep_unnamed_interpreter_frames keeps them, flagged
// TreeFrame::unnamed_interpreter, for a report that hides them by default and can show them.
#pragma once

#include "memray/reader/allocation_snapshot.h"
#include "memray/reader/capture_reader.h"

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace memray::reader {

constexpr std::string_view kUnknownFunction = "<unknown>";
// What the text reports (tree, summary, stats) put before a native frame's name, so it reads
// apart from Python frames with or without colour and greps as one word. The HTML reports show
// the same words (frames.flags bit 2, docs/report-data.md).
constexpr std::string_view kNativeFrameMarker = "[native]";

struct TreeFrame
{
    std::string function;
    std::string file;
    uint64_t line = 0;
    bool import_system = false;  // inside the import machinery (the node's own frame)
    bool irrelevant = false;     // program start-up plumbing
    bool native = false;         // a C/C++ frame of a native capture (file/line from DWARF, may be empty/0)
    bool unnamed = false;              // native, without symbol or debug info ("libfoo.so+0x1234")
    bool python_build = false;         // native, in CPython's own build (HybridFrame::python_build)
    bool unnamed_interpreter = false;  // unnamed, in the interpreter's image, among Python frames (see above)
};

struct CallTreeOptions
{
    // Keeps the unnamed native frames of the interpreter (flagged) instead of leaving them out.
    bool keep_unnamed_interpreter_frames = false;
};

struct TreeNode
{
    static constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();

    uint32_t parent = kNone;  // kNone for the root
    uint32_t frame = kNone;   // index into CallTree::frames; kNone for the root
    uint32_t depth = 0;       // the root is 0
    uint64_t thread_id = 0;   // 0 when threads are merged
    bool import_system = false;  // this frame or a caller of it is in the import machinery
    uint64_t self_bytes = 0;
    uint64_t self_count = 0;
    uint64_t total_bytes = 0;
    uint64_t total_count = 0;
    // Children are nodes [first_child, first_child + child_count) of CallTree::children.
    uint32_t first_child = 0;
    uint32_t child_count = 0;
};

struct CallTree
{
    std::vector<TreeFrame> frames;
    // nodes[0] is the root; a node's parent always has a smaller index.
    std::vector<TreeNode> nodes;
    // Child node indices, grouped by parent, each group ordered by total_bytes (largest first).
    std::vector<uint32_t> children;

    const TreeNode& root() const { return nodes.front(); }
    // The children of `node`, largest first.
    const uint32_t* childrenBegin(const TreeNode& node) const { return children.data() + node.first_child; }
    const uint32_t* childrenEnd(const TreeNode& node) const { return childrenBegin(node) + node.child_count; }
};

// Builds the tree of `locations`, resolving stacks through `capture`. Locations with the same
// stack and thread but another allocator land in the same node (and, outside native captures,
// so do those with another native stack), whose index goes to (*node_of_location)[i] for
// locations[i] when that is given.
CallTree buildCallTree(const CaptureReader& capture, const std::vector<LocationUsage>& locations,
                       std::vector<uint32_t>* node_of_location = nullptr, const CallTreeOptions& options = {});

class TreeBuilder;

// Call trees of successive snapshots of one capture that is still being read (the live view):
// what one build resolved (the paths of stacks, symbolized native frames, with the symbolizer
// and its opened debug info) is kept for the next, so a tree costs about a pass over the
// locations instead of a symbolization of every native stack again.
class CallTreeBuilder
{
  public:
    // `capture` must outlive the builder; it may read on between builds (ids keep their meaning).
    explicit CallTreeBuilder(const CaptureReader& capture, const CallTreeOptions& options = {});
    ~CallTreeBuilder();
    CallTreeBuilder(const CallTreeBuilder&) = delete;
    CallTreeBuilder& operator=(const CallTreeBuilder&) = delete;

    // The tree of `locations` as buildCallTree makes it, except that the nodes of earlier
    // builds' stacks stay in it, with zero figures. Valid until the next call.
    const CallTree& build(const std::vector<LocationUsage>& locations, std::vector<uint32_t>* node_of_location = nullptr);

  private:
    std::unique_ptr<TreeBuilder> builder_;
};

// Whether a frame belongs to the import machinery or to start-up plumbing (see above).
bool isImportSystemFrame(std::string_view function, std::string_view file);
bool isIrrelevantFrame(std::string_view function, std::string_view file);

}  // namespace memray::reader
