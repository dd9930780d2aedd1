#include "location_stacks.h"

namespace memray::reporters::transform {

LocationStacks::LocationStacks(const reader::CaptureReader& capture, const std::vector<reader::LocationUsage>& locations)
: tree_(reader::buildCallTree(capture, locations, &node_of_location_))
{
    for (uint32_t& node : node_of_location_) {
        const reader::TreeNode& n = tree_.nodes[node];
        if (n.parent == 0 && n.frame != reader::TreeNode::kNone) {
            const reader::TreeFrame& frame = tree_.frames[n.frame];
            if (!frame.native && frame.function == reader::kUnknownFunction && frame.file.empty() && frame.line == 0) {
                node = 0;
            }
        }
    }
}

}  // namespace memray::reporters::transform
