#include "memray/reporters/transform/gprof2dot.h"

#include "json_writer.h"
#include "location_stacks.h"

#include <string_view>
#include <unordered_map>
#include <utility>

namespace memray::reporters::transform {

namespace {

struct FunctionKey
{
    std::string_view name;
    std::string_view module;
    bool operator==(const FunctionKey&) const = default;
};

struct FunctionKeyHash
{
    size_t operator()(const FunctionKey& key) const
    {
        return std::hash<std::string_view>()(key.name) * 31 + std::hash<std::string_view>()(key.module);
    }
};

}  // namespace

std::string renderGprof2dot(const reader::AnalysedCapture& analysed)
{
    const std::vector<reader::LocationUsage>& locations = analysed.snapshot.locations;
    const LocationStacks stacks(*analysed.capture, locations);
    const reader::CallTree& tree = stacks.tree();

    // Tree frames (function, file, line) -> gprof2dot functions (function, file).
    constexpr uint32_t kUnassigned = UINT32_MAX;
    std::vector<uint32_t> function_of_frame(tree.frames.size(), kUnassigned);
    std::unordered_map<FunctionKey, uint32_t, FunctionKeyHash> by_key;
    std::vector<FunctionKey> functions;

    std::string out;
    JsonWriter json(out);
    json.raw("{").key("version", true).number(0);
    json.key("costs").raw("[{").key("description", true).string("Memory").key("unit").string("bytes").raw("}]");
    json.key("events").raw("[");
    bool first_event = true;
    for (size_t i = 0; i < locations.size(); ++i) {
        const uint32_t node = stacks.node(i);
        if (node == 0) continue;  // no stack: nothing to chain
        if (!first_event) json.raw(",");
        first_event = false;
        json.raw("{").key("callchain", true).raw("[");
        bool first_call = true;
        stacks.forEachFrame(node, [&](const reader::TreeFrame& frame, uint32_t frame_index) {
            uint32_t& function = function_of_frame[frame_index];
            if (function == kUnassigned) {
                auto [it, inserted] = by_key.try_emplace(FunctionKey{frame.function, frame.file},
                                                         static_cast<uint32_t>(functions.size()));
                if (inserted) functions.push_back(it->first);
                function = it->second;
            }
            if (!first_call) json.raw(",");
            first_call = false;
            json.number(function);
        });
        json.raw("]").key("cost").raw("[").number(locations[i].bytes).raw("]}");
    }
    json.raw("]").key("functions").array(functions.size(), [&](size_t f) {
        json.raw("{").key("name", true).string(functions[f].name).key("module").string(functions[f].module).raw("}");
    });
    json.raw("}\n");
    return out;
}

}  // namespace memray::reporters::transform
