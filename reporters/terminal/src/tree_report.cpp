#include "memray/reporters/tree_report.h"

#include "memray/reader/size_format.h"
#include "memray/reader/terminal_text.h"
#include "memray/reporters/display_tree.h"
#include "memray/reporters/text_layout.h"
#include "memray/reporters/text_style.h"

#include <algorithm>
#include <vector>

namespace memray::reporters {
namespace {

// Without --show-all-frames, a chain longer than this is folded to kFoldedChainFrames calls,
// with a count of the others where they were.
constexpr size_t kMaxChainLines = 6;
constexpr size_t kFoldedChainFrames = 4;

class TreeRenderer
{
  public:
    TreeRenderer(const reader::CallTree& tree, const ElidedLocations& elided, const TreeReportOptions& options)
    : tree_(tree)
    , display_(buildDisplayTree(tree, FrameFilter{!options.show_all_frames, !options.show_all_frames}))
    , elided_(elided)
    , options_(options)
    , paint_(options.colour)
    , whole_(display_.nodes[0].total_bytes + elided.bytes)
    {
    }

    std::string render()
    {
        nodeLine("", 0);
        // Depth-first with an explicit stack: call trees of deep recursion are deep.
        struct Pending
        {
            uint32_t node;
            std::string prefix;  // guides of the ancestors
            bool last;           // last child of its parent
        };
        std::vector<Pending> pending;
        if (elided_.count > 0) {
            pending.push_back({kElidedMarker, "", true});  // the root's last child
        }
        pushChildren(display_.nodes[0], "", elided_.count > 0, pending);
        while (!pending.empty()) {
            const Pending item = std::move(pending.back());
            pending.pop_back();
            if (item.node == kElidedMarker) {
                elidedLine();
                continue;
            }
            nodeLine(item.prefix + (item.last ? "└── " : "├── "), item.node);
            const std::string inner = item.prefix + (item.last ? "    " : "│   ");
            const uint32_t tail = chainLines(inner, item.node);
            pushChildren(display_.nodes[tail], inner, false, pending);
        }
        if (hidden_frames_ > 0 && !options_.show_all_frames) {
            out_ += paint_.dim(std::to_string(hidden_frames_) + (hidden_frames_ == 1 ? " frame" : " frames")
                               + " of the import system, of start-up, of the interpreter's machinery or inside call chains not shown "
                                 "(--show-all-frames shows them)")
                    + "\n";
        }
        return std::move(out_);
    }

  private:
    static constexpr uint32_t kElidedMarker = DisplayNode::kNone;

    // Pushed in reverse so that the largest child is printed first. `more_follow`: a line
    // after the children still hangs from `node` (the root's elided locations).
    template <typename Stack>
    void pushChildren(const DisplayNode& node, const std::string& prefix, bool more_follow, Stack& pending)
    {
        for (size_t i = node.children.size(); i-- > 0;) {
            pending.push_back({node.children[i], prefix, i + 1 == node.children.size() && !more_follow});
        }
    }

    // The calls that continue `head` in a straight line, one "↳" line each; returns the chain's
    // last node, whose children come next.
    uint32_t chainLines(const std::string& prefix, uint32_t head)
    {
        std::vector<uint32_t> chain;
        for (uint32_t node = head; isLinear(display_.nodes[node]);) {
            node = display_.nodes[node].children.front();
            chain.push_back(node);
        }
        const std::vector<bool> listed = options_.show_all_frames || chain.size() <= kMaxChainLines
                                                 ? std::vector<bool>(chain.size(), true)
                                                 : listedWhenFolded(chain);
        size_t skipped = 0;
        for (size_t i = 0; i < chain.size(); ++i) {
            if (!listed[i]) {
                ++skipped;
                continue;
            }
            if (skipped > 0) {
                hidden_frames_ += skipped;
                out_ += paint_.dim(prefix + "⋮ " + std::to_string(skipped) + (skipped == 1 ? " more call" : " more calls"))
                        + "\n";
                skipped = 0;
            }
            out_ += paint_.dim(prefix + "↳ ") + frameText(chain[i]) + ownText(chain[i]) + "\n";
        }
        return chain.empty() ? head : chain.back();
    }

    // Which calls of a long chain stay listed when it is folded: kFoldedChainFrames of them,
    // chosen by what they tell a reader -- Python frames and C/C++ frames with a source
    // location outside CPython's own build first, then CPython's frames with a source location
    // (a pyenv build's _ctypes and libpython have debug info), then named frames, unnamed ones
    // ("libffi.so.8+0x7e3a") last -- and among equals the ones nearest the chain's ends; the
    // last call always, as what follows hangs from it. So the program's own C function, built
    // with debug info, outlives the ctypes and libffi frames around it, and a chain of equals
    // (deep recursion) shows its two first and two last calls.
    std::vector<bool> listedWhenFolded(const std::vector<uint32_t>& chain) const
    {
        auto rank = [&](uint32_t node) {
            const reader::TreeFrame& frame = tree_.frames[display_.nodes[node].frame];
            if (frame.file.empty()) {
                return frame.unnamed ? 0 : 1;
            }
            return frame.native && frame.python_build ? 2 : 3;
        };
        const size_t last = chain.size() - 1;
        std::vector<size_t> order(chain.size());
        for (size_t i = 0; i < order.size(); ++i) {
            order[i] = i;
        }
        std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
            const int rank_a = rank(chain[a]);
            const int rank_b = rank(chain[b]);
            if (rank_a != rank_b) {
                return rank_a > rank_b;
            }
            return std::min(a, last - a) < std::min(b, last - b);
        });
        std::vector<bool> listed(chain.size(), false);
        listed[last] = true;
        size_t count = 1;
        for (size_t i : order) {
            if (count == kFoldedChainFrames) {
                break;
            }
            if (!listed[i]) {
                listed[i] = true;
                ++count;
            }
        }
        return listed;
    }

    // A node whose whole total goes to its one callee: printed as a chain, not indented.
    static bool isLinear(const DisplayNode& node) { return node.children.size() == 1 && node.self_bytes == 0; }

    void nodeLine(const std::string& guides, uint32_t index)
    {
        const DisplayNode& node = display_.nodes[index];
        // The root stands for the whole snapshot, the elided locations included.
        const uint64_t bytes = index == 0 ? whole_ : node.total_bytes;
        out_ += paint_.dim(guides);
        out_ += node.children.empty() && (index != 0 || elided_.count == 0) ? "📄 " : "📂 ";
        out_ += paint_.share(reader::formatSize(bytes) + " (" + formatPercent(bytes, whole_) + ")", percentOf(bytes, whole_));
        out_ += " ";
        out_ += index == 0 ? std::string("<root>") : frameText(index);
        out_ += ownText(index);
        out_ += "\n";
    }

    void elidedLine()
    {
        const std::string what = std::to_string(elided_.count) + (elided_.count == 1 ? " more location, " : " more locations, ")
                                 + reader::formatSize(elided_.bytes) + " (" + formatPercent(elided_.bytes, whole_)
                                 + "), not shown (see -b/--biggest-allocs)";
        out_ += paint_.dim("└── … " + what) + "\n";
    }

    std::string frameText(uint32_t index) const
    {
        const reader::TreeFrame& frame = tree_.frames[display_.nodes[index].frame];
        std::string text = frame.native ? paint_.colour(reader::kNativeFrameMarker, Colour::Cyan) + " " : std::string();
        // Names come from the capture: their control characters are escaped.
        text += paint_.bold(reader::terminalSafe(frame.function));
        if (!frame.file.empty()) {
            text += "  " + reader::terminalSafe(frame.file);
            if (frame.line != 0) {
                text += ":" + std::to_string(frame.line);
            }
        }
        return text;
    }

    // What a caller allocated itself, besides its callees.
    std::string ownText(uint32_t index) const
    {
        const DisplayNode& node = display_.nodes[index];
        if (node.children.empty() || node.self_bytes == 0) {
            return "";
        }
        return " (own " + reader::formatSize(node.self_bytes) + ")";
    }

    const reader::CallTree& tree_;
    DisplayTree display_;
    ElidedLocations elided_;
    TreeReportOptions options_;
    Painter paint_;
    uint64_t whole_;
    uint64_t hidden_frames_ = display_.hidden_frames;
    std::string out_;
};

}  // namespace

std::string renderTree(const reader::CallTree& tree, const ElidedLocations& elided, const TreeReportOptions& options)
{
    return TreeRenderer(tree, elided, options).render();
}

}  // namespace memray::reporters
