#include "memray/reporters/transform/speedscope.h"

#include "json_writer.h"
#include "location_stacks.h"

#include <algorithm>
#include <unordered_map>

namespace memray::reporters::transform {

namespace {

// One distinct stack and what was allocated with it.
struct Sample
{
    uint32_t node = 0;
    uint64_t bytes = 0;
    uint64_t count = 0;
};

void writeProfile(JsonWriter& json, std::string_view name, std::string_view unit, const std::vector<Sample>& samples,
                  const std::vector<std::vector<uint32_t>>& stacks, uint64_t Sample::*weight)
{
    uint64_t total = 0;
    std::vector<size_t> kept;
    for (size_t i = 0; i < samples.size(); ++i) {
        if (samples[i].*weight == 0) continue;
        kept.push_back(i);
        total += samples[i].*weight;
    }
    json.raw("{").key("type", true).string("sampled").key("name").string(name).key("unit").string(unit);
    json.key("startValue").number(0).key("endValue").number(total);
    json.key("samples").array(kept.size(), [&](size_t k) {
        const std::vector<uint32_t>& stack = stacks[kept[k]];
        json.array(stack.size(), [&](size_t f) { json.number(stack[f]); });
    });
    json.key("weights").array(kept.size(), [&](size_t k) { json.number(samples[kept[k]].*weight); });
    json.raw("}");
}

}  // namespace

std::string renderSpeedscope(const reader::AnalysedCapture& analysed, std::string_view exporter)
{
    const std::vector<reader::LocationUsage>& locations = analysed.snapshot.locations;
    const LocationStacks stacks(*analysed.capture, locations);
    const reader::CallTree& tree = stacks.tree();

    // Locations with the same stack (another allocator, another native stack that symbolizes
    // alike) are one sample, in the order of their largest location.
    std::vector<Sample> samples;
    std::unordered_map<uint32_t, size_t> sample_of_node;
    for (size_t i = 0; i < locations.size(); ++i) {
        const uint32_t node = stacks.node(i);
        if (node == 0) continue;
        auto [it, inserted] = sample_of_node.try_emplace(node, samples.size());
        if (inserted) samples.push_back(Sample{node, 0, 0});
        samples[it->second].bytes += locations[i].bytes;
        samples[it->second].count += locations[i].count;
    }

    // Frames in the order samples first use them; each sample's stack outermost first.
    constexpr uint32_t kUnassigned = UINT32_MAX;
    std::vector<uint32_t> shared_index(tree.frames.size(), kUnassigned);
    std::vector<uint32_t> shared_frames;  // tree frame indices
    std::vector<std::vector<uint32_t>> sample_stacks(samples.size());
    for (size_t s = 0; s < samples.size(); ++s) {
        std::vector<uint32_t>& stack = sample_stacks[s];
        stacks.forEachFrame(samples[s].node, [&](const reader::TreeFrame&, uint32_t frame_index) {
            stack.push_back(frame_index);
        });
        std::reverse(stack.begin(), stack.end());
        for (uint32_t& frame : stack) {
            if (shared_index[frame] == kUnassigned) {
                shared_index[frame] = static_cast<uint32_t>(shared_frames.size());
                shared_frames.push_back(frame);
            }
            frame = shared_index[frame];
        }
    }

    std::string out;
    JsonWriter json(out);
    json.raw("{").key("$schema", true).string("https://www.speedscope.app/file-format-schema.json");
    json.key("shared").raw("{").key("frames", true).array(shared_frames.size(), [&](size_t f) {
        const reader::TreeFrame& frame = tree.frames[shared_frames[f]];
        json.raw("{").key("name", true).string(frame.function);
        if (!frame.file.empty()) json.key("file").string(frame.file);
        if (frame.line > 0) json.key("line").number(frame.line);
        json.raw("}");
    });
    json.raw("}").key("profiles").raw("[");
    writeProfile(json, "Memory", "bytes", samples, sample_stacks, &Sample::bytes);
    json.raw(",");
    writeProfile(json, "Allocations", "none", samples, sample_stacks, &Sample::count);
    json.raw("]");
    const std::string& command_line = analysed.capture->metadata().command_line;
    json.key("name").string(command_line.empty() ? std::string_view("memray") : std::string_view(command_line));
    json.key("activeProfileIndex").number(0).key("exporter").string(exporter);
    json.raw("}\n");
    return out;
}

}  // namespace memray::reporters::transform
