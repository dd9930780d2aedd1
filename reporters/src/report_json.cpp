// Writes the report data of docs/report-data.md. The call tree goes out in depth-first order,
// children largest first, so the app finds siblings already sorted.
#include "memray/reporters/report_json.h"

#include "json_writer.h"
#include "source_lines.h"
#include "string_table.h"

#include "memray/reader/call_tree.h"

#include <algorithm>
#include <map>
#include <unordered_map>

namespace memray::reporters {

namespace {

using reader::CallTree;
using reader::TreeNode;

constexpr uint32_t kFlagImportSystem = 1;
constexpr uint32_t kFlagIrrelevant = 2;
// A C/C++ frame of a native capture: the apps draw and label these apart from Python frames.
constexpr uint32_t kFlagNative = 4;
// An unnamed native frame inside the interpreter's image: the flame graph hides it with the
// irrelevant frames unless asked to show every frame.
constexpr uint32_t kFlagUnnamedInterpreter = 8;

// The flame graph keeps the unnamed interpreter frames, flagged, for its checkbox; the table's
// allocation sites are the innermost frames a person can read, so it leaves them out.
reader::CallTreeOptions treeOptions(const ReportJsonOptions& options)
{
    reader::CallTreeOptions tree;
    tree.keep_unnamed_interpreter_frames = options.view == ReportView::Flamegraph;
    return tree;
}

std::string_view reportName(reader::ReportKind kind)
{
    switch (kind) {
        case reader::ReportKind::Peak: return "peak";
        case reader::ReportKind::Leaks: return "leaks";
        case reader::ReportKind::Temporary: return "temporary";
    }
    return "peak";
}

// The nodes of `tree` in depth-first order, children largest first (parents still first).
std::vector<uint32_t> depthFirstOrder(const CallTree& tree)
{
    std::vector<uint32_t> order;
    order.reserve(tree.nodes.size());
    std::vector<uint32_t> stack{0};
    while (!stack.empty()) {
        const uint32_t node = stack.back();
        stack.pop_back();
        order.push_back(node);
        const TreeNode& n = tree.nodes[node];
        for (const uint32_t* child = tree.childrenEnd(n); child != tree.childrenBegin(n);) {
            stack.push_back(*--child);
        }
    }
    return order;
}

// "all threads" first, then one entry per thread of the tree; maps capture tids to indices.
class ThreadNames
{
  public:
    ThreadNames(const reader::CaptureReader& capture, const CallTree& tree)
    {
        names_.emplace_back("all threads");
        std::map<uint64_t, bool> tids;  // ordered: threads listed in capture order
        for (const TreeNode& node : tree.nodes) {
            if (node.thread_id) tids[node.thread_id] = true;
        }
        for (const auto& [tid, unused] : tids) {
            index_[tid] = static_cast<uint32_t>(names_.size());
            names_.push_back(label(capture, tid));
        }
    }

    uint32_t index(uint64_t tid) const
    {
        auto found = index_.find(tid);
        return found == index_.end() ? 0 : found->second;
    }
    const std::vector<std::string>& names() const { return names_; }

  private:
    static std::string label(const reader::CaptureReader& capture, uint64_t tid)
    {
        const reader::ThreadInfo* info = capture.thread(tid);
        std::string name = info && !info->name().empty() ? std::string(info->name())
                           : tid == capture.mainThreadId() ? "main thread"
                                                           : "thread " + std::to_string(tid);
        if (info && info->os_tid) name += " (tid " + std::to_string(info->os_tid) + ")";
        return name;
    }

    std::vector<std::string> names_;
    std::unordered_map<uint64_t, uint32_t> index_;
};

// Everything a report needs besides its own figures, gathered once.
struct ReportParts
{
    const reader::CaptureReader& capture;
    const CallTree& tree;
    const ReportJsonOptions& options;
    reader::ReportKind kind;
    uint64_t peak_bytes = 0;
    uint64_t total_allocations = 0;
    uint64_t total_bytes = 0;
};

class ReportWriter
{
  public:
    ReportWriter(std::string& out, const ReportParts& parts)
    : json_(out)
    , parts_(parts)
    , threads_(parts.capture, parts.tree)
    , order_(depthFirstOrder(parts.tree))
    , position_(parts.tree.nodes.size())
    {
        for (uint32_t i = 0; i < order_.size(); ++i) position_[order_[i]] = i;
        // Intern frame strings first: they are most of the table.
        SourceLines sources;
        for (const reader::TreeFrame& frame : parts.tree.frames) {
            frame_function_.push_back(strings_.intern(frame.function));
            frame_file_.push_back(strings_.intern(frame.file));
            frame_source_.push_back(strings_.intern(sources.line(frame.file, frame.line)));
        }
    }

    // The position of a CallTree node in the written node arrays.
    uint32_t position(uint32_t node) const { return position_[node]; }
    uint32_t threadIndex(uint64_t tid) const { return threads_.index(tid); }
    uint32_t intern(std::string_view text) { return strings_.intern(text); }

    void begin(uint64_t report_bytes, uint64_t report_count)
    {
        const reader::CaptureReader& capture = parts_.capture;
        const format::Metadata& m = capture.metadata();
        const ReportJsonOptions& o = parts_.options;
        json_.raw("{").key("version", true).number(1);
        json_.key("view").string(viewName(o.view));
        json_.key("report").string(reportName(parts_.kind));
        json_.key("inverted").boolean(o.inverted);
        json_.key("split_threads").boolean(o.split_threads);
        json_.key("metadata").raw("{");
        json_.key("capture_file", true).string(capture.path());
        json_.key("command_line").string(m.command_line);
        json_.key("pid").number(m.pid);
        json_.key("python_version").string(m.python_version);
        json_.key("start_time_ms").number(m.start_time_us / 1000);
        json_.key("duration_ms");
        if (auto duration = capture.durationUs()) json_.number(*duration / 1000);
        else json_.raw("null");
        json_.key("peak_bytes").number(parts_.peak_bytes);
        json_.key("total_allocations").number(parts_.total_allocations);
        json_.key("total_bytes").number(parts_.total_bytes);
        json_.key("report_bytes").number(report_bytes);
        json_.key("report_allocations").number(report_count);
        json_.key("trace_python_allocators").boolean(m.has(format::kOptionTracePythonAllocators));
        json_.key("native").boolean(capture.nativeTraces());
        json_.key("aggregated").boolean(capture.isAggregated());
        json_.key("ended_abruptly").boolean(capture.endedAbruptly());
        if (parts_.kind == reader::ReportKind::Temporary) json_.key("temporary_threshold").number(o.temporary_threshold);
        json_.raw("}");
    }

    // frames, nodes (the whole tree, or only the root), self usage, threads.
    void writeTree(bool whole_tree)
    {
        const CallTree& tree = parts_.tree;
        const size_t frames = tree.frames.size();
        json_.key("frames").raw("{");
        json_.key("function", true).array(frames, [&](size_t i) { json_.number(frame_function_[i]); });
        json_.key("file").array(frames, [&](size_t i) { json_.number(frame_file_[i]); });
        json_.key("line").array(frames, [&](size_t i) { json_.number(tree.frames[i].line); });
        json_.key("source").array(frames, [&](size_t i) { json_.number(frame_source_[i]); });
        json_.key("flags").array(frames, [&](size_t i) {
            const reader::TreeFrame& f = tree.frames[i];
            json_.number((f.import_system ? kFlagImportSystem : 0) | (f.irrelevant ? kFlagIrrelevant : 0)
                         | (f.native ? kFlagNative : 0) | (f.unnamed_interpreter ? kFlagUnnamedInterpreter : 0));
        });
        json_.raw("}");

        const size_t count = whole_tree ? order_.size() : 1;
        auto node = [&](size_t i) -> const TreeNode& { return tree.nodes[order_[i]]; };
        json_.key("nodes").raw("{");
        json_.key("parent_offset", true).array(count, [&](size_t i) {
            const TreeNode& n = node(i);
            json_.number(n.parent == TreeNode::kNone ? 0 : i - position_[n.parent]);
        });
        json_.key("frame").array(count, [&](size_t i) {
            const TreeNode& n = node(i);
            if (n.frame == TreeNode::kNone) json_.raw("-1");
            else json_.number(n.frame);
        });
        json_.key("thread").array(parts_.options.split_threads ? count : 0,
                                  [&](size_t i) { json_.number(threads_.index(node(i).thread_id)); });
        json_.raw("}");

        std::vector<uint32_t> with_usage;
        for (uint32_t i = 0; i < count; ++i) {
            if (node(i).self_bytes || node(i).self_count) with_usage.push_back(i);
        }
        json_.key("self").raw("{");
        json_.key("node", true).array(with_usage.size(), [&](size_t k) { json_.number(with_usage[k]); });
        json_.key("bytes").array(with_usage.size(), [&](size_t k) { json_.number(node(with_usage[k]).self_bytes); });
        json_.key("count").array(with_usage.size(), [&](size_t k) { json_.number(node(with_usage[k]).self_count); });
        json_.raw("}");

        const auto& names = threads_.names();
        json_.key("threads").array(names.size(), [&](size_t i) { json_.string(names[i]); });
    }

    template <typename Points>
    void writeMemory(const Points& points)
    {
        json_.key("memory").raw("{");
        json_.key("time_ms", true).array(points.size(), [&](size_t i) { json_.number(timeOf(points[i])); });
        json_.key("rss").array(points.size(), [&](size_t i) { json_.number(points[i].rss); });
        json_.key("heap").array(points.size(), [&](size_t i) { json_.number(heapOf(points[i])); });
        json_.raw("}");
    }

    JsonWriter& json() { return json_; }

    // The string table goes last: everything else has interned its strings by then.
    void end()
    {
        const auto& all = strings_.strings();
        json_.key("strings").array(all.size(), [&](size_t i) { json_.string(all[i]); });
        json_.raw("}");
    }

  private:
    static uint64_t timeOf(const reader::MemoryPoint& p) { return p.time_ms; }
    static uint64_t heapOf(const reader::MemoryPoint& p) { return p.heap; }
    static uint64_t timeOf(const reader::TemporalSlice& s) { return s.start_ms; }
    static uint64_t heapOf(const reader::TemporalSlice& s) { return s.heap_at_moment; }

    JsonWriter json_;
    const ReportParts& parts_;
    StringTable strings_;
    ThreadNames threads_;
    std::vector<uint32_t> order_;
    std::vector<uint32_t> position_;
    std::vector<uint32_t> frame_function_;
    std::vector<uint32_t> frame_file_;
    std::vector<uint32_t> frame_source_;
};

// One row per (thread, allocator, top frame): the table view's allocation sites.
void writeTable(ReportWriter& writer, const CallTree& tree, const std::vector<reader::LocationUsage>& locations,
                const std::vector<uint32_t>& node_of_location)
{
    struct Row
    {
        uint32_t thread;
        uint32_t allocator;
        int64_t frame;
        uint64_t bytes = 0;
        uint64_t count = 0;
    };
    std::map<std::tuple<uint32_t, uint32_t, int64_t>, Row> rows;
    for (size_t i = 0; i < locations.size(); ++i) {
        const reader::LocationUsage& usage = locations[i];
        const uint32_t thread = writer.threadIndex(usage.key.thread_id);
        const uint32_t allocator = writer.intern(format::allocatorName(usage.key.allocator));
        // No stack at all: no top frame ("???" in the table). A native thread that never ran
        // Python has no Python stack but does have a top frame (its innermost native one).
        const reader::TreeNode& node = tree.nodes[node_of_location[i]];
        const bool unknown = tree.frames[node.frame].function == reader::kUnknownFunction && !tree.frames[node.frame].native;
        const int64_t frame = unknown ? int64_t{-1} : int64_t{node.frame};
        Row& row = rows.try_emplace({thread, allocator, frame}, Row{thread, allocator, frame}).first->second;
        row.bytes += usage.bytes;
        row.count += usage.count;
    }
    std::vector<Row> sorted;
    sorted.reserve(rows.size());
    for (auto& [key, row] : rows) sorted.push_back(row);
    std::stable_sort(sorted.begin(), sorted.end(), [](const Row& a, const Row& b) { return a.bytes > b.bytes; });

    JsonWriter& json = writer.json();
    const size_t n = sorted.size();
    json.key("table").raw("{");
    json.key("thread", true).array(n, [&](size_t i) { json.number(sorted[i].thread); });
    json.key("allocator").array(n, [&](size_t i) { json.number(sorted[i].allocator); });
    json.key("frame").array(n, [&](size_t i) { json.number(sorted[i].frame); });
    json.key("bytes").array(n, [&](size_t i) { json.number(sorted[i].bytes); });
    json.key("count").array(n, [&](size_t i) { json.number(sorted[i].count); });
    json.raw("}");
}

}  // namespace

std::string snapshotReportJson(const reader::AnalysedCapture& analysed, const ReportJsonOptions& options)
{
    const reader::AllocationSnapshot& snapshot = analysed.snapshot;
    std::vector<uint32_t> node_of_location;
    const CallTree tree = reader::buildCallTree(*analysed.capture, snapshot.locations, &node_of_location, treeOptions(options));
    const ReportParts parts{*analysed.capture, tree, options, snapshot.kind,
                            snapshot.peak_bytes, snapshot.total_allocations, snapshot.total_bytes};
    std::string out;
    ReportWriter writer(out, parts);
    writer.begin(snapshot.bytes, snapshot.count);
    // The table app never reads the tree: only its root goes out with a table.
    const bool table = options.view == ReportView::Table;
    writer.writeTree(!table);
    writer.writeMemory(snapshot.memory);
    if (table) writeTable(writer, tree, snapshot.locations, node_of_location);
    else writer.json().key("table").raw("null");
    writer.json().key("temporal").raw("null");
    writer.end();
    return out;
}

std::string temporalReportJson(const reader::AnalysedTemporalCapture& analysed, const ReportJsonOptions& options)
{
    const reader::TemporalSnapshot& snapshot = analysed.snapshot;
    // The initial view is the whole capture: each location's usage over every slice.
    std::vector<reader::LocationUsage> locations(snapshot.locations.size());
    for (size_t i = 0; i < locations.size(); ++i) locations[i].key = snapshot.locations[i];
    const uint32_t last_slice = snapshot.slices.empty() ? 0 : static_cast<uint32_t>(snapshot.slices.size() - 1);
    struct KeyHash
    {
        size_t operator()(const reader::LocationKey& k) const
        {
            return std::hash<uint64_t>()(k.stack_id * 0x9e3779b97f4a7c15ull ^ k.native_stack_id * 31 ^ k.thread_id << 8
                                         ^ static_cast<uint64_t>(k.allocator));
        }
    };
    std::unordered_map<reader::LocationKey, size_t, KeyHash> index;
    for (size_t i = 0; i < locations.size(); ++i) index.emplace(locations[i].key, i);
    uint64_t bytes = 0;
    uint64_t count = 0;
    for (const reader::LocationUsage& usage : reader::usageInRange(snapshot, 0, last_slice)) {
        auto found = index.find(usage.key);
        if (found == index.end()) continue;
        locations[found->second].bytes = usage.bytes;
        locations[found->second].count = usage.count;
        bytes += usage.bytes;
        count += usage.count;
    }

    std::vector<uint32_t> node_of_location;
    const CallTree tree = reader::buildCallTree(*analysed.capture, locations, &node_of_location, treeOptions(options));
    const ReportParts parts{*analysed.capture, tree, options, snapshot.kind,
                            snapshot.peak_bytes, snapshot.total_allocations, snapshot.total_bytes};
    std::string out;
    ReportWriter writer(out, parts);
    writer.begin(bytes, count);
    writer.writeTree(true);
    writer.writeMemory(snapshot.slices);
    JsonWriter& json = writer.json();
    json.key("table").raw("null");

    const auto& slices = snapshot.slices;
    const auto& intervals = snapshot.intervals;
    json.key("temporal").raw("{").key("slices", true).raw("{");
    json.key("start_ms", true).array(slices.size(), [&](size_t i) { json.number(slices[i].start_ms); });
    json.key("end_ms").array(slices.size(), [&](size_t i) { json.number(slices[i].end_ms); });
    json.key("heap").array(slices.size(), [&](size_t i) { json.number(slices[i].heap_at_moment); });
    json.key("rss").array(slices.size(), [&](size_t i) { json.number(slices[i].rss); });
    json.raw("}").key("intervals").raw("{");
    json.key("node", true).array(intervals.size(), [&](size_t i) {
        json.number(writer.position(node_of_location[intervals[i].location]));
    });
    json.key("from").array(intervals.size(), [&](size_t i) { json.number(intervals[i].from); });
    json.key("to").array(intervals.size(), [&](size_t i) {
        if (intervals[i].to == reader::UsageInterval::kNeverFreed) json.raw("-1");
        else json.number(intervals[i].to);
    });
    json.key("bytes").array(intervals.size(), [&](size_t i) { json.number(intervals[i].bytes); });
    json.key("count").array(intervals.size(), [&](size_t i) { json.number(intervals[i].count); });
    json.raw("}}");
    writer.end();
    return out;
}

}  // namespace memray::reporters
