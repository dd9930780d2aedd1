#include "memray/reporters/function_summary.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

namespace memray::reporters {

std::vector<FunctionUsage> summariseFunctions(const reader::CallTree& tree)
{
    std::vector<FunctionUsage> functions;
    if (tree.nodes.empty()) {
        return functions;
    }
    // Frames differ by line; a function is (name, file).
    std::vector<uint32_t> function_of_frame(tree.frames.size());
    std::map<std::pair<std::string_view, std::string_view>, uint32_t> by_name;
    for (size_t i = 0; i < tree.frames.size(); ++i) {
        const reader::TreeFrame& frame = tree.frames[i];
        auto [it, inserted] = by_name.try_emplace({frame.function, frame.file}, static_cast<uint32_t>(functions.size()));
        if (inserted) {
            functions.push_back(FunctionUsage{frame.function, frame.file});
            functions.back().native = frame.native;
        }
        function_of_frame[i] = it->second;
    }

    // A node's total is what was allocated with its frame on the stack. Charging a function
    // the totals of only its outermost nodes on each path -- those with no caller of the same
    // function above them -- counts every byte once however deep the recursion goes. A
    // depth-first walk keeps how often each function is on the current path.
    std::vector<uint32_t> on_path(functions.size(), 0);
    struct Step
    {
        uint32_t node;
        bool leaving;
    };
    std::vector<Step> steps;
    for (const uint32_t* child = tree.childrenBegin(tree.root()); child != tree.childrenEnd(tree.root()); ++child) {
        steps.push_back({*child, false});
    }
    while (!steps.empty()) {
        const Step step = steps.back();
        steps.pop_back();
        const reader::TreeNode& node = tree.nodes[step.node];
        const uint32_t function = function_of_frame[node.frame];
        if (step.leaving) {
            --on_path[function];
            continue;
        }
        if (on_path[function]++ == 0) {
            functions[function].total_bytes += node.total_bytes;
            functions[function].total_count += node.total_count;
        }
        functions[function].own_bytes += node.self_bytes;
        functions[function].own_count += node.self_count;
        steps.push_back({step.node, true});
        for (const uint32_t* child = tree.childrenBegin(node); child != tree.childrenEnd(node); ++child) {
            steps.push_back({*child, false});
        }
    }
    return functions;
}

void sortFunctions(std::vector<FunctionUsage>& functions, SummaryColumn column)
{
    auto primary = [column](const FunctionUsage& usage) {
        switch (column) {
            case SummaryColumn::OwnMemory:
            case SummaryColumn::OwnMemoryPercent:
                return usage.own_bytes;
            case SummaryColumn::AllocationCount:
                return usage.own_count;
            case SummaryColumn::TotalMemory:
            case SummaryColumn::TotalMemoryPercent:
                break;
        }
        return usage.total_bytes;
    };
    std::sort(functions.begin(), functions.end(), [&](const FunctionUsage& a, const FunctionUsage& b) {
        return std::make_tuple(primary(b), b.total_bytes, b.own_bytes, std::string_view(a.function), std::string_view(a.file))
               < std::make_tuple(primary(a), a.total_bytes, a.own_bytes, std::string_view(b.function), std::string_view(b.file));
    });
}

}  // namespace memray::reporters
