// memray-hybrid-dump CAPTURE [--all-frames | --raw]: the hybrid stack of every distinct allocation
// location of a native capture, for the native-mode tests (and for looking at one by hand).
//
//   LOCATION tid=1 thread=MainThread allocations=3 bytes=3072
//   \tP\t<module>\t/tmp/script.py\t12
//   \tN\tn1\t/tmp/lib.c\t20
//
// Frames are outermost first, tab-separated: P (Python) or N (native), function, file, line.
// The last line on stderr times the symbolization.
#include "memray/reader/capture_reader.h"
#include "memray/reader/hybrid_stack.h"
#include "memray/reader/native_symbolizer.h"

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <tuple>

using namespace memray::reader;

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
        const auto start = std::chrono::steady_clock::now();
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
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::fwrite(out.data(), 1, out.size(), stdout);
        std::fprintf(stderr, "symbolized %zu native frames (%zu addresses) of %zu locations in %.3f s\n",
                     capture.nativeFrameCount(), symbolizer.addressesSymbolized(), locations.size(), seconds);
    } catch (const CaptureError& error) {
        std::fprintf(stderr, "memray-hybrid-dump: %s\n", error.what());
        return 1;
    }
    return 0;
}
