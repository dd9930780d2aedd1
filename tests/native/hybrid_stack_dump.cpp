// memray-hybrid-dump CAPTURE [--all-frames | --raw | --leaks-tree]: the hybrid stack of every distinct allocation
// location of a native capture, for the native-mode tests (and for looking at one by hand).
//
//   LOCATION tid=1 thread=MainThread allocations=3 bytes=3072
//   \tP\t<module>\t/tmp/script.py\t12
//   \tN\tn1\t/tmp/lib.c\t20
//
// Frames are outermost first, tab-separated: P (Python) or N (native), function, file, line.
// The last line on stderr times the symbolization.
#include "memray/reader/allocation_snapshot.h"
#include "memray/reader/call_tree.h"
#include "memray/reader/capture_reader.h"
#include "memray/reader/hybrid_stack.h"
#include "memray/reader/native_symbolizer.h"

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <tuple>

using namespace memray::reader;

namespace {

// --leaks-tree: the call tree (buildCallTree) of what was still allocated at the end, one line
// per node that allocated itself, in the same format as the locations (T for tree).
int printLeaksTree(const std::string& path)
{
    SnapshotOptions options;
    options.kind = ReportKind::Leaks;
    AnalysedCapture analysed = analyseCapture(path, options);
    const CallTree tree = buildCallTree(*analysed.capture, analysed.snapshot.locations);
    std::string out;
    for (size_t i = 1; i < tree.nodes.size(); ++i) {
        const TreeNode& node = tree.nodes[i];
        if (node.self_count == 0) {
            continue;
        }
        out += "LOCATION tid=" + std::to_string(node.thread_id) + " allocations=" + std::to_string(node.self_count)
               + " bytes=" + std::to_string(node.self_bytes) + "\n";
        std::vector<uint32_t> path_nodes;
        for (uint32_t at = static_cast<uint32_t>(i); at != 0; at = tree.nodes[at].parent) {
            path_nodes.push_back(at);
        }
        for (size_t j = path_nodes.size(); j-- > 0;) {
            const TreeFrame& frame = tree.frames[tree.nodes[path_nodes[j]].frame];
            out += frame.native ? "\tN\t" : "\tP\t";
            out += frame.function + "\t" + frame.file + "\t" + std::to_string(frame.line) + "\n";
        }
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: memray-hybrid-dump CAPTURE [--all-frames]\n");
        return 2;
    }
    const std::string mode = argc > 2 ? argv[2] : "";
    const bool all_frames = mode == "--all-frames";
    // --raw: the symbolized native stack alone, innermost first, one line per trie node with
    // its inlined calls separated by " <- " (for debugging the pairing).
    const bool raw = mode == "--raw";
    try {
        if (mode == "--leaks-tree") {
            return printLeaksTree(argv[1]);
        }
        CaptureReader capture(argv[1]);
        struct Usage
        {
            uint64_t count = 0;
            uint64_t bytes = 0;
        };
        std::map<std::tuple<uint64_t, uint64_t, uint64_t>, Usage> locations;
        Record record;
        while (capture.next(record)) {
            if (record.kind == RecordKind::Allocation) {
                Usage& usage = locations[{record.tid, record.stack_id, record.native_stack_id}];
                ++usage.count;
                usage.bytes += record.size;
            }
        }
        capture.throwIfCorrupt();
        NativeSymbolizer symbolizer(capture);
        HybridStackBuilder builder(capture, symbolizer, HybridOptions{all_frames});
        // Timed apart from the printing: symbolizing every native frame, then merging every
        // location's hybrid stack.
        auto start = std::chrono::steady_clock::now();
        for (uint64_t id = 1; id <= capture.nativeFrameCount(); ++id) {
            symbolizer.frames(id);
        }
        const auto symbolized = std::chrono::steady_clock::now();
        for (const auto& [key, usage] : locations) {
            builder.build(std::get<1>(key), std::get<2>(key));
        }
        const auto merged = std::chrono::steady_clock::now();
        std::string out;
        for (const auto& [key, usage] : locations) {
            const auto& [tid, stack, native] = key;
            const ThreadInfo* thread = capture.thread(tid);
            out += "LOCATION tid=" + std::to_string(tid) + " thread=" + std::string(thread ? thread->name() : "")
                   + " allocations=" + std::to_string(usage.count) + " bytes=" + std::to_string(usage.bytes) + "\n";
            if (raw) {
                for (uint64_t id = native; id && capture.nativeFrame(id); id = capture.nativeFrame(id)->parent_id) {
                    char address[32];
                    std::snprintf(address, sizeof(address), " 0x%llx", static_cast<unsigned long long>(capture.nativeFrame(id)->address));
                    out += "\t" + std::to_string(id) + address;
                    for (const SymbolizedFrame& frame : symbolizer.frames(id)) {
                        out.append(" ").append(frame.function).append(frame.inlined ? " (inlined) <-" : "");
                    }
                    out += "\n";
                }
                continue;
            }
            for (const HybridFrame& frame : builder.build(stack, native)) {
                out += frame.native ? "\tN\t" : "\tP\t";
                out.append(frame.function).append("\t").append(frame.file).append("\t");
                out += std::to_string(frame.line) + "\n";
            }
        }
        std::fwrite(out.data(), 1, out.size(), stdout);
        using Seconds = std::chrono::duration<double>;
        std::fprintf(stderr,
                     "symbolized %zu native frames (%zu addresses) in %.3f s, merged %zu locations' hybrid stacks in %.3f s\n",
                     capture.nativeFrameCount(), symbolizer.addressesSymbolized(), Seconds(symbolized - start).count(),
                     locations.size(), Seconds(merged - symbolized).count());
    } catch (const CaptureError& error) {
        std::fprintf(stderr, "memray-hybrid-dump: %s\n", error.what());
        return 1;
    }
    return 0;
}
