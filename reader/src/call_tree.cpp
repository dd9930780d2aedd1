#include "memray/reader/call_tree.h"

#include "memray/reader/hybrid_stack.h"
#include "memray/reader/native_symbolizer.h"

#include "flat_index_map.h"

#include <algorithm>
#include <memory>
#include <string>
#include <unordered_map>

namespace memray::reader {
namespace {

struct FrameKey
{
    std::string_view function;
    std::string_view file;
    uint64_t line;
    bool native;
    bool unnamed_interpreter;  // the same text is a plain frame in a stack without Python
    bool operator==(const FrameKey&) const = default;
};

struct FrameKeyHash
{
    size_t operator()(const FrameKey& key) const
    {
        const size_t h = std::hash<std::string_view>()(key.function) * 31 + std::hash<std::string_view>()(key.file);
        return h * 0x9e3779b97f4a7c15ull + key.line * 4 + (key.native ? 1 : 0) + (key.unnamed_interpreter ? 2 : 0);
    }
};

struct NodeKey
{
    uint32_t parent;
    uint32_t frame;
    uint64_t thread_id;
    bool operator==(const NodeKey&) const = default;
};

struct NodeKeyHash
{
    size_t operator()(const NodeKey& key) const
    {
        uint64_t h = (static_cast<uint64_t>(key.parent) << 32 | key.frame) * 0x9e3779b97f4a7c15ull;
        h ^= key.thread_id * 0xbf58476d1ce4e5b9ull;
        return static_cast<size_t>(h ^ (h >> 29));
    }
};

}  // namespace

// The tree of one capture's locations, built up location by location (CallTreeBuilder keeps one
// across snapshots).
class TreeBuilder
{
  public:
    TreeBuilder(const CaptureReader& capture, const CallTreeOptions& options)
    : capture_(capture)
    {
        tree_.nodes.emplace_back();  // the root
        if (capture.nativeTraces()) {
            symbolizer_ = std::make_unique<NativeSymbolizer>(capture);
            HybridOptions hybrid_options;
            hybrid_options.keep_unnamed_interpreter_frames = options.keep_unnamed_interpreter_frames;
            hybrid_ = std::make_unique<HybridStackBuilder>(capture, *symbolizer_, hybrid_options);
        }
    }

    uint32_t add(const LocationUsage& usage)
    {
        const uint32_t index = hybrid_ ? nodeForHybridStack(usage.key)
                                       : nodeForStack(usage.key.stack_id, usage.key.thread_id);
        tree_.nodes[index].self_bytes += usage.bytes;
        tree_.nodes[index].self_count += usage.count;
        return index;
    }

    CallTree finish()
    {
        sumAndOrder();
        return std::move(tree_);
    }

    // Zeroes every node's figures (keeping the nodes and all that resolves stacks to them), for
    // the next snapshot's add() calls.
    void clearFigures()
    {
        for (TreeNode& node : tree_.nodes) {
            node.self_bytes = node.self_count = node.total_bytes = node.total_count = 0;
            node.first_child = node.child_count = 0;
        }
        tree_.children.clear();
    }

    // Sums the totals and orders each node's children, leaving the tree in place.
    const CallTree& sumAndOrder()
    {
        std::vector<TreeNode>& nodes = tree_.nodes;
        // Parents have smaller indices than their children: one backward sweep sums totals.
        for (size_t i = nodes.size(); i-- > 0;) {
            nodes[i].total_bytes += nodes[i].self_bytes;
            nodes[i].total_count += nodes[i].self_count;
            if (nodes[i].parent != TreeNode::kNone) {
                nodes[nodes[i].parent].total_bytes += nodes[i].total_bytes;
                nodes[nodes[i].parent].total_count += nodes[i].total_count;
            }
        }
        // Children grouped by parent (counting sort), each group largest first.
        for (size_t i = 1; i < nodes.size(); ++i) {
            ++nodes[nodes[i].parent].child_count;
        }
        uint32_t next = 0;
        for (TreeNode& node : nodes) {
            node.first_child = next;
            next += node.child_count;
            node.child_count = 0;
        }
        tree_.children.resize(next);
        for (uint32_t i = 1; i < nodes.size(); ++i) {
            TreeNode& parent = nodes[nodes[i].parent];
            tree_.children[parent.first_child + parent.child_count++] = i;
        }
        for (const TreeNode& node : nodes) {
            std::sort(tree_.children.begin() + node.first_child,
                      tree_.children.begin() + node.first_child + node.child_count, [&](uint32_t a, uint32_t b) {
                          return nodes[a].total_bytes != nodes[b].total_bytes ? nodes[a].total_bytes > nodes[b].total_bytes
                                                                              : a < b;
                      });
        }
        return tree_;
    }

  private:
    // The node of a whole Python stack in a thread, creating the path to it as needed. Stacks
    // are a trie in the capture too, so each capture stack node is resolved once.
    uint32_t nodeForStack(uint64_t stack_id, uint64_t thread_id)
    {
        if (stack_id == 0 || !capture_.stack(stack_id)) {
            return child(0, unknownFrame(), thread_id);
        }
        // Walk up to the nearest stack already resolved in this thread, then come back down.
        std::vector<uint64_t>& pending = pending_;
        pending.clear();
        uint32_t node = 0;
        while (stack_id != 0) {
            const uint32_t known = by_stack_.find(StackInThread{stack_id, thread_id});
            if (known != kUnresolved) {
                node = known;
                break;
            }
            pending.push_back(stack_id);
            stack_id = capture_.stack(stack_id)->parent_id;
        }
        for (size_t i = pending.size(); i-- > 0;) {
            node = child(node, frameIndex(capture_.stack(pending[i])->frame_id), thread_id);
            by_stack_.tryInsert(StackInThread{pending[i], thread_id}, node);
        }
        return node;
    }

    // Native captures: the node of a location's hybrid stack. Stacks are resolved once per
    // (Python stack, native stack, thread).
    uint32_t nodeForHybridStack(const LocationKey& key)
    {
        const HybridKey hybrid_key{key.stack_id, key.native_stack_id, key.thread_id};
        auto known = by_hybrid_.find(hybrid_key);
        if (known != by_hybrid_.end()) {
            return known->second;
        }
        const std::vector<HybridFrame> frames = hybrid_->build(key.stack_id, key.native_stack_id);
        uint32_t node = 0;
        if (frames.empty()) {
            node = child(0, unknownFrame(), key.thread_id);
        }
        for (const HybridFrame& frame : frames) {
            node = child(node, internHybrid(frame), key.thread_id);
        }
        by_hybrid_.emplace(hybrid_key, node);
        return node;
    }

    uint32_t child(uint32_t parent, uint32_t frame, uint64_t thread_id)
    {
        auto [index, inserted] = by_key_.tryInsert(NodeKey{parent, frame, thread_id}, static_cast<uint32_t>(tree_.nodes.size()));
        if (inserted) {
            TreeNode node;
            node.parent = parent;
            node.frame = frame;
            node.thread_id = thread_id;
            node.depth = tree_.nodes[parent].depth + 1;
            node.import_system = tree_.nodes[parent].import_system || tree_.frames[frame].import_system;
            tree_.nodes.push_back(node);
        }
        return index;
    }

    uint32_t frameIndex(uint64_t frame_id)
    {
        if (frame_id < by_frame_id_.size() && by_frame_id_[frame_id] != TreeNode::kNone) {
            return by_frame_id_[frame_id];
        }
        const PythonFrame frame = capture_.pythonFrame(frame_id);
        const uint32_t index = intern(frame.function, frame.file, frame.line);
        if (frame_id >= by_frame_id_.size()) {
            by_frame_id_.resize(frame_id + 1, TreeNode::kNone);
        }
        by_frame_id_[frame_id] = index;
        return index;
    }

    uint32_t unknownFrame()
    {
        if (unknown_frame_ == TreeNode::kNone) {
            unknown_frame_ = intern(kUnknownFunction, "", 0);
        }
        return unknown_frame_;
    }

    uint32_t internHybrid(const HybridFrame& frame)
    {
        const uint32_t index = intern(frame.function, frame.file, frame.line, frame.native, frame.unnamed_interpreter);
        // Both follow from the object, which the function, file and line already tell apart.
        tree_.frames[index].unnamed = frame.unnamed;
        tree_.frames[index].python_build = frame.python_build;
        return index;
    }

    uint32_t intern(std::string_view function, std::string_view file, uint64_t line, bool native = false,
                    bool unnamed_interpreter = false)
    {
        // The views point into the reader's code table or the symbolizer's strings, which
        // outlive this map.
        auto [it, inserted] = by_frame_.try_emplace(FrameKey{function, file, line, native, unnamed_interpreter}, 0);
        if (inserted) {
            it->second = static_cast<uint32_t>(tree_.frames.size());
            TreeFrame frame{std::string(function), std::string(file), line,
                            !native && isImportSystemFrame(function, file), !native && isIrrelevantFrame(function, file)};
            frame.native = native;
            frame.unnamed_interpreter = unnamed_interpreter;
            tree_.frames.push_back(std::move(frame));
        }
        return it->second;
    }

    struct StackInThread
    {
        uint64_t stack_id;
        uint64_t thread_id;
        bool operator==(const StackInThread&) const = default;
    };
    struct StackInThreadHash
    {
        size_t operator()(const StackInThread& key) const
        {
            return static_cast<size_t>((key.stack_id * 0x9e3779b97f4a7c15ull) ^ (key.thread_id * 0xbf58476d1ce4e5b9ull));
        }
    };

    struct HybridKey
    {
        uint64_t stack_id;
        uint64_t native_stack_id;
        uint64_t thread_id;
        bool operator==(const HybridKey&) const = default;
    };
    struct HybridKeyHash
    {
        size_t operator()(const HybridKey& key) const
        {
            return static_cast<size_t>((key.stack_id * 0x9e3779b97f4a7c15ull) ^ (key.native_stack_id * 0xbf58476d1ce4e5b9ull)
                                       ^ (key.thread_id * 0x94d049bb133111ebull));
        }
    };

    const CaptureReader& capture_;
    // Native captures only (the symbolizer is declared first: the builder refers to it).
    std::unique_ptr<NativeSymbolizer> symbolizer_;
    std::unique_ptr<HybridStackBuilder> hybrid_;
    std::unordered_map<HybridKey, uint32_t, HybridKeyHash> by_hybrid_;
    CallTree tree_;
    std::unordered_map<FrameKey, uint32_t, FrameKeyHash> by_frame_;
    std::vector<uint32_t> by_frame_id_;  // capture frame id -> tree frame index
    FlatIndexMap<NodeKey, NodeKeyHash> by_key_;
    FlatIndexMap<StackInThread, StackInThreadHash> by_stack_;
    static constexpr uint32_t kUnresolved = FlatIndexMap<StackInThread, StackInThreadHash>::kAbsent;
    std::vector<uint64_t> pending_;
    uint32_t unknown_frame_ = TreeNode::kNone;
};

namespace {

bool startsWith(std::string_view text, std::string_view prefix)
{
    return text.substr(0, prefix.size()) == prefix;
}

bool endsWith(std::string_view text, std::string_view suffix)
{
    return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

void addLocations(TreeBuilder& builder, const std::vector<LocationUsage>& locations,
                  std::vector<uint32_t>* node_of_location)
{
    if (node_of_location) {
        node_of_location->clear();
        node_of_location->reserve(locations.size());
    }
    for (const LocationUsage& usage : locations) {
        const uint32_t node = builder.add(usage);
        if (node_of_location) {
            node_of_location->push_back(node);
        }
    }
}

}  // namespace

CallTree buildCallTree(const CaptureReader& capture, const std::vector<LocationUsage>& locations,
                       std::vector<uint32_t>* node_of_location, const CallTreeOptions& options)
{
    TreeBuilder builder(capture, options);
    addLocations(builder, locations, node_of_location);
    return builder.finish();
}

CallTreeBuilder::CallTreeBuilder(const CaptureReader& capture, const CallTreeOptions& options)
: builder_(std::make_unique<TreeBuilder>(capture, options))
{
}

CallTreeBuilder::~CallTreeBuilder() = default;

const CallTree& CallTreeBuilder::build(const std::vector<LocationUsage>& locations,
                                       std::vector<uint32_t>* node_of_location)
{
    builder_->clearFigures();
    addLocations(*builder_, locations, node_of_location);
    return builder_->sumAndOrder();
}

bool isImportSystemFrame(std::string_view, std::string_view file)
{
    // importlib's bootstrap is frozen into the interpreter: "<frozen importlib._bootstrap>"
    // and "<frozen importlib._bootstrap_external>"; zipimport likewise.
    return startsWith(file, "<frozen importlib.") || file == "<frozen zipimport>";
}

bool isIrrelevantFrame(std::string_view, std::string_view file)
{
    // `python -m` runs the module through runpy (frozen since 3.11).
    return file == "<frozen runpy>" || (endsWith(file, "/runpy.py") && file.find("/lib/python3") != std::string_view::npos);
}

}  // namespace memray::reader
